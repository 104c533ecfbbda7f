"""`kiosk qr issue | revoke`: resident QR cards."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, runtime


@click.group()
def qr() -> None:
    """Resident QR cards."""


@qr.command("issue")
@config_option
@click.option("--resident", "resident_id", required=True, help="Resident id in the directory.")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Validity (default checkin.card_days).")
def qr_issue(config_path: str | None, resident_id: str, days: int | None) -> None:
    """Print only the new resident QR payload on stdout."""
    from kiosk.errors import DomainError

    k = runtime(config_path)
    try:
        click.echo(k.visits.issue_card(resident_id, days, actor="cli"))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()


@qr.command("revoke")
@config_option
@click.option("--resident", "resident_id", required=True, help="Resident id whose cards are withdrawn.")
def qr_revoke(config_path: str | None, resident_id: str) -> None:
    """Revoke every card issued to a resident so far."""
    k = runtime(config_path)
    try:
        count = k.visits.revoke_cards(resident_id, "cli")
    finally:
        k.stop()
    click.echo(f"{count} cards revoked", err=True)
