"""Formula injection in exports (issue 13 item 6): text a resident types at the kiosk
reaches the manager's daily and monthly CSV as text (a leading apostrophe) and the XLSX
as string cells, never formulas; numbers stay numbers. Every export uses kiosk.cells."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from kiosk.cells import FORMULA_STARTS, csv_cell, formula_like
from kiosk.web.security import CSV_FIELDS
from tests.conftest import PASSWORD

CATEGORY = '=HYPERLINK("http://evil.example/?x","click")'
DESCRIPTION = "@SUM(1+1)*cmd|' /C calc'!A0"


def login(client, username: str) -> None:
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.fixture
def filed(client, kiosk, clock, staff):
    """A complaint filed anonymously at the kiosk, then left until it is overdue."""
    r = client.post("/api/v1/cases", json={"type": "complaint", "description": DESCRIPTION, "category": CATEGORY,
                                           "contact_name": "+86 王", "print": False})
    assert r.status_code == 201, r.json
    # stored as typed: neutralised only on the way out
    assert kiosk.db.conn.execute("SELECT category FROM cases WHERE id = ?", (r.json["id"],)).fetchone()[0] == CATEGORY
    day = clock.now().date().isoformat()
    clock.advance(days=2)  # past the complaint deadline: it shows in the monthly overdue table too
    login(client, staff["manager"])
    return day, clock.now().strftime("%Y-%m")


def test_daily_and_monthly_csv_carry_the_formula_as_text(client, filed):
    day, month = filed
    for url, expected in ((f"/reports/daily/{day}.csv", {"'" + CATEGORY}),
                          (f"/reports/monthly/{month}.csv", {"'" + CATEGORY, "'" + DESCRIPTION})):
        r = client.get(url)
        assert r.status_code == 200, url
        cells = [c for row in _csv_rows(r.get_data(as_text=True)) for c in row]
        assert expected <= set(cells), url
        assert not [c for c in cells if formula_like(c)], url  # no cell starts a formula
        assert "1" in cells  # the complaint count: numbers are written as numbers, unprefixed


def test_daily_and_monthly_xlsx_hold_string_cells_not_formulas(client, filed):
    day, month = filed
    for url, expected in ((f"/reports/daily/{day}.xlsx", {CATEGORY}),
                          (f"/reports/monthly/{month}.xlsx", {CATEGORY, DESCRIPTION})):
        r = client.get(url)
        assert r.status_code == 200, url
        wb = load_workbook(io.BytesIO(r.data))
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [c.coordinate for c in cells if c.data_type == "f"], url  # no formula anywhere
        hits = [c for c in cells if c.value in expected]
        assert {c.value for c in hits} == expected, url
        assert all(c.data_type == "s" and c.quotePrefix for c in hits), url  # text as typed, kept text on edit
        numbers = [c for c in cells if isinstance(c.value, (int, float))]
        assert numbers and all(c.data_type == "n" for c in numbers), url  # numbers stay numbers


def test_visit_csv_uses_the_same_neutraliser(client, kiosk, staff):
    r = client.post("/api/v1/checkins", json={"method": "manual", "visitor": {
        "name": "\uff1dcmd()", "phone": "139 0000 1111", "unit": "-1+1", "purpose": "+1"}})
    assert r.status_code == 201, r.json
    login(client, staff["security"])
    rows = _csv_rows(client.get("/security/visits.csv").get_data(as_text=True))
    row = dict(zip(CSV_FIELDS, rows[1], strict=True))  # the header row is in the page's language
    assert (row["name"], row["unit"], row["purpose"]) == ("'\uff1dcmd()", "'-1+1", "'+1")


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_prefixed_and_numbers_are_not(start):
    assert csv_cell(start + "1") == "'" + start + "1"
    assert csv_cell("投诉" + start) == "投诉" + start
    assert csv_cell(-3) == -3 and csv_cell(2.5) == 2.5 and csv_cell(None) == ""
