"""`kiosk demo load`: demo data for trying the kiosk without a site."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, runtime


@click.group()
def demo() -> None:
    """Demo data for trying the kiosk without a site."""


@demo.command("load")
@config_option
def demo_load(config_path: str | None) -> None:
    """Create demo staff accounts (random passwords, printed once) and a few waiting tickets."""
    from kiosk.demo import load_demo

    k = runtime(config_path)
    try:
        for line in load_demo(k):
            click.echo(line)
    finally:
        k.stop()
