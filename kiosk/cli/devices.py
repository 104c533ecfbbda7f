"""`kiosk device add | list | revoke`: the enrolled kiosks, displays and rating tablets."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, runtime


@click.group()
def device() -> None:
    """Enrolled devices: only they (and staff) may take tickets, check in, file cases and rate."""


@device.command("add")
@config_option
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["kiosk", "display", "tablet"]))
def device_add(config_path: str | None, name: str, kind: str) -> None:
    """Add a device; print its one-time pairing URL (valid 10 minutes) on stdout."""
    from kiosk.errors import DomainError

    k = runtime(config_path)
    try:
        pairing = k.devices.add(name, kind, created_by="cli")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
    click.echo(pairing.url)
    click.echo(f"open this link on the {kind} {name!r} before {pairing.expires_at} (UTC); it works once", err=True)


@device.command("list")
@config_option
@click.option("--all", "include_revoked", is_flag=True, help="Revoked devices too.")
def device_list(config_path: str | None, include_revoked: bool) -> None:
    """The enrolled devices: name, kind, state, last seen."""
    k = runtime(config_path)
    try:
        rows = k.devices.list(include_revoked=include_revoked)
    finally:
        k.stop()
    for row in rows:
        click.echo(f"{row['name']}\t{row['kind']}\t{row['state']}\t{row['last_seen_at'] or '-'}")


@device.command("revoke")
@config_option
@click.argument("name")
def device_revoke(config_path: str | None, name: str) -> None:
    """Revoke a device: its browser can no longer act as it."""
    from kiosk.errors import DomainError

    k = runtime(config_path)
    try:
        k.devices.revoke(name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        k.stop()
    click.echo(f"device {name} revoked", err=True)
