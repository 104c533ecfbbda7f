"""`kiosk report daily | monthly`: the report files (HTML, CSV, XLSX) written to a folder."""

from __future__ import annotations

from datetime import datetime

import click

from kiosk.cli.common import config_option, runtime


@click.group()
def report() -> None:
    """The daily consolidation and the monthly analysis as HTML, CSV and XLSX files."""


def _write_report(config_path: str | None, kind: str, period: str, out_dir: str) -> None:
    from kiosk.reports.render import write_files

    k = runtime(config_path)
    try:
        rep = k.reports.daily(period) if kind == "daily" else k.reports.monthly(period)
        for path in write_files(rep, out_dir, k.config.site.name):
            click.echo(str(path))
    finally:
        k.stop()


@report.command("daily")
@config_option
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the files.")
def report_daily(config_path: str | None, day: datetime, out_dir: str) -> None:
    """Write the day's consolidation as daily-DATE.html/.csv/.xlsx into OUT."""
    _write_report(config_path, "daily", day.strftime("%Y-%m-%d"), out_dir)


@report.command("monthly")
@config_option
@click.option("--month", required=True, type=click.DateTime(formats=["%Y-%m"]), help="YYYY-MM")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the files.")
def report_monthly(config_path: str | None, month: datetime, out_dir: str) -> None:
    """Write the month's analysis as monthly-MONTH.html/.csv/.xlsx into OUT."""
    _write_report(config_path, "monthly", month.strftime("%Y-%m"), out_dir)
