"""`kiosk purge`: the retention rules applied now."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, runtime


@click.command("purge")
@config_option
def purge(config_path: str | None) -> None:
    """Apply the retention rules now: old snapshots and visits, files and rows together."""
    k = runtime(config_path)
    try:
        result = k.visits.purge()
    finally:
        k.stop()
    click.echo(f"purged {result['visits']} visits, {result['snapshots']} snapshots, {result['files']} files")
