"""One name for each thing on every page: a busy day (tickets in every state, a resident's
QR, ID and visitor check-ins, cases with their history, an escalation, a call) is shown
on every page a person looks at, in Chinese and in English, and the text a person reads
carries no internal code: no status, method, channel or history word from the database,
no snake_case, no "#7" for a case."""

from __future__ import annotations

import re

import pytest

from kiosk.devices.callerid import CallerId
from tests.cases.test_export_cells import login
from tests.checkin.conftest import RESIDENTS_CSV, ZHANG_ID

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

#: Words stored in the database that a Chinese page must never show as they are.
RAW_WORDS = (
    "waiting", "called", "serving", "done", "no_show", "transferred", "cancelled", "expired", "qr", "manual",
    "wedge", "handled", "missed", "open", "in_progress", "feedback_given", "closed", "inquiry", "complaint",
    "repair", "other", "counter", "kiosk", "app", "tablet", "escalated", "reception", "specialist", "logistics",
    "receptionist", "security", "manager", "create", "assign", "start", "answer", "feedback", "reopen", "note",
    "due_soon", "overdue", "resident", "visitor",
)
RAW_ON_ZH = re.compile(r"(?<![A-Za-z_./`-])(" + "|".join(RAW_WORDS) + r")(?![A-Za-z_0-9./`-])")
#: What no page shows in any language: snake_case codes, "#7" for a case, ISO date-times.
RAW_ANYWHERE = re.compile(r"\b[a-z]+_[a-z_]+\b|#\d+\b|\d{4}-\d\d-\d\dT\d\d|escalated to manager")

VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el) continue;
    if (el.closest('script, style, [hidden], [lang="en"], .who, .brand-name, code')) continue;
    if (!el.getClientRects().length) continue;
    out.push(n.textContent.trim());
  }
  return out;
}"""


def busy_day(kiosk, clock) -> None:
    from kiosk.queue.rules import Action

    kiosk.visits.import_residents(RESIDENTS_CSV)
    kiosk.visits.checkin_qr(kiosk.visits.issue_card("r-zhang", 30))
    kiosk.visits.checkin_id(ZHANG_ID)
    kiosk.visits.checkin_visitor({"name": "王五", "phone": "13900001111", "unit": "3-2-501", "purpose": "送货"})
    tickets = [kiosk.queue.issue(s).ticket for s in "AABCDE"]
    first = kiosk.queue.call_next("1", "reception1")
    kiosk.queue.act(first["id"], Action.FINISH, actor="reception1")
    gone = kiosk.queue.call_next("1", "reception1")
    kiosk.queue.act(gone["id"], Action.NO_SHOW, actor="reception1")
    moved = kiosk.queue.call_next("2", "reception1")
    kiosk.queue.act(moved["id"], Action.TRANSFER, actor="reception1", target_service="D")
    assert tickets
    kiosk.cases.create(type="inquiry", description="停车月卡怎么办理？", channel="counter", actor="reception1",
                       resident_id="r-zhang")
    kiosk.cases.create(type="complaint", description="楼上噪音", channel="kiosk", resident_id="r-zhang")
    kiosk.calls.incoming(CallerId(number="13800138000", name="", kind="normal", date=None, time=None, at=0.0))
    clock.advance(minutes=6)
    kiosk.cases.watch_once()


PAGES = ["/kiosk", "/display", "/desk?counter=1", "/desk/calls", "/cases", "/cases/1", "/cases/2",
         "/residents/", "/residents/r-zhang", "/security/", "/security/visits/1", "/security/visits/3",
         "/security/audit", "/reports/", "/reports/daily", "/reports/monthly", "/admin/", "/admin/residents/",
         "/no-such-page"]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_internal_code_on_any_page(open_page, login, kiosk, clock, lang):
    busy_day(kiosk, clock)
    page = open_page()
    login(page, "manager", "/admin/")
    found = []
    for path in PAGES:
        page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(700)  # pages that fill themselves from the API
        for text in page.evaluate(VISIBLE_TEXT_JS):
            for pattern in ((RAW_ON_ZH, RAW_ANYWHERE) if lang == "zh_CN" else (RAW_ANYWHERE,)):
                for m in pattern.finditer(text):
                    found.append(f"{path}: {m.group(0)!r} in {text[:80]!r}")
    assert not found, "\n".join(dict.fromkeys(found))


def test_visit_log_csv_speaks_the_pages_language(client, kiosk, staff):
    kiosk.visits.checkin_visitor({"name": "王五", "phone": "13900001111", "unit": "3-2-501"})
    login(client, staff["security"])
    zh = client.get("/security/visits.csv?lang=zh_CN").data.decode("utf-8-sig").splitlines()
    en = client.get("/security/visits.csv?lang=en").data.decode("utf-8-sig").splitlines()
    assert zh[0].startswith("编号,访客类型,签到方式,姓名") and ",访客登记," in zh[1]
    assert en[0].startswith("No.,Visitor type,Check-in method,Name") and ",Visitor registration," in en[1]
