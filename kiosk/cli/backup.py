"""`kiosk backup` and `kiosk restore` (docs/operator-guide.md)."""

from __future__ import annotations

import click

from kiosk.cli.common import config_option, load_config


@click.command("backup")
@config_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for the backup (default: backup.dir, else backups/ in the data directory).")
def backup_cmd(config_path: str | None, out_dir: str | None) -> None:
    """Write a consistent copy of the database (SQLite online backup); keep the newest backup.keep."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kiosk.backup import BackupError, backup_database, default_backup_dir

    cfg = load_config(config_path)
    try:
        result = backup_database(cfg.database.path, out_dir or default_backup_dir(cfg), keep=cfg.backup.keep,
                                 now=datetime.now(ZoneInfo(cfg.site.timezone)))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for old in result.removed:
        click.echo(f"removed old backup {old}", err=True)
    click.echo(str(result.path))


@click.command("restore")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_cmd(config_path: str | None, file: str, yes: bool) -> None:
    """Replace the database with backup FILE (checked first; the current one is kept as .before-restore)."""
    from kiosk.backup import BackupError, check_backup_file, restore_database

    cfg = load_config(config_path)
    try:
        check_backup_file(file)
        if not yes:
            click.confirm(f"Replace {cfg.database.path} with {file}?", abort=True)
        result = restore_database(file, cfg.database.path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if result.before_restore:
        click.echo(f"previous database kept as {result.before_restore}", err=True)
    click.echo(f"restored {file} into {result.path}", err=True)
