"""A Report as an HTML fragment with server-side SVG charts (no scripts, no CDN), a
stand-alone HTML document, CSV and XLSX. All four read the same Table rows."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from markupsafe import Markup, escape

from kiosk.cells import csv_cell, xlsx_append
from kiosk.reports.model import Report, Table

PALETTE = ["#0a6f7a", "#2558a8", "#b7740a", "#7b3fa0", "#1c7445", "#b3261e", "#5b6770"]


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def bar_chart(table: Table, width: int = 640, bar_h: int = 22) -> str:
    """Horizontal bars of the table's `chart_column`, or its first numeric column after the label(s)."""
    value_col = table.chart_column if table.chart_column is not None else next(
        (i for i, _ in enumerate(table.columns) if i > 0 and
         any(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in table.rows)), None)
    if value_col is None or not table.rows:
        return ""
    label_cols = [0] if table.chart_column is not None else list(range(value_col))
    rows = table.rows[:15]
    top = max([_num(r[value_col]) for r in rows] + [1.0])
    label_w, gap = 200, 6
    height = len(rows) * (bar_h + gap) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(table.title)}" class="chart chart-bar">']
    for i, r in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        v = _num(r[value_col])
        w = (width - label_w - 70) * v / top
        label = " ".join(fmt(r[c]) for c in label_cols)[:24]
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.72:.1f}" text-anchor="end" font-size="13" '
                     f'fill="#3d4a57">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="4" fill="{PALETTE[0]}" '
                     f'data-value="{escape(fmt(r[value_col]))}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.72:.1f}" font-size="13" '
                     f'fill="#15202b">{escape(fmt(r[value_col]))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_chart(table: Table, width: int = 1600, height: int = 260) -> str:
    """Vertical stacked columns per row (day), one colour per series column (last column = total, skipped)."""
    series = table.columns[1:-1]
    rows = table.rows
    if not rows:
        return ""
    top = max([_num(r[-1]) for r in rows] + [1.0])
    left, bottom, legend = 36, 24, 22
    plot_h = height - bottom - legend
    step = (width - left - 10) / len(rows)
    bw = max(2.0, step * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(table.title)}" class="chart chart-stacked">',
             f'<line x1="{left}" y1="{legend + plot_h}" x2="{width - 10}" y2="{legend + plot_h}" stroke="#c6cfd6"/>',
             f'<text x="{left - 4}" y="{legend + 10}" text-anchor="end" font-size="12" fill="#66727f">'
             f'{fmt(top)}</text>']
    for j, name in enumerate(series):
        lx = left + j * 120
        parts.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{lx + 16}" y="14" font-size="12" fill="#3d4a57">{escape(str(name)[:14])}</text>')
    for i, r in enumerate(rows):
        x = left + i * step + (step - bw) / 2
        y = float(legend + plot_h)
        for j in range(len(series)):
            h = plot_h * _num(r[1 + j]) / top
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                             f'fill="{PALETTE[j % len(PALETTE)]}"/>')
        if len(rows) <= 31 and (i % 5 == 0 or i == len(rows) - 1):
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12" '
                         f'fill="#66727f">{escape(str(r[0])[-2:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def chart(table: Table) -> str:
    if table.chart == "bar":
        return bar_chart(table)
    if table.chart == "stacked":
        return stacked_chart(table)
    return ""


#: A bilingual label as the reports write them: the Chinese, a space, the English.
_BILINGUAL = re.compile(r"^(.*[\u3000-\u9fff\uff00-\uffef])\s+([A-Za-z(].*)$")


def label(text: Any, lang: str | None) -> str:
    """A bilingual label in the page's language, as HTML: English only on an English page,
    the Chinese with its English marked as such otherwise (None: as it is, for files)."""
    value = str(text)
    m = _BILINGUAL.match(value)
    if lang is None or not m:
        return str(escape(value))
    if lang == "en":
        return str(escape(m.group(2)))
    return f'{escape(m.group(1))} <span class="t-sub-inline" lang="en">{escape(m.group(2))}</span>'


def fragment(report: Report, lang: str | None = None) -> Markup:
    """The report as HTML; `lang` ("zh_CN" | "en") picks the labels' language (None keeps both)."""
    out = ['<div class="rp-kpis">']
    for k in report.kpis:
        change = k.change
        delta = "" if change is None else f'<div class="d">{"▲" if change > 0 else "▼" if change < 0 else "＝"} ' \
                                          f'{escape(fmt(abs(change)))} {label("较上月 vs last month", lang)}</div>'
        out.append(f'<div class="card rp-kpi" data-kpi="{escape(k.key)}"><div class="v">'
                   f'<span data-value>{escape(fmt(k.value))}</span>'
                   f'{escape(k.unit) if k.value is not None else ""}</div>'
                   f'<div class="l">{label(k.label, lang)}</div>{delta}</div>')
    out.append('</div><div class="rp-grid">')
    for t in report.tables:
        wide = t.chart == "stacked" or len(t.rows) > 12
        out.append(f'<section class="card rp-card{" rp-wide" if wide else ""}" data-table="{escape(t.key)}">'
                   f'<h2>{label(t.title, lang)}</h2>')
        svg = chart(t)
        if svg:
            out.append(f'<figure class="rp-chart">{svg}</figure>')
        fold = wide and t.collapse
        if fold:
            out.append(f'<details><summary>{label("表格 Table", lang)} ({len(t.rows)})</summary>')
        out.append("<table><thead><tr>")
        for i, c in enumerate(t.columns):
            out.append(f'<th scope="col"{" class=n" if i and _is_numeric_col(t, i) else ""}>{label(c, lang)}</th>')
        out.append("</tr></thead><tbody>")
        if not t.rows:
            out.append(f'<tr><td colspan="{len(t.columns)}" class="muted">{label("无 None", lang)}</td></tr>')
        for r in t.rows:
            out.append("<tr>" + "".join(
                f'<td{" class=n" if i and _is_numeric_col(t, i) else ""}>{label(fmt(v), lang)}</td>'
                for i, v in enumerate(r)) + "</tr>")
        out.append("</tbody></table>" + ("</details>" if fold else "") + "</section>")
    out.append("</div>")
    return Markup("".join(out))


def _is_numeric_col(t: Table, i: int) -> bool:
    return any(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in t.rows)


_DOC_CSS = """body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:24px;color:#15202b;
background:#f2f4f6}
.card{background:#fff;border:1px solid #dde3e8;border-radius:12px;padding:14px 16px}
.rp-kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin-bottom:16px}
.rp-kpi .v{font-size:28px;font-weight:700}.rp-kpi .l{color:#66727f}.rp-kpi .d{color:#66727f;font-size:13px}
.rp-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}.rp-wide{grid-column:1/-1}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #dde3e8}
td.n,th.n{text-align:right}svg{max-width:100%;height:auto}h2{font-size:18px}"""


def document(report: Report, site_name: str) -> str:
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(report.title)} · {escape(site_name)}</title><style>{_DOC_CSS}</style></head><body>"
            f"<h1>{escape(site_name)} · {escape(report.title)}</h1>"
            f"<p>生成于 Generated {escape(report.generated_at)}</p>"
            f"{fragment(report)}</body></html>")


def _kpi_rows(report: Report) -> list[list[Any]]:
    return [[k.key, k.label, k.value, k.previous, k.change, k.unit] for k in report.kpis]


KPI_HEADER = ["key", "指标 Figure", "本期 This period", "上期 Previous", "变化 Change", "单位 Unit"]


def to_csv(report: Report) -> str:
    """One CSV: the headline figures, then each table after a line naming it. Every cell
    goes through kiosk.cells.csv_cell (categories, descriptions and names are user input)."""
    buf = io.StringIO()
    w = csv.writer(buf)

    def row(values: list[Any]) -> None:
        w.writerow([csv_cell(v) for v in values])

    row([report.title, report.period, report.generated_at])
    row([])
    row(["# kpis"])
    row(KPI_HEADER)
    for r in _kpi_rows(report):
        row(r)
    for t in report.tables:
        row([])
        row([f"# {t.key}", t.title])
        row(t.columns)
        for r in t.rows:
            row(r)
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


def to_xlsx(report: Report) -> bytes:
    """One sheet of headline figures and one sheet per table (sheet name = table key). Every
    row goes through kiosk.cells.xlsx_append: text is a string cell, never a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.worksheets[0]  # the sheet a new workbook starts with
    ws.title = "kpis"
    xlsx_append(ws, [report.title, report.period, report.generated_at])
    xlsx_append(ws, KPI_HEADER)
    for r in _kpi_rows(report):
        xlsx_append(ws, r)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for t in report.tables:
        sheet = wb.create_sheet(t.key[:31])
        xlsx_append(sheet, [t.title])
        xlsx_append(sheet, t.columns)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for r in t.rows:
            xlsx_append(sheet, r)
        for col in sheet.columns:
            sheet.column_dimensions[col[0].column_letter].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_files(report: Report, out_dir, site_name: str) -> list:
    """Write <kind>-<period>.html/.csv/.xlsx into out_dir; returns the paths."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{report.kind}-{report.period}"
    paths = [out / f"{stem}.html", out / f"{stem}.csv", out / f"{stem}.xlsx"]
    paths[0].write_text(document(report, site_name), encoding="utf-8")
    paths[1].write_text(to_csv(report), encoding="utf-8")
    paths[2].write_bytes(to_xlsx(report))
    return paths
