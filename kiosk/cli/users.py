"""`kiosk user add | passwd | disable | enable`: staff accounts."""

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


@user.command("passwd")
@config_option
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (prompted when not given).")
def user_passwd(config_path: str | None, username: str, password: str) -> None:
    """Set a new password; every open session of the user ends."""
    from kiosk.errors import DomainError

    k = runtime(config_path)
    try:
        k.auth.change_password(username, password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
    click.echo(f"password of {username} changed; their sessions ended", err=True)


@user.command("disable")
@config_option
@click.argument("username")
def user_disable(config_path: str | None, username: str) -> None:
    """Disable an account: it cannot sign in, and every open session of it ends."""
    _set_active(config_path, username, False)
    click.echo(f"user {username} disabled; their sessions ended", err=True)


@user.command("enable")
@config_option
@click.argument("username")
def user_enable(config_path: str | None, username: str) -> None:
    """Enable a disabled account again."""
    _set_active(config_path, username, True)
    click.echo(f"user {username} enabled", err=True)


def _set_active(config_path: str | None, username: str, active: bool) -> None:
    from kiosk.errors import DomainError

    k = runtime(config_path)
    try:
        k.auth.set_active(username, active)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
