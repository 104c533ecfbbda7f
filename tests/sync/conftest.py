"""Sync fixtures: kiosk-central served by waitress on 127.0.0.1 (in a thread), a site
config pointing at it, kiosk changes made through the real queue service, and
`kiosk-sync` run as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import tomli_w
from waitress import create_server

from kiosk.clock import FixedClock
from kiosk.config import Config
from kiosk.events import EventBus
from kiosk.services.queue import QueueService
from kiosk.store import Database, open_database
from sync.agent import AgentSettings, SyncAgent
from sync.backoff import Backoff
from sync.central.app import create_app
from tests.peers import stop_waitress
from tests.pgserver import PgServer

SITE = "site-7"
SECRET = "s3cret-for-tests"
TZ = ZoneInfo("Asia/Shanghai")
VENV_BIN = Path(sys.executable).parent
FAST_BACKOFF = Backoff(base_s=0.02, cap_s=0.2)


CENTRAL_TRANSLATIONS = Path(__file__).resolve().parents[2] / "sync" / "central" / "translations"


@pytest.fixture(scope="session", autouse=True)
def central_catalogs() -> None:
    """Compile the console's catalog when `make` has not (a bare pytest run)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in CENTRAL_TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        tmp = mo.with_name(f"messages.mo.{os.getpid()}")
        with tmp.open("wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throw-away PostgreSQL server per test process, stopped at the end."""
    server = PgServer()
    yield server
    server.stop()


@pytest.fixture
def backend() -> str:
    """The central store back-end; modules run against both with
    `pytest.mark.parametrize("backend", BACKENDS)`."""
    return "sqlite"


BACKENDS = ("sqlite", "postgres")


@pytest.fixture
def central_db(request, backend: str, tmp_path: Path) -> str:
    """Where a test's central receiver keeps its data: an SQLite file, or a fresh database
    on the throw-away PostgreSQL server."""
    if backend == "postgres":
        return request.getfixturevalue("pg_server").new_database()
    return str(tmp_path / "central" / "central.db")


class CentralServer:
    """kiosk-central's app under waitress on 127.0.0.1, as `kiosk-central serve` runs it."""

    def __init__(self, db_path: Path | str, port: int = 0, **app_kwargs) -> None:
        app_kwargs.setdefault("secrets", {SITE: SECRET})
        self.app = create_app(str(db_path), **app_kwargs)
        self.store = self.app.extensions["kiosk_central"]
        self.server = create_server(self.app, host="127.0.0.1", port=port, threads=4, ident="central-test")
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Close the listener and every open connection from the server's own loop thread."""
        stop_waitress(self.server, self.thread)
        self.store.close()


@pytest.fixture
def central_factory(central_db: str) -> Iterator[Callable[..., CentralServer]]:
    servers: list[CentralServer] = []

    def start(**kwargs) -> CentralServer:
        kwargs.setdefault("db_path", central_db)
        server = CentralServer(**kwargs)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def central(central_factory) -> CentralServer:
    return central_factory()


def site_config(tmp_path: Path, url: str, secret: str = SECRET, batch_size: int = 200) -> Config:
    cfg = Config()
    cfg.site.id = SITE
    cfg.database.path = str(tmp_path / "site" / "kiosk.db")
    cfg.tts.output = "off"
    cfg.sync.url = url
    cfg.sync.secret = secret
    cfg.sync.batch_size = batch_size
    cfg.sync.interval_s = 0.05
    return cfg


def write_config(cfg: Config, path: Path) -> Path:
    data = {"site": {"id": cfg.site.id}, "database": {"path": cfg.database.path}, "tts": {"output": "off"},
            "sync": {"url": cfg.sync.url, "secret": cfg.sync.secret, "batch_size": cfg.sync.batch_size,
                     "interval_s": cfg.sync.interval_s}}
    path.write_text(tomli_w.dumps(data))
    return path


def make_changes(cfg: Config, n: int, start: datetime | None = None, counter: str = "1") -> int:
    """Make exactly `n` outbox rows through the real queue service: tickets issued, then
    called at `counter`, which finishes the ticket it had; a new day every 300 tickets."""
    db = open_database(cfg.database.path)
    clock = FixedClock(start or datetime(2026, 11, 27, 8, 0, tzinfo=TZ))
    queue = QueueService(db, cfg, clock, EventBus())
    letters = [s.letter for s in cfg.services]
    made = issued = called = 0
    while made < n:
        if n - made >= 2 and issued > called:
            finishing = len(queue.at_counter(counter))
            queue.call_next(counter)  # finishes the counter's ticket (a change), calls the next (another)
            called += 1
            made += finishing + 1
        else:
            if issued % 300 == 299:
                clock.advance(days=1)
            queue.issue(letters[issued % len(letters)])
            issued += 1
            made += 1
        clock.advance(seconds=3)
    db.close()
    return made


@pytest.fixture(scope="session")
def changes_3000(tmp_path_factory) -> Path:
    """A kiosk database whose outbox holds 3,000 ticket changes, made once per session."""
    folder = tmp_path_factory.mktemp("template")
    cfg = site_config(folder, "http://127.0.0.1:9")
    assert make_changes(cfg, 3_000) == 3_000
    return Path(cfg.database.path)


def copy_site_db(template: Path, cfg: Config) -> None:
    Path(cfg.database.path).parent.mkdir(parents=True, exist_ok=True)
    db = open_database(template)  # checkpoint the WAL into the main file before copying
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shutil.copyfile(template, cfg.database.path)


def outbox_keys(cfg: Config) -> list[str]:
    db = Database(cfg.database.path)
    try:
        return [r["key"] for r in db.query("SELECT key FROM outbox ORDER BY id")]
    finally:
        db.close()


def agent_for(cfg: Config, **overrides) -> SyncAgent:
    overrides.setdefault("backoff", FAST_BACKOFF)
    overrides.setdefault("timeout_s", 10.0)
    settings = AgentSettings.from_config(cfg, **overrides)
    return SyncAgent(open_database(cfg.database.path), settings)


def kiosk_sync(*args: str, config: Path, **popen) -> subprocess.Popen:
    """Start the real `kiosk-sync` console script with short back-off timings."""
    env = {**os.environ, "KIOSK_CONFIG": str(config), "KIOSK_SYNC_BACKOFF_BASE_S": "0.02",
           "KIOSK_SYNC_BACKOFF_CAP_S": "0.2", "KIOSK_SYNC_TIMEOUT_S": "10"}
    env.pop("KIOSK_CENTRAL_SITES", None)
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([str(VENV_BIN / "kiosk-sync"), *args], env=env, **popen)
