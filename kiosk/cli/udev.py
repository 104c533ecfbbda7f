"""`kiosk udev-rules`: stable /dev/kiosk-* names for the USB devices (docs/operator-guide.md)."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, load_config
from kiosk.config import ConfigError


@click.command("udev-rules")
@config_option
def udev_rules_cmd(config_path: str | None) -> None:
    """Print udev rules naming the printer, modem and scanner /dev/kiosk-* by USB id ([devices])."""
    from kiosk.deploy import udev_rules

    try:
        click.echo(udev_rules(load_config(config_path)), nl=False)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
