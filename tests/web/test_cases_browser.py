"""Cases in a real browser: the desk console records a case for the ticket it serves and
the specialist sees it on the case board, records feedback and closes it; overdue cases
show up on the desk console and the board; the kiosk files a complaint with a slip."""

from __future__ import annotations

import json

import pytest

from tests.web.conftest import KIOSK_PORTRAIT, LANDSCAPE

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_desk_records_case_and_specialist_handles_it_on_the_board(open_page, login, kiosk, clock, shot):
    kiosk.queue.issue("C")
    kiosk.queue.call_next("1")
    desk = open_page(LANDSCAPE)
    login(desk, "receptionist", "/desk?counter=1")
    desk.wait_for_selector('body[data-live="open"]', state="attached")
    desk.locator('#dc-form input[value="complaint"]').check()
    desk.fill("#dc-category", "噪音")
    desk.fill("#dc-desc", "楼上装修噪音太大，晚上十点后仍在施工")
    desk.click("#dc-handover")
    expect(desk.locator(".toast-success")).to_contain_text("C00001")
    case = kiosk.cases.get(1)
    assert case["ticket_id"] is not None and case["type"] == "complaint" and case["team"] == "specialist"
    assert case["status"] == "in_progress"

    # an overdue inquiry shows on the desk console as soon as the watcher flags it
    kiosk.cases.create(type="inquiry", description="停车月卡怎么办理？", channel="phone", actor="reception1")
    clock.advance(minutes=6)
    kiosk.cases.watch_once()
    expect(desk.locator("#dc-alerts .sla-overdue")).to_contain_text("C00002")
    shot(desk, "cases-desk-panel")

    board = open_page(LANDSCAPE)
    login(board, "specialist", "/cases")
    expect(board.locator('[data-col="overdue"] .cb-item')).to_have_count(1)
    expect(board.locator('[data-col="open"] .cb-item, [data-col="mine"] .cb-item')).to_have_count(1)
    shot(board, "cases-board")
    board.locator('.cb-item[data-case-id="1"] a').click()
    board.wait_for_url("**/cases/1")
    board.fill("#fb-text", "已联系施工方，承诺晚上八点后停工，并电话告知住户")
    board.select_option("#fb-method", "phone")
    board.click("#cd-feedback")
    expect(board.locator("#cd-sla")).to_have_text("已达标")
    shot(board, "cases-detail")
    board.click("#cd-close")
    expect(board.locator(".cd-title")).to_contain_text("已结案")
    assert kiosk.cases.get(1)["status"] == "closed"


def test_kiosk_files_a_complaint_with_a_slip_and_it_appears_on_the_case_board(open_page, login, kiosk, shot):
    from kiosk.devices.escpos_decode import decode

    board = open_page(LANDSCAPE)
    login(board, "specialist", "/cases")
    board.wait_for_selector('body[data-live="open"]', state="attached")

    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    page.locator("#kc-open-file").tap()
    expect(page.locator("#kc-file")).to_be_visible()
    for selector in (".kc-opt", ".kc-cat", "#kc-file .btn", "#kc-open-file"):
        boxes = [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]
        assert boxes and all(b["width"] >= 64 and b["height"] >= 64 for b in boxes if b), selector
    expect(page.locator("#kc-file-send")).to_be_disabled()
    page.locator('.kc-opt[data-type="complaint"]').tap()
    page.locator('.kc-cat[data-category="噪音"]').tap()
    page.fill("#kc-desc", "晚上十一点楼上还在装修 <script>x</script>")
    page.fill("#kc-unit", "3-2-501")
    shot(page, "cases-kiosk-file")
    page.locator("#kc-file-send").tap()
    expect(page.locator("#kc-filed")).to_be_visible()
    expect(page.locator("#kc-case-no")).to_contain_text("C00001")
    expect(page.locator("#kc-print")).to_have_attribute("data-status", "printed")
    shot(page, "cases-kiosk-filed")

    case = kiosk.cases.get(1)
    assert case["channel"] == "kiosk" and case["type"] == "complaint" and case["category"] == "噪音"
    assert case["description"] == "噪音：晚上十一点楼上还在装修 <script>x</script>" and case["unit"] == "3-2-501"
    for _ in range(100):  # the spooler marks printed jobs a moment after printing them
        job = kiosk.db.query_one("SELECT id FROM print_jobs WHERE kind = 'case_slip' AND status = 'printed'")
        if job is not None:
            break
        page.wait_for_timeout(50)
    assert job is not None
    # the slip the (preview) printer got: case number, type and deadline, and a QR of the
    # case's phone page; the stored job forgets that link once printed
    previews = kiosk.services.previews
    data = (previews.directory / f"{previews.recent(1)[0]}.bin").read_bytes()
    doc = decode(data)
    assert "C00001" in doc.text and "投诉受理回执" in doc.text and "答复期限" in doc.text
    assert len(doc.qr_payloads) == 1 and doc.cut
    assert doc.qr_payloads[0].startswith(f"{kiosk.services.queue.links.base}/c/")
    stored = json.loads(kiosk.db.scalar("SELECT payload FROM print_jobs WHERE id = ?", (job["id"],)))
    assert stored["qr_payload"] == ""

    # the specialist's board shows it live (SSE), with no reload
    item = board.locator('[data-col="open"] .cb-item[data-case-id="1"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("自助机")
    expect(item).to_contain_text("<script>x</script>")


def test_counter_tablet_offers_the_rating_when_the_ticket_is_finished(enrolled_page, lan_only, kiosk, shot):
    """The tablet is enrolled through its pairing link, and the box's own address counts for nothing."""
    from kiosk.queue.rules import Action

    tablet = enrolled_page("tablet", LANDSCAPE, touch=True)
    tablet.goto("/rate?counter=1")
    tablet.wait_for_selector('body[data-live="open"]', state="attached")
    expect(tablet.locator("#kc-rate")).to_be_hidden()
    t = kiosk.queue.issue("D").ticket
    kiosk.queue.call_next("1", "reception1")
    kiosk.queue.act(t["id"], Action.FINISH, actor="reception1")
    expect(tablet.locator("#kc-rate")).to_be_visible()
    expect(tablet.locator("#kc-rate-ticket")).to_contain_text(t["number"])
    stars = tablet.locator(".kc-star")
    assert all(stars.nth(i).bounding_box()["height"] >= 64 for i in range(stars.count()))
    tablet.fill("#kc-rate-comment", "办事很快")
    shot(tablet, "cases-rate-tablet")
    tablet.locator('.kc-star[data-score="4"]').tap()  # one tap sends it
    expect(tablet.locator("#kc-thanks")).to_be_visible()
    row = kiosk.db.query_one("SELECT * FROM surveys WHERE ticket_id = ?", (t["id"],))
    assert row["score"] == 4 and row["comment"] == "办事很快" and row["channel"] == "tablet"


def test_idle_kiosk_offers_the_questionnaire(enrolled_page, kiosk, shot):
    kiosk.config.survey.idle_prompt_s = 1
    page = enrolled_page("kiosk", KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    expect(page.locator("#kc-quest")).to_be_visible(timeout=30_000)
    expect(page.locator(".kc-q")).to_have_count(3)
    expect(page.locator("#kc-quest-send")).to_be_disabled()
    for q, score in enumerate((5, 4, 2)):
        page.locator(f'.kc-q-score[data-q="{q}"][data-score="{score}"]').tap()
    shot(page, "cases-kiosk-questionnaire")
    page.locator("#kc-quest-send").tap()
    expect(page.locator("#kc-thanks")).to_be_visible()
    import json
    assert json.loads(kiosk.db.scalar("SELECT answers FROM questionnaire_answers")) == [5, 4, 2]
