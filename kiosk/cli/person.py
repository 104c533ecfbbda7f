"""`kiosk person export|erase`: a person's data under PIPL, found by resident id, phone
number or ID number (docs/personal-data.md). Both are written to the audit log."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kiosk.cli.common import config_option, runtime


def _lookup(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--id-number", "id_number", help="The person's ID number (hashed as check-in does).")(f)
    f = click.option("--phone", help="The person's phone number (any format).")(f)
    f = click.option("--resident", help="The resident's directory id.")(f)
    return f


def _pick(resident: str | None, phone: str | None, id_number: str | None) -> tuple[str, str]:
    given = [(k, v) for k, v in (("resident", resident), ("phone", phone), ("id_number", id_number)) if v]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --resident, --phone, --id-number")
    return given[0]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group()
def person() -> None:
    """A person's data: export it all, or erase it."""


@person.command("export")
@config_option
@_lookup
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The zip file to write.")
def person_export(config_path: str | None, resident: str | None, phone: str | None, id_number: str | None,
                  out: str) -> None:
    """Write every record about one person (and their snapshots) to a zip file."""
    from kiosk.errors import DomainError

    kind, value = _pick(resident, phone, id_number)
    k = runtime(config_path)
    try:
        _, data = k.person.export(kind, value, actor=_actor(), role="manager")
        summary = k.person.summary(kind, value)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
    Path(out).write_bytes(data)
    counts = ", ".join(f"{n} {name}" for name, n in summary["counts"].items())
    click.echo(f"{out}: {counts} (reference {summary['reference']})", err=True)


@person.command("erase")
@config_option
@_lookup
@click.option("--yes", is_flag=True, help="Do not ask for the reference on a terminal.")
def person_erase(config_path: str | None, resident: str | None, phone: str | None, id_number: str | None,
                 yes: bool) -> None:
    """Delete the person's visits, snapshots and calls; anonymise their tickets, cases and
    ratings; remove their directory entry. The central office is told through sync.

    On a terminal it first shows what was found and asks for the reference; from a
    script (stdin not a terminal) or with --yes it erases at once."""
    from kiosk.errors import DomainError

    kind, value = _pick(resident, phone, id_number)
    k = runtime(config_path)
    try:
        summary = k.person.summary(kind, value)
        counts = ", ".join(f"{n} {name}" for name, n in summary["counts"].items())
        if not yes and sys.stdin.isatty():
            click.echo(f"found: {counts}", err=True)
            typed = click.prompt(f"type the reference {summary['reference']} to erase", err=True, default="",
                                 show_default=False)
            if typed.strip().upper() != summary["reference"]:
                raise click.ClickException("not confirmed: nothing was erased")
        result = k.person.erase(kind, value, actor=_actor(), role="manager")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
    counts = ", ".join(f"{n} {name}" for name, n in result["counts"].items())
    click.echo(f"erased {counts}; {result['files']} snapshot files removed (reference {result['reference']})")
