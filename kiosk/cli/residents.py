"""`kiosk residents import`: the local resident directory."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, runtime


@click.group()
def residents() -> None:
    """The local resident directory."""


@residents.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def residents_import(config_path: str | None, file: str) -> None:
    """Upsert residents from FILE.csv (header id,name,unit,phone[,id_number]; ID numbers stored hashed)."""
    from kiosk.errors import DomainError

    with open(file, encoding="utf-8-sig") as fh:
        text = fh.read()
    k = runtime(config_path)
    try:
        count = k.visits.import_residents(text)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
    click.echo(f"{count} residents imported", err=True)
