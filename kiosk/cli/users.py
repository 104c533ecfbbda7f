"""`kiosk user add | passwd | disable | enable`: staff accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from kiosk.cli.common import config_option, runtime

if TYPE_CHECKING:
    from kiosk.services.auth import AuthService


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


@user.command("passwd")
@config_option
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (prompted when not given).")
def user_passwd(config_path: str | None, username: str, password: str) -> None:
    """Set a new password; every open session of the user ends."""
    _change(config_path, lambda auth: auth.change_password(username, password))
    click.echo(f"password of {username} changed; their sessions ended", err=True)


@user.command("disable")
@config_option
@click.argument("username")
def user_disable(config_path: str | None, username: str) -> None:
    """Disable an account: it cannot sign in, and every open session of it ends."""
    _change(config_path, lambda auth: auth.set_active(username, False))
    click.echo(f"user {username} disabled; their sessions ended", err=True)


@user.command("enable")
@config_option
@click.argument("username")
def user_enable(config_path: str | None, username: str) -> None:
    """Enable a disabled account again."""
    _change(config_path, lambda auth: auth.set_active(username, True))
    click.echo(f"user {username} enabled", err=True)


def _change(config_path: str | None, change: Callable[[AuthService], None]) -> None:
    """Apply one account change; a refused one (unknown user, short password) is a CLI error."""
    from kiosk.errors import DomainError

    k = runtime(config_path)
    try:
        change(k.auth)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
