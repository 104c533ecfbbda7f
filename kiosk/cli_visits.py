"""`kiosk residents import`, `kiosk qr issue`, `kiosk purge` (DESIGN §5 command line)."""

from __future__ import annotations

import click

from kiosk.cli import _runtime, config_option, main


@main.group()
def residents() -> None:
    """The local resident directory."""


@residents.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def residents_import(config_path: str | None, file: str) -> None:
    """Upsert residents from FILE.csv (header id,name,unit,phone[,id_number]; ID numbers stored hashed)."""
    from kiosk.services.visits import VisitError

    with open(file, encoding="utf-8-sig") as fh:
        text = fh.read()
    k = _runtime(config_path)
    try:
        count = k.visits.import_residents(text)
    except VisitError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
    click.echo(f"{count} residents imported", err=True)


@main.group()
def qr() -> None:
    """Resident QR cards."""


@qr.command("issue")
@config_option
@click.option("--resident", "resident_id", required=True, help="Resident id in the directory.")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Validity (default checkin.card_days).")
def qr_issue(config_path: str | None, resident_id: str, days: int | None) -> None:
    """Print only the new resident QR payload on stdout."""
    from kiosk.services.visits import VisitError

    k = _runtime(config_path)
    try:
        click.echo(k.visits.issue_card(resident_id, days, actor="cli"))
    except VisitError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()


@qr.command("revoke")
@config_option
@click.option("--resident", "resident_id", required=True, help="Resident id whose cards are withdrawn.")
def qr_revoke(config_path: str | None, resident_id: str) -> None:
    """Revoke every card issued to a resident so far."""
    k = _runtime(config_path)
    try:
        count = k.visits.revoke_cards(resident_id, "cli")
    finally:
        k.stop()
    click.echo(f"{count} cards revoked", err=True)


@main.command("purge")
@config_option
def purge(config_path: str | None) -> None:
    """Apply the retention rules now: old snapshots and visits, files and rows together."""
    k = _runtime(config_path)
    try:
        result = k.visits.purge()
    finally:
        k.stop()
    click.echo(f"purged {result['visits']} visits, {result['snapshots']} snapshots, {result['files']} files")
