"""`kiosk user add`: staff accounts."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, runtime


@click.group()
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

    k = runtime(config_path)
    try:
        k.auth.add_user(username, password, role, display_name)
    except AuthError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        k.stop()
    click.echo(f"user {username} ({role}) added", err=True)
