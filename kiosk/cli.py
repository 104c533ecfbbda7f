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
    from waitress import create_server

    from kiosk.runtime import Kiosk
    from kiosk.web import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = _load(config_path)
    if host:
        cfg.server.host = host
    if port:
        cfg.server.port = port
    kiosk = Kiosk(cfg)
    app = create_app(kiosk=kiosk)
    server = create_server(app, host=cfg.server.host, port=cfg.server.port, threads=cfg.server.threads,
                           channel_timeout=30, ident="kiosk")

    def shutdown(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    click.echo(f"kiosk serving on http://{cfg.server.host}:{server.effective_port}", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
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


if __name__ == "__main__":
    sys.exit(main())
