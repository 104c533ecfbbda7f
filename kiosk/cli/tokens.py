"""`kiosk token create`: bearer tokens for the API."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, runtime


@click.group()
def token() -> None:
    """Bearer tokens for the API."""


@token.command("create")
@config_option
@click.option("--role", required=True, help="receptionist | specialist | security | manager")
@click.option("--name", default="", help="Who or what the token is for.")
def token_create(config_path: str | None, role: str, name: str) -> None:
    """Print a new bearer token (and nothing else) on stdout."""
    from kiosk.services.auth import AuthError

    k = runtime(config_path)
    try:
        click.echo(k.auth.create_token(role, name))
    except AuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        k.stop()
