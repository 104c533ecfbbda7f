"""The manager's personal-data page in Chromium at 1366×768: find a person by phone,
download the export zip, a wrong reference erases nothing, the right one erases; other
roles are refused; export and erasure are in the audit log."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from kiosk.services.visits import Snapshot
from tests.checkin.conftest import RESIDENTS_CSV, jpeg
from tests.web.conftest import LAPTOP
from tests.web.test_admin_health import sign_in

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def people(kiosk):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    card = kiosk.visits.issue_card("r-zhang", 30)
    zhang = kiosk.visits.checkin_qr(card, snapshot=Snapshot(jpeg("zhang"), kiosk.clock.now()))
    kiosk.visits.checkin_visitor({"name": "王访客", "phone": "13700137000", "unit": "3-2-501"})
    return zhang


def test_export_and_erase_from_the_admin_page(open_page, login, shot, kiosk, people):
    page = open_page(LAPTOP)
    login(page, "manager", "/admin/person/")
    shot(page, "person-admin-empty")
    page.select_option("#person-kind", "phone")
    page.fill("#person-value", "138 0013 8000")
    page.click("#person-find")
    expect(page.locator('[data-count="visits"]')).to_have_text("1")
    expect(page.locator('[data-count="snapshots"]')).to_have_text("1")
    reference = page.locator("#person-reference").inner_text()
    assert reference.startswith("P-")
    shot(page, "person-admin-found", full_page=True)

    with page.expect_download() as download:
        page.click("#person-export")
    data = download.value.path().read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        doc = json.loads(zf.read("person.json"))
        assert [n for n in zf.namelist() if n.startswith("snapshots/")] == [f"snapshots/visit-{people['id']}.jpg"]
    assert [r["name"] for r in doc["resident"]] == ["张女士"] and "王访客" not in json.dumps(doc, ensure_ascii=False)

    page.fill("#person-confirm", "P-WRONG")
    page.click("#person-erase-button")
    expect(page.locator("#confirm-error")).to_be_visible()
    assert kiosk.db.scalar("SELECT COUNT(*) FROM visits") == 2

    page.fill("#person-confirm", reference.lower())
    page.click("#person-erase-button")
    expect(page.locator("#erased")).to_contain_text(reference)
    shot(page, "person-admin-erased", full_page=True)
    assert kiosk.db.scalar("SELECT COUNT(*) FROM visits") == 1
    assert kiosk.db.scalar("SELECT COUNT(*) FROM residents WHERE id = 'r-zhang'") == 0
    actions = [(e["action"], e["actor"], e["target"]) for e in kiosk.visits.audit_log()]
    assert actions[:2] == [("person.erase", "boss", f"person:{reference}"),
                           ("person.export", "boss", f"person:{reference}")]
    assert not list((kiosk.config.data_dir / "snapshots").rglob("*.jpg"))

    page.goto("/admin/person/?lang=en")
    page.select_option("#person-kind", "resident")
    page.fill("#person-value", "r-li")
    page.click("#person-find")
    expect(page.locator("#person-summary")).to_contain_text("Type the reference")
    shot(page, "person-admin-found-en", full_page=True)


def test_only_managers_reach_the_page(client, staff, kiosk, people):
    sign_in(client, staff["security"])
    assert client.get("/admin/person/").status_code == 403
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = client.post("/admin/person/export", data={"kind": "resident", "value": "r-zhang", "csrf_token": token})
    assert answer.status_code == 403
    assert kiosk.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'person.%'") == 0
