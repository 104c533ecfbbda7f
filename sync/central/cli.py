"""`kiosk-central`: the reference central receiver (DESIGN §5, §6).

    kiosk-central serve [--port P] [--db F] [--host 127.0.0.1]
    kiosk-central site add SITE_ID [--secret S]   (prints a new secret when none is given)
    kiosk-central site list | site remove SITE_ID
    kiosk-central residents import FILE.csv [--replace]
    kiosk-central residents remove ID...
    kiosk-central copy-store --from FILE --to postgresql://…   (SQLite central -> PostgreSQL)

The database is --db, else $KIOSK_CENTRAL_DB, else central.db in the kiosk config's
data directory. Site secrets come from the database (`site add`), from
$KIOSK_CENTRAL_SITES ("site-a=secret-a,site-b=secret-b") and, for a one-site demo, from
the kiosk config itself (site.id with sync.secret).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from kiosk import config as config_mod
from kiosk.config import Config, ConfigError
from sync.central.storage import CentralStore, is_postgres_url

DEFAULT_PORT = 8090
LOOPBACK = ("127.0.0.1", "localhost", "::1")

config_option = click.option("--config", "config_path", envvar="KIOSK_CONFIG", type=click.Path(dir_okay=False),
                             help="Kiosk TOML config (default: $KIOSK_CONFIG, else built-in defaults).")
db_option = click.option("--db", "db_path", envvar="KIOSK_CENTRAL_DB",
                         help="A postgresql:// URL, or an SQLite file (default: $KIOSK_CENTRAL_DB, "
                              "else <data dir>/central.db).")


def _load(path: str | None) -> Config:
    try:
        return config_mod.load(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _db_path(cfg: Config, db_path: str | None) -> str:
    return db_path or str(cfg.data_dir / "central.db")


def describe(target: str) -> str:
    """The database for a log line: a URL without its password."""
    if not is_postgres_url(target):
        return target
    parts = urlsplit(target)
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def _store(config_path: str | None, db_path: str | None) -> CentralStore:
    from sync.central.storage import open_store

    return open_store(_db_path(_load(config_path), db_path))


def env_secrets(text: str | None) -> dict[str, str]:
    """Parse $KIOSK_CENTRAL_SITES: comma-separated site=secret pairs."""
    out = {}
    for item in (text or "").split(","):
        if item.strip():
            site, sep, secret = item.strip().partition("=")
            if not sep or not site or not secret:
                raise click.ClickException("KIOSK_CENTRAL_SITES must look like site-a=secret-a,site-b=secret-b")
            out[site] = secret
    return out


@click.group()
def main() -> None:
    """The reference central receiver for kiosk sync."""


@main.command()
@config_option
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, help=f"Port (default: the port of sync.url when it is local, else {DEFAULT_PORT}).")
@click.option("--threads", type=int, default=8, show_default=True)
@click.option("--fail-every", type=int, default=0, hidden=True, help="Fault knob: answer every N-th request 503.")
@click.option("--secure-cookies", is_flag=True, help="Mark the console's cookies Secure (behind an HTTPS proxy).")
def serve(config_path, db_path, host, port, threads, fail_every, secure_cookies) -> None:
    """Receive batches and serve the resident directory, in the foreground (waitress)."""
    from waitress.server import create_server

    from sync.central.app import create_app

    cfg = _load(config_path)
    secrets = env_secrets(os.environ.get("KIOSK_CENTRAL_SITES"))
    if cfg.sync.secret:
        secrets.setdefault(cfg.site.id, cfg.sync.secret)
    if port is None:
        url = urlsplit(cfg.sync.url)
        port = url.port if url.hostname in LOOPBACK and url.port else DEFAULT_PORT
    path = _db_path(cfg, db_path)
    app = create_app(path, secrets=secrets, fail_every=fail_every, timezone=cfg.site.timezone,
                     secure_cookies=secure_cookies)
    server = create_server(app, host=host, port=port, threads=threads, ident="kiosk-central")

    def shutdown(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    bound_port = server.effective_port  # type: ignore[union-attr]  # set by waitress, missing from its stubs
    click.echo(f"kiosk-central on http://{host}:{bound_port} (db {describe(path)}, "
               f"{len(secrets)} sites from env/config)", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@main.group()
def site() -> None:
    """Sites allowed to send, with their shared secrets."""


@site.command("add")
@config_option
@db_option
@click.argument("site_id")
@click.option("--secret", help="Shared secret (the site's sync.secret); a new one is printed when omitted.")
@click.option("--name", default="", help="Display name.")
def site_add(config_path, db_path, site_id, secret, name) -> None:
    """Register SITE_ID (or change its secret)."""
    from sync.central.app import SITE_ID

    if not SITE_ID.fullmatch(site_id):
        raise click.BadParameter("letters, digits, '.', '_' and '-' only", param_hint="SITE_ID")
    store = _store(config_path, db_path)
    try:
        new = store.add_site(site_id, secret, name)
    finally:
        store.close()
    if secret:
        click.echo(f"site {site_id} registered", err=True)
    else:
        click.echo(new)


@site.command("list")
@config_option
@db_option
def site_list(config_path, db_path) -> None:
    store = _store(config_path, db_path)
    try:
        for s in store.summary():
            click.echo(f"{s['site_id']:<24} {s['total']:>9} records  last batch {s['last_batch_at'] or '-'}  "
                       f"backlog {'-' if s['backlog'] is None else s['backlog']}")
    finally:
        store.close()


@site.command("remove")
@config_option
@db_option
@click.argument("site_id")
def site_remove(config_path, db_path, site_id) -> None:
    """Revoke SITE_ID's secret (its records stay)."""
    store = _store(config_path, db_path)
    try:
        if not store.remove_site(site_id):
            raise click.ClickException(f"no site {site_id}")
    finally:
        store.close()


@main.group()
def user() -> None:
    """Console accounts (roles office_manager and auditor)."""


@user.command("add")
@config_option
@db_option
@click.argument("name")
@click.option("--role", type=click.Choice(["office_manager", "auditor"]), required=True)
@click.option("--password", help="The password; asked for (twice, hidden) when omitted.")
def user_add(config_path, db_path, name, role, password) -> None:
    """Create NAME, or give NAME a new role or password (which ends its sessions)."""
    from sync.central.console import hash_password

    if not name.strip() or len(name) > 64:
        raise click.BadParameter("1-64 characters", param_hint="NAME")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < 8:
        raise click.BadParameter("at least 8 characters", param_hint="--password")
    store = _store(config_path, db_path)
    try:
        store.add_user(name.strip(), role, hash_password(password))
    finally:
        store.close()
    click.echo(f"user {name} saved ({role})", err=True)


@user.command("list")
@config_option
@db_option
def user_list(config_path, db_path) -> None:
    store = _store(config_path, db_path)
    try:
        for u in store.users():
            click.echo(f"{u['name']:<24} {u['role']:<16} {'active' if int(u['active']) else 'disabled'}")
    finally:
        store.close()


@user.command("disable")
@config_option
@db_option
@click.argument("name")
def user_disable(config_path, db_path, name) -> None:
    """Disable NAME and end its sessions."""
    store = _store(config_path, db_path)
    try:
        if not store.disable_user(name):
            raise click.ClickException(f"no user {name}")
    finally:
        store.close()
    click.echo(f"user {name} disabled", err=True)


@main.group()
def residents() -> None:
    """The resident directory the sites pull."""


@residents.command("import")
@config_option
@db_option
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Mark residents missing from the file as removed.")
def residents_import(config_path, db_path, csv_file, replace) -> None:
    """Upsert residents from a CSV with header id,name,unit,phone,id_number (id_number optional,
    stored only as a keyed hash). Nothing is imported when any line is bad."""
    from sync.central.directory import read_csv

    store = _store(config_path, db_path)
    try:
        entries, errors = read_csv(csv_file.read_text(encoding="utf-8-sig"), store.id_key())
        if errors:
            for e in errors:
                click.echo(f"{csv_file}: {e}", err=True)
            raise click.ClickException(f"{len(errors)} bad lines; nothing imported")
        result = store.import_residents(entries, replace=replace)
    finally:
        store.close()
    click.echo(", ".join(f"{k} {v}" for k, v in result.items()), err=True)


@residents.command("remove")
@config_option
@db_option
@click.argument("ids", nargs=-1, required=True)
def residents_remove(config_path, db_path, ids) -> None:
    """Mark residents removed; sites make them inactive on their next pull."""
    store = _store(config_path, db_path)
    try:
        n = store.remove_residents(ids)
    finally:
        store.close()
    click.echo(f"{n} residents marked removed", err=True)


@main.command("copy-store")
@click.option("--from", "source", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The SQLite central store (central.db).")
@click.option("--to", "target", required=True, help="An empty PostgreSQL database: postgresql://…")
def copy_store_cmd(source, target) -> None:
    """Copy an SQLite central store into PostgreSQL: everything into an empty database in one
    transaction; run again, it adds only what the file gained since."""
    from sync.central.copy import CopyError, copy_store

    try:
        result = copy_store(source, target, log=lambda line: click.echo(line, err=True))
    except CopyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{result.mode} copy into {describe(target)}: "
               + ", ".join(f"{k} {v:,}" for k, v in sorted(result.rows.items())))


if __name__ == "__main__":
    sys.exit(main())
