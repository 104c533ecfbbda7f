"""The systemd notifications: a real `kiosk serve` process sends READY=1 once it listens and
WATCHDOG=1 periodically to $NOTIFY_SOCKET; the pings depend on the database answering (a
full disk degrades it but keeps the pings: a restart would not help)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest

from kiosk import config as cfgmod
from kiosk.errors import Unavailable
from kiosk.runtime import Kiosk
from kiosk.watchdog import Watchdog, notify, watchdog_interval
from tests.deploy.conftest import REPO, write_config

GUARD_S = 30   # only a hang guard: nothing asserts how long anything took


@pytest.fixture
def notify_listener():
    """A datagram socket at a short filesystem path, like systemd's /run/systemd/notify."""
    folder = tempfile.mkdtemp(prefix="kn-", dir="/tmp")
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(GUARD_S)
    yield sock, path
    sock.close()
    shutil.rmtree(folder, ignore_errors=True)


def receive(sock: socket.socket) -> list[str]:
    """One datagram, as its lines (a message may carry several assignments)."""
    return sock.recv(4096).decode().splitlines()


def test_kiosk_serve_sends_ready_then_watchdog_pings(tmp_path, notify_listener):
    sock, path = notify_listener
    config = write_config(tmp_path, '[server]\nhost = "127.0.0.1"\nport = 0\n')   # a free loopback port
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "serve", "--config", str(config)], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr_lines: list[str] = []
    port_known = threading.Event()

    def read_stderr():
        for line in proc.stderr:
            stderr_lines.append(line)
            if "kiosk serving on http://127.0.0.1:" in line:
                port_known.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        first = receive(sock)
        assert first == ["READY=1"], first
        # READY means listening: the web service answers now
        assert port_known.wait(GUARD_S), "".join(stderr_lines)
        port = int(next(line for line in stderr_lines if "kiosk serving on" in line).rsplit(":", 1)[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=GUARD_S) as answer:
            assert json.load(answer)["db"]["status"] == "ok"
        pings, seen = 0, []
        while pings < 3:
            lines = receive(sock)
            seen += lines
            pings += lines.count("WATCHDOG=1")
        assert "STATUS=serving" in seen
        proc.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in receive(sock):
            pass
        assert proc.wait(GUARD_S) == 0, "".join(stderr_lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(GUARD_S)


def test_notify_reaches_an_abstract_socket():
    name = f"kiosk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(GUARD_S)
        assert notify("READY=1", f"@{name}")
        assert sock.recv(100) == b"READY=1"


def test_no_notify_socket_means_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
    assert not Watchdog.from_env(lambda: {"db": {"status": "ok"}}).start().enabled


def test_watchdog_interval_is_half_of_watchdog_usec():
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None   # not our pid
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0


def test_pings_stop_while_the_database_is_unhealthy_and_resume_after(tmp_path, notify_listener):
    sock, path = notify_listener
    cfg = cfgmod.load(write_config(tmp_path))
    kiosk = Kiosk(cfg, start_workers=False)
    db = Path(cfg.database.path)
    watchdog = Watchdog(kiosk.health, notify_socket=path, interval=None)
    try:
        assert watchdog.tick() is True
        assert receive(sock) == ["STATUS=serving"] and receive(sock) == ["WATCHDOG=1"]

        # the database file disappears (a failing disk, a wrong mount): a real failure
        kiosk.db.close()
        saved = tmp_path / "saved.db"
        shutil.copy(db, saved)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        db.mkdir()
        # (Kiosk.health() may report it or raise: either way there is no ping)
        assert watchdog.tick() is False
        status = receive(sock)
        assert status[0].startswith("STATUS=database unhealthy"), status
        assert watchdog.tick() is False            # still no ping (and no repeated status)

        db.rmdir()
        shutil.copy(saved, db)
        assert watchdog.tick() is True
        assert receive(sock) == ["STATUS=serving"] and receive(sock) == ["WATCHDOG=1"]
    finally:
        kiosk.stop()


def test_pings_go_on_while_storage_is_full_and_health_recovers_without_restart(tmp_path, notify_listener):
    """A full disk is not a hung service: restarting cannot free space, and the running
    service is what tells people (503 storage_unavailable). SQLite's page limit answers
    exactly as a full disk does (SQLITE_FULL); tests/web/test_storage_full.py fills a tmpfs."""
    sock, path = notify_listener
    cfg = cfgmod.load(write_config(tmp_path))
    kiosk = Kiosk(cfg, start_workers=False)
    watchdog = Watchdog(kiosk.health, notify_socket=path, interval=None)
    try:
        assert watchdog.tick() is True
        assert receive(sock) == ["STATUS=serving"] and receive(sock) == ["WATCHDOG=1"]
        with kiosk.db.write() as conn:
            conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        with pytest.raises(Unavailable) as refused:
            for _ in range(2000):
                kiosk.queue.issue("A")
        assert refused.value.code == "storage_unavailable"
        assert kiosk.health()["db"]["status"] == "degraded"

        assert watchdog.tick() is True                       # still pinged: systemd keeps us running
        assert receive(sock) == ["STATUS=serving; database degraded: storage_full (writes paused)"]
        assert receive(sock) == ["WATCHDOG=1"]
        assert watchdog.tick() is True and receive(sock) == ["WATCHDOG=1"]   # no repeated status

        with kiosk.db.write() as conn:                       # space returns; this write succeeds
            conn.execute("PRAGMA max_page_count = 1073741823")
        kiosk.queue.issue("A")
        assert kiosk.health()["db"]["status"] == "ok"
        assert watchdog.tick() is True
        assert receive(sock) == ["STATUS=serving"] and receive(sock) == ["WATCHDOG=1"]
    finally:
        kiosk.stop()
