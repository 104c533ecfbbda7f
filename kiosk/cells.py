"""One neutraliser for every spreadsheet cell the kiosk exports (CSV and XLSX): text that
a spreadsheet would read as a formula (CSV/formula injection, OWASP) stays text.

A cell is formula-like when its text starts with `=`, `+`, `-`, `@`, a tab, a carriage
return or a line feed, or with the full-width forms `＝ ＋ － ＠` that a Chinese or Japanese
spreadsheet may also take as the start of a formula. Such text
- in a CSV is written with a leading apostrophe (`'=HYPERLINK(...)`), which Excel and
  LibreOffice show as text, the OWASP advice;
- in an XLSX is a string cell (never openpyxl's formula type, which any text starting with
  `=` otherwise becomes) with Excel's "quote prefix" style, so the cell shows the text as
  typed and stays text when someone edits it.
Numbers stay numbers and other text is left alone: only `str` values are ever changed.
Every export goes through `csv_cell` / `xlsx_append` (kiosk/web/security.py's visit CSV,
kiosk/reports/render.py's daily and monthly CSV and XLSX); this module is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def formula_like(value: Any) -> bool:
    """Whether `value` is text a spreadsheet could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """`value` as a CSV cell: None is empty, formula-like text gets a leading apostrophe,
    anything else (numbers included) is unchanged."""
    if value is None:
        return ""
    return "'" + value if formula_like(value) else value


def xlsx_append(sheet: Any, values: Iterable[Any]) -> None:
    """Append `values` as a row of the openpyxl `sheet`: every text cell is a string cell
    (formula-like text with the quote-prefix style), numbers stay numbers."""
    values = list(values)
    sheet.append(values)
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            cell = sheet.cell(row=row, column=column)
            cell.data_type = "s"
            if formula_like(value):
                cell.quotePrefix = True
