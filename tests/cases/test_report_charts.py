"""The monthly wait chart plots minutes: each bar's value is the median wait the report
computed for that service from the tickets' issue and call times (not the number of
tickets), and every chart label is at least 12 px."""

from __future__ import annotations

import re

from kiosk.reports import render
from tests.cases.test_reports import expected_month, seeded  # noqa: F401  (the seeded month is a fixture)


def test_the_wait_chart_plots_the_computed_median_waits(seeded):  # noqa: F811
    k, clock, log, _check = seeded
    report = k.reports.monthly("2026-11")
    html = str(render.fragment(report, "zh_CN"))
    section = re.search(r'data-table="wait_times".*?</svg>', html, re.S).group(0)
    plotted = [float(v) for v in re.findall(r'<rect [^>]*data-value="([0-9.]+)"', section)]
    exp = expected_month(log, "2026-11", clock.now())
    table = report.table("wait_times")
    medians = [row[2] for row in table.rows[:15]]
    assert plotted == [float(render.fmt(m)) if m is not None else 0.0 for m in medians]
    computed = {letter: figures[1] for letter, figures in exp["waits"].items()}
    assert {row[0][0]: row[2] for row in table.rows if row[1]} == computed
    assert any(v > 0 for v in plotted) and plotted != [float(row[1]) for row in table.rows[:15]]
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', html)]
    assert sizes and min(sizes) >= 12
