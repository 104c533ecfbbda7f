"""The `kiosk` command line (DESIGN §5): the `main` group and one module per command group.

    common.py     --config, loading the config, a runtime without device workers
    serve.py      serve
    config.py     config show | reference | example
    tokens.py     token create
    users.py      user add | passwd | disable | enable
    devices.py    device add | list | revoke
    demo.py       demo load
    residents.py  residents import
    qr.py         qr issue | revoke
    purge.py      purge
    person.py     person export | erase
    reports.py    report daily | monthly
    backup.py     backup, restore
    udev.py       udev-rules

`python -m kiosk.cli` runs `main` too (kiosk/cli/__main__.py).
"""

from __future__ import annotations

import click

from kiosk.cli import backup, config, demo, devices, person, purge, qr, reports, residents, serve, tokens, udev, users


@click.group()
def main() -> None:
    """Front-desk kiosk service."""


for _command in (serve.serve, config.config_group, tokens.token, users.user, demo.demo, backup.backup_cmd,
                 backup.restore_cmd, udev.udev_rules_cmd, residents.residents, qr.qr, purge.purge, reports.report,
                 devices.device, person.person):
    main.add_command(_command)
