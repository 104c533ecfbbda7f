"""The `kiosk` command line (DESIGN §5)."""

from __future__ import annotations

import logging
import signal
import sys

import click

from kiosk import config as config_mod
from kiosk.config import Config, ConfigError


def _load(path: str | None) -> Config:
    try:
        return config_mod.load(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


config_option = click.option("--config", "config_path", envvar="KIOSK_CONFIG", type=click.Path(dir_okay=False),
                             help="TOML config file (default: $KIOSK_CONFIG, else built-in defaults).")


@click.group()
def main() -> None:
    """Front-desk kiosk service."""


@main.command()
@config_option
@click.option("--host", help="Override server.host.")
@click.option("--port", type=int, help="Override server.port.")
def serve(config_path: str | None, host: str | None, port: int | None) -> None:
    """Run the web service and the device workers in the foreground."""
    import gc

    from waitress import create_server

    from kiosk.runtime import Kiosk
    from kiosk.watchdog import Watchdog
    from kiosk.web import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = _load(config_path)
    if host:
        cfg.server.host = host
    if port:
        cfg.server.port = port
    kiosk = Kiosk(cfg)
    app = create_app(kiosk.services)
    server = create_server(app, host=cfg.server.host, port=cfg.server.port, threads=cfg.server.threads,
                           channel_timeout=30, ident="kiosk")

    def shutdown(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    # Everything built so far (app, catalogs, printer profiles) lives as long as the
    # process; left to the collector, each full collection walks it all and stops every
    # thread for ~35 ms (measured under bench/ticket_issue.py), about once per 2,000 tickets.
    gc.freeze()
    click.echo(f"kiosk serving on http://{cfg.server.host}:{server.effective_port}", err=True)
    watchdog = Watchdog.from_env(kiosk.health).start()  # systemd: READY=1, then WATCHDOG=1 while the db is ok
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        watchdog.stop()
        kiosk.stop()
        server.close()


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("show")
@config_option
def config_show(config_path: str | None) -> None:
    """Print the effective config as TOML."""
    click.echo(config_mod.to_toml(_load(config_path)), nl=False)


def _runtime(config_path: str | None):
    from kiosk.runtime import Kiosk

    return Kiosk(_load(config_path), start_workers=False)


@main.group()
def token() -> None:
    """Bearer tokens for the API."""


@token.command("create")
@config_option
@click.option("--role", required=True, help="receptionist | specialist | security | manager")
@click.option("--name", default="", help="Who or what the token is for.")
def token_create(config_path: str | None, role: str, name: str) -> None:
    """Print a new bearer token (and nothing else) on stdout."""
    from kiosk.services.auth import AuthError

    k = _runtime(config_path)
    try:
        click.echo(k.auth.create_token(role, name))
    except AuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        k.stop()


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@config_option
@click.argument("username")
@click.option("--role", required=True, help="receptionist | specialist | security | manager")
@click.option("--name", "display_name", default=None, help="Name shown on screens.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (prompted when not given).")
def user_add(config_path: str | None, username: str, role: str, display_name: str | None, password: str) -> None:
    """Add a staff account."""
    from kiosk.services.auth import AuthError

    k = _runtime(config_path)
    try:
        k.auth.add_user(username, password, role, display_name)
    except AuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        k.stop()
    click.echo(f"user {username} ({role}) added", err=True)


@main.group()
def demo() -> None:
    """Demo data for trying the kiosk without a site."""


@demo.command("load")
@config_option
def demo_load(config_path: str | None) -> None:
    """Create demo staff accounts (random passwords, printed once) and a few waiting tickets."""
    from kiosk.demo import load_demo

    k = _runtime(config_path)
    try:
        for line in load_demo(k):
            click.echo(line)
    finally:
        k.stop()


# -- deployment: backups, udev rules, generated config docs (docs/operator-guide.md) --------
@main.command("backup")
@config_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for the backup (default: backup.dir, else backups/ in the data directory).")
def backup_cmd(config_path: str | None, out_dir: str | None) -> None:
    """Write a consistent copy of the database (SQLite online backup); keep the newest backup.keep."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kiosk.backup import BackupError, backup_database, default_backup_dir

    cfg = _load(config_path)
    try:
        result = backup_database(cfg.database.path, out_dir or default_backup_dir(cfg), keep=cfg.backup.keep,
                                 now=datetime.now(ZoneInfo(cfg.site.timezone)))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for old in result.removed:
        click.echo(f"removed old backup {old}", err=True)
    click.echo(str(result.path))


@main.command("restore")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_cmd(config_path: str | None, file: str, yes: bool) -> None:
    """Replace the database with backup FILE (checked first; the current one is kept as .before-restore)."""
    from kiosk.backup import BackupError, check_backup_file, restore_database

    cfg = _load(config_path)
    try:
        check_backup_file(file)
        if not yes:
            click.confirm(f"Replace {cfg.database.path} with {file}?", abort=True)
        result = restore_database(file, cfg.database.path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if result.before_restore:
        click.echo(f"previous database kept as {result.before_restore}", err=True)
    click.echo(f"restored {file} into {result.path}", err=True)


@main.command("udev-rules")
@config_option
def udev_rules_cmd(config_path: str | None) -> None:
    """Print udev rules naming the printer, modem and scanner /dev/kiosk-* by USB id ([devices])."""
    from kiosk.deploy import udev_rules

    try:
        click.echo(udev_rules(_load(config_path)), nl=False)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@config_group.command("reference")
def config_reference_cmd() -> None:
    """Print the Markdown reference of every config key (docs/config-reference.md)."""
    from kiosk.deploy import config_reference

    click.echo(config_reference(), nl=False)


@config_group.command("example")
def config_example_cmd() -> None:
    """Print the commented example config for an installed box (deploy/kiosk.toml.example)."""
    from kiosk.deploy import config_example

    click.echo(config_example(), nl=False)


from kiosk import cli_visits  # noqa: E402,F401  (residents, qr, purge)



# -- reports (issue 5) -------------------------------------------------------------------------
@main.group()
def report() -> None:
    """The daily consolidation and the monthly analysis as HTML, CSV and XLSX files."""


def _write_report(config_path: str | None, kind: str, period: str, out_dir: str) -> None:
    from kiosk.reports.render import write_files

    k = _runtime(config_path)
    try:
        rep = k.reports.daily(period) if kind == "daily" else k.reports.monthly(period)
        for path in write_files(rep, out_dir, k.config.site.name):
            click.echo(str(path))
    finally:
        k.stop()


@report.command("daily")
@config_option
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the files.")
def report_daily(config_path: str | None, day, out_dir: str) -> None:
    """Write the day's consolidation as daily-DATE.html/.csv/.xlsx into OUT."""
    _write_report(config_path, "daily", day.strftime("%Y-%m-%d"), out_dir)


@report.command("monthly")
@config_option
@click.option("--month", required=True, type=click.DateTime(formats=["%Y-%m"]), help="YYYY-MM")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the files.")
def report_monthly(config_path: str | None, month, out_dir: str) -> None:
    """Write the month's analysis as monthly-MONTH.html/.csv/.xlsx into OUT."""
    _write_report(config_path, "monthly", month.strftime("%Y-%m"), out_dir)

if __name__ == "__main__":
    sys.exit(main())
