"""What every `kiosk` command shares: the --config option, loading the config, and a
runtime without its device workers for one-shot commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kiosk import config as config_mod
from kiosk.config import Config, ConfigError

if TYPE_CHECKING:
    from kiosk.runtime import Kiosk


def load_config(path: str | None) -> Config:
    try:
        return config_mod.load(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


config_option = click.option("--config", "config_path", envvar="KIOSK_CONFIG", type=click.Path(dir_okay=False),
                             help="TOML config file (default: $KIOSK_CONFIG, else built-in defaults).")


def runtime(config_path: str | None) -> Kiosk:
    """The runtime for a one-shot command: database and services, no device workers started."""
    from kiosk.runtime import Kiosk

    return Kiosk(load_config(config_path), start_workers=False)
