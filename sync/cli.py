"""`kiosk-sync`: forward the outbox to the central office (DESIGN §5, §6).

    kiosk-sync run      [--config F]   forward continuously (exit 3 when the central refuses our credentials)
    kiosk-sync once     [--config F]   drain what is there now, pull the directory, exit 0
    kiosk-sync status   [--config F] [--json]
    kiosk-sync dead-letters [--json]   what the central refused, with why
    kiosk-sync requeue  (--all | ID...) put dead letters back in the outbox

Exit codes: 0 done, 1 usage or config error, 3 stopped on 401/403 (see `status`),
4 `once` gave up after repeated transient failures, 5 another agent holds the lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

import click

from kiosk import config as config_mod
from kiosk.config import Config, ConfigError

EXIT_STOPPED, EXIT_GAVE_UP, EXIT_LOCKED = 3, 4, 5

config_option = click.option("--config", "config_path", envvar="KIOSK_CONFIG", type=click.Path(dir_okay=False),
                             help="TOML config file (default: $KIOSK_CONFIG, else built-in defaults).")


def tuning_options(f):
    """Agent timings that are not part of the config contract; tests make them short."""
    f = click.option("--backoff-base", type=float, default=1.0, show_default=True,
                     envvar="KIOSK_SYNC_BACKOFF_BASE_S", help="First retry delay ceiling, seconds.")(f)
    f = click.option("--backoff-cap", type=click.FloatRange(0, 300), default=300.0, show_default=True,
                     envvar="KIOSK_SYNC_BACKOFF_CAP_S", help="Longest retry delay, seconds (at most 300).")(f)
    f = click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True,
                     envvar="KIOSK_SYNC_TIMEOUT_S", help="HTTP timeout per request, seconds.")(f)
    f = click.option("--pull-interval", type=float, default=60.0, show_default=True,
                     envvar="KIOSK_SYNC_PULL_INTERVAL_S", help="Seconds between directory pulls (run).")(f)
    return f


def _load(path: str | None) -> Config:
    try:
        return config_mod.load(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _open_db(cfg: Config):
    from kiosk.store import open_database

    return open_database(cfg.database.path)


@contextmanager
def _single_agent(cfg: Config) -> Iterator[None]:
    """One agent per database: a second one would only send every batch twice."""
    path = f"{cfg.database.path}.sync.lock"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            click.echo(f"kiosk-sync: another agent is running on {cfg.database.path}", err=True)
            sys.exit(EXIT_LOCKED)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield


def _agent(cfg: Config, backoff_base: float, backoff_cap: float, timeout_s: float, pull_interval: float):
    from sync.agent import AgentSettings, SyncAgent
    from sync.backoff import Backoff

    if not cfg.sync.url:
        raise click.ClickException("sync is disabled: set sync.url (and sync.secret) in the config")
    if not cfg.sync.secret:
        raise click.ClickException("sync.secret is empty: the central office would refuse every batch")
    settings = AgentSettings.from_config(cfg, timeout_s=timeout_s, pull_interval_s=pull_interval,
                                         backoff=Backoff(base_s=backoff_base, cap_s=min(backoff_cap, 300.0)))
    return SyncAgent(_open_db(cfg), settings)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum, frame):
        if stop.is_set():
            raise SystemExit(128 + signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")


@click.group()
def main() -> None:
    """Forward the kiosk's records to the central office and pull the resident directory."""


@main.command()
@config_option
@tuning_options
def run(config_path, backoff_base, backoff_cap, timeout_s, pull_interval) -> None:
    """Forward continuously, in the foreground, until SIGTERM or Ctrl-C."""
    from sync.agent import SyncStopped

    _logging()
    cfg = _load(config_path)
    with _single_agent(cfg):
        agent = _agent(cfg, backoff_base, backoff_cap, timeout_s, pull_interval)
        _stop_on_signals(agent.stop)
        click.echo(f"kiosk-sync: forwarding {cfg.database.path} to {cfg.sync.url} as site {cfg.site.id}", err=True)
        try:
            agent.run()
        except SyncStopped as exc:
            click.echo(f"kiosk-sync: stopped, the central office refused our credentials: {exc}. "
                       "Check site.id and sync.secret, then start the agent again.", err=True)
            sys.exit(EXIT_STOPPED)
        finally:
            agent.close()


@main.command()
@config_option
@tuning_options
@click.option("--no-pull", is_flag=True, help="Only push the outbox; do not pull the directory.")
@click.option("--full-pull", is_flag=True, help="Forget the directory cursor and pull the whole directory.")
@click.option("--max-failures", type=int, default=5, show_default=True,
              help="Consecutive transient failures (with back-off) before giving up with exit code 4.")
def once(config_path, backoff_base, backoff_cap, timeout_s, pull_interval, no_pull, full_pull, max_failures) -> None:
    """Drain the outbox as it is now, pull the directory, and exit 0."""
    from kiosk.store.sync_state import reset_residents_cursor
    from sync.agent import GaveUp, Interrupted, SyncStopped

    _logging()
    cfg = _load(config_path)
    with _single_agent(cfg):
        agent = _agent(cfg, backoff_base, backoff_cap, timeout_s, pull_interval)
        _stop_on_signals(agent.stop)
        if full_pull and not no_pull:
            reset_residents_cursor(agent.db)
        try:
            report = agent.once(max_failures=max_failures, pull=not no_pull)
        except SyncStopped as exc:
            click.echo(f"kiosk-sync: stopped, the central office refused our credentials: {exc}", err=True)
            sys.exit(EXIT_STOPPED)
        except GaveUp as exc:
            click.echo(f"kiosk-sync: gave up after {max_failures} retries: {exc}", err=True)
            sys.exit(EXIT_GAVE_UP)
        except Interrupted:
            sys.exit(130)
        finally:
            agent.close()
    click.echo(f"kiosk-sync: sent {report.accepted + report.rejected:,} records ({report.rejected:,} rejected) "
               f"in {report.batches} batches, {report.seconds:.1f} s, {report.rate:,.0f} rec/s", err=True)


def _ago(iso: str | None) -> str:
    from datetime import datetime

    if not iso:
        return "never"
    seconds = int((datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{iso} ({seconds // size} {unit} ago)"
    return f"{iso} ({seconds} s ago)"


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config_path, as_json) -> None:
    """Backlog, last success, last error, dead letters and why the agent stopped, if it did."""
    from kiosk.store.sync_state import read_status

    cfg = _load(config_path)
    db = _open_db(cfg)
    try:
        st = read_status(db)
    finally:
        db.close()
    st["url"] = cfg.sync.url
    st["site"] = cfg.site.id
    if as_json:
        click.echo(json.dumps(st, ensure_ascii=False, indent=2))
        return
    err = st["last_error"]
    lines = [
        ("site", f"{st['site']} -> {st['url'] or '(sync disabled: sync.url is empty)'}"),
        ("backlog", f"{st['backlog']:,} records"
         + (f", oldest {st['oldest_pending']}" if st["oldest_pending"] else "")),
        ("last success", _ago(st["last_success_at"])),
        ("last error", f"{err['message']} at {_ago(err['at'])}" if err else "none"),
        ("dead letters", f"{st['dead_letters']:,}" + (" (see: kiosk-sync dead-letters)" if st["dead_letters"] else "")),
        ("stopped", f"{st['stopped']['reason']} at {st['stopped']['at']}; fix site.id / sync.secret and restart"
         if st["stopped"] else "no"),
        ("sent", f"{st['sent_total']:,} records in total"),
        ("agent seen", _ago(st["agent_seen_at"])),
        ("directory", f"cursor {st['residents']['cursor'] or '-'}, pulled {_ago(st['residents']['pulled_at'])}"),
    ]
    for label, value in lines:
        click.echo(f"{label:<13} {value}")


@main.command("dead-letters")
@config_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=int, default=100, show_default=True)
def dead_letters_cmd(config_path, as_json, limit) -> None:
    """The newest records the central office refused, with the error."""
    from kiosk.store.sync_state import dead_letters

    db = _open_db(_load(config_path))
    try:
        rows = dead_letters(db, limit)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:>6}  {r['failed_at']}  {r['key']}  {r['error']}")


@main.command()
@config_option
@click.option("--all", "all_", is_flag=True, help="Requeue every dead letter.")
@click.argument("ids", nargs=-1, type=int)
def requeue(config_path, all_, ids) -> None:
    """Put dead letters back at the end of the outbox (after fixing what the central refused)."""
    from kiosk.store.sync_state import requeue_dead_letters

    if not all_ and not ids:
        raise click.UsageError("give dead-letter ids or --all")
    db = _open_db(_load(config_path))
    try:
        n = requeue_dead_letters(db, None if all_ else list(ids))
    finally:
        db.close()
    click.echo(f"{n} records back in the outbox", err=True)


if __name__ == "__main__":
    main()
