"""The console scripts as an operator runs them: `kiosk-sync once` with and without a
terminal, its exit codes and single-agent lock, `kiosk-sync status`, and
`kiosk-central serve` reading the same config as the agent."""

import json
import os
import pty
import signal
import subprocess

import httpx

from kiosk.store import open_database
from sync.central.storage import open_store
from tests.peers import free_port

from .conftest import SITE, VENV_BIN, copy_site_db, kiosk_sync, make_changes, site_config, write_config
from .test_delivery import WAIT_S, wait_for


def read_all(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return out
        if not chunk:
            return out
        out += chunk


def test_once_draws_a_progress_bar_with_the_rate_only_on_a_terminal(tmp_path, central, changes_3000):
    cfg = site_config(tmp_path, central.url, batch_size=100)
    copy_site_db(changes_3000, cfg)
    config = write_config(cfg, tmp_path / "site.toml")
    master, slave = pty.openpty()
    agent = kiosk_sync("once", "--no-pull", config=config, stderr=slave)
    os.close(slave)
    terminal = read_all(master).decode()
    os.close(master)
    assert agent.wait(WAIT_S) == 0
    assert "\r" in terminal and "rec/s" in terminal and "3,000/3,000 100%" in terminal
    assert "sent 3,000 records (0 rejected) in 30 batches" in terminal

    # more work, but stderr is a pipe (cron, systemd): the summary line only, no bar
    make_changes(cfg, 250, counter="2")
    agent = kiosk_sync("once", "--no-pull", config=config)
    _, err = agent.communicate(timeout=WAIT_S)
    assert agent.returncode == 0
    assert "\r" not in err.decode() and "[#" not in err.decode()
    assert "sent 250 records" in err.decode()
    assert central.store.record_count() == 3_250


def test_once_gives_up_with_exit_4_when_central_stays_down_and_status_shows_why(tmp_path):
    cfg = site_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    make_changes(cfg, 3)
    config = write_config(cfg, tmp_path / "site.toml")
    agent = kiosk_sync("once", "--max-failures", "2", config=config)
    _, err = agent.communicate(timeout=WAIT_S)
    assert agent.returncode == 4 and "gave up after 2 retries" in err.decode()
    text = kiosk_sync("status", config=config).communicate(timeout=30)[0].decode()
    lines = {line[:13].strip(): line[14:] for line in text.splitlines()}  # "label         value"
    assert lines["backlog"].startswith("3 records, oldest 2026-11-27T08:00")
    assert lines["last success"] == "never" and "ConnectError" in lines["last error"]
    assert lines["dead letters"] == "0" and lines["stopped"] == "no"


def test_sync_disabled_without_url(tmp_path):
    cfg = site_config(tmp_path, "")
    agent = kiosk_sync("once", config=write_config(cfg, tmp_path / "site.toml"))
    _, err = agent.communicate(timeout=30)
    assert agent.returncode == 1 and "sync is disabled: set sync.url" in err.decode()


def test_a_second_agent_on_the_same_database_exits_5(tmp_path, central):
    cfg = site_config(tmp_path, central.url)
    open_database(cfg.database.path).close()
    config = write_config(cfg, tmp_path / "site.toml")
    first = kiosk_sync("run", config=config)
    try:
        lock = tmp_path / "site" / "kiosk.db.sync.lock"
        wait_for(lambda: lock.exists() and lock.read_text() == str(first.pid), "the lock", proc=first)
        second = kiosk_sync("once", config=config)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 5 and "another agent is running" in err.decode()
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0


def test_central_serve_reads_the_same_config_as_the_agent(tmp_path):
    port = free_port()
    cfg = site_config(tmp_path, f"http://127.0.0.1:{port}")
    make_changes(cfg, 40)
    config = write_config(cfg, tmp_path / "site.toml")
    env = {**os.environ, "KIOSK_CONFIG": str(config)}
    env.pop("KIOSK_CENTRAL_SITES", None)
    env.pop("KIOSK_CENTRAL_DB", None)
    server = subprocess.Popen([str(VENV_BIN / "kiosk-central"), "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.TransportError:
                return False
        wait_for(up, "kiosk-central to listen", proc=server)
        agent = kiosk_sync("once", config=config)
        assert agent.wait(WAIT_S) == 0
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/sites").status_code == 401  # the console's login
        store = open_store(str(tmp_path / "site" / "central.db"))
        sites = store.summary()
        store.close()
        assert sites[0]["site_id"] == SITE and sites[0]["counts"] == {"ticket": 40} and sites[0]["backlog"] == 0
        assert sites[0]["last_pull_at"] is not None
        status = json.loads(kiosk_sync("status", "--json", config=config).communicate(timeout=30)[0])
        assert status["backlog"] == 0 and status["sent_total"] == 40 and status["last_success_at"]
        assert (tmp_path / "site" / "central.db").exists()  # default: central.db in the data directory
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
