"""`kiosk config show | reference | example`: the effective config and the generated docs."""

from __future__ import annotations

import click

from kiosk import config as config_mod
from kiosk.cli.common import config_option, load_config


@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("show")
@config_option
def config_show(config_path: str | None) -> None:
    """Print the effective config as TOML."""
    click.echo(config_mod.to_toml(load_config(config_path)), nl=False)


@config_group.command("reference")
def config_reference_cmd() -> None:
    """Print the Markdown reference of every config key (docs/config-reference.md)."""
    from kiosk.deploy import config_reference

    click.echo(config_reference(), nl=False)


@config_group.command("example")
def config_example_cmd() -> None:
    """Print the commented example config for an installed box (deploy/kiosk.toml.example)."""
    from kiosk.deploy import config_example

    click.echo(config_example(), nl=False)
