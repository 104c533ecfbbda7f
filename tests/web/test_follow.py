"""The residents' phone pages through the real HTTP path: the printed ticket's QR code (decoded
from the ESC/POS bytes the printer received, and read back by zbar from the rendered
receipt) opens the ticket's page; unknown or altered capabilities answer 404 with nothing;
no name, phone, unit or other ticket leaks; the case page shows only its case and takes
one rating after closing; a paperless ticket makes no print job; scanners recognise the
links and the old KT1/KC1 codes."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from kiosk import capability
from kiosk.config import Config, ConfigError, from_dict
from kiosk.devices.escpos_decode import decode, render_image
from kiosk.devices.qr_decode import find_qr_payloads
from kiosk.services.links import PublicLinks
from kiosk.web import create_app
from tests.conftest import bearer
from tests.peers import TcpPrinterStub
from tests.phone.conftest import wait_for

PUBLIC = "http://kiosk.example.lan:8080"
#: Personal data seeded into the resident, the visit and the cases: none may reach a phone page.
MARKERS = ("MARKER-NAME-张", "MARKER-UNIT-9-9", "13912345678", "MARKER-DESC", "MARKER-NOTE")
RESIDENTS_CSV = f"id,name,unit,phone,id_number\nr-mark,{MARKERS[0]},{MARKERS[1]},{MARKERS[2]},\n"


@pytest.fixture
def public(config: Config) -> Config:
    config.site.public_url = PUBLIC
    return config


def cap_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def path_of(url: str) -> str:
    return urlsplit(url).path


def issue(client, service: str = "A", **extra) -> dict:
    r = client.post("/api/v1/tickets", json={"service": service, **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def no_personal_data(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text


# -- the printed ticket -------------------------------------------------------------------

@pytest.mark.parametrize(("profile", "native_qr"), [("default", True), ("default", False), ("POS-5890", True)])
def test_printed_qr_is_a_link_under_public_url_that_opens_the_ticket_page(network_config, make_kiosk, profile,
                                                                          native_qr):
    network_config.site.public_url = PUBLIC
    network_config.printer.profile = profile
    network_config.printer.native_qr = native_qr
    printer = TcpPrinterStub(port=network_config.printer.port)
    try:
        k = make_kiosk(network_config)
        client = create_app(k.services, TESTING=True).test_client()
        ticket = issue(client)
        assert ticket["print"]["status"] == "printed"
        data = printer.next_job()
    finally:
        printer.close()
    doc = decode(data)
    assert ticket["number"] in doc.text
    [url] = doc.qr_payloads
    assert url == ticket["phone_url"]
    assert url.startswith(f"{PUBLIC}/t/") and capability.is_capability(cap_of(url))
    # the receipt drawn at the paper's dots (576 for 80 mm, 384 for 58 mm) still scans
    width = 384 if profile == "POS-5890" else 576
    assert find_qr_payloads(render_image(doc, width)) == [url]
    page = client.get(path_of(url))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ticket["number"] in html and "咨询" in html
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"


def test_ticket_api_answers_queue_facts_only(public, client, kiosk, tokens):
    first = issue(client)
    mine = issue(client)
    facts = client.get(f"/api/v1/t/{cap_of(mine['phone_url'])}").get_json()
    assert facts["number"] == mine["number"] and facts["people_ahead"] == 1 and facts["position"] == 2
    assert set(facts) == {"number", "service", "service_name_zh", "service_name_en", "status", "counter", "priority",
                          "position", "people_ahead", "estimated_wait_s", "day", "issued_at", "called_at",
                          "finished_at"}
    client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["receptionist"]))
    facts = client.get(f"/api/v1/t/{cap_of(mine['phone_url'])}").get_json()
    assert facts["people_ahead"] == 0 and facts["position"] == 1
    assert first["number"] not in json.dumps(facts)
    # the capability is told only to whoever took the ticket: never in the ticket's public answer
    public_ticket = client.get(f"/api/v1/tickets/{mine['id']}").get_json()
    assert "phone_url" not in public_ticket and cap_of(mine["phone_url"]) not in json.dumps(public_ticket)
    assert cap_of(mine["phone_url"]) not in json.dumps([e.data for e in kiosk.bus._history])


def test_only_the_digest_is_stored(public, client, kiosk):
    ticket = issue(client)
    cap = cap_of(ticket["phone_url"])
    rows = kiosk.db.query("SELECT digest, ticket_id FROM ticket_capabilities")
    assert rows == [{"digest": capability.digest(cap), "ticket_id": ticket["id"]}]
    with open(kiosk.db.path, "rb") as fh:
        assert cap.encode() not in fh.read()


def test_guessed_or_altered_capability_is_404_with_no_data(public, client, kiosk):
    ticket = issue(client)
    case = client.post("/api/v1/cases", json={"type": "complaint", "description": "MARKER-DESC x",
                                              "channel": "kiosk", "print": True}).get_json()
    cap = cap_of(ticket["phone_url"])
    flipped = cap[:5] + ("A" if cap[5] != "A" else "B") + cap[6:]
    case_cap = cap_of(_slip_link(kiosk))
    guesses = [flipped, cap[:-1], cap + "A", capability.new(), str(ticket["id"]), ticket["number"],
               "KT1:demo-site:1:A001", "%00" * 8, "A" * 22, "../" + cap]
    for guess in guesses:
        for path in (f"/t/{guess}", f"/api/v1/t/{guess}", f"/c/{guess}", f"/api/v1/c/{guess}"):
            r = client.get(path)
            assert r.status_code == 404, path
            body = r.get_data(as_text=True)
            assert ticket["number"] not in body and "C0000" not in body and "MARKER" not in body, path
        r = client.post(f"/api/v1/c/{guess}/rating", json={"score": 5})
        assert r.status_code == 404
    # a ticket's capability opens no case and a case's no ticket
    assert client.get(f"/c/{cap}").status_code == 404 and client.get(f"/api/v1/c/{cap}").status_code == 404
    assert client.get(f"/t/{case_cap}").status_code == 404 and client.get(f"/api/v1/t/{case_cap}").status_code == 404
    assert client.get(f"/c/{case_cap}").status_code == 200 and case["id"] == 1


def test_pages_show_no_name_phone_unit_or_other_ticket(public, client, kiosk, tokens):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    card = kiosk.visits.issue_card("r-mark", 30)
    checked_in = client.post("/api/v1/checkins", json={"method": "qr", "payload": card})
    assert checked_in.status_code == 201, checked_in.get_json()
    other = issue(client, resident_token=card)
    mine = issue(client, resident_token=card, checkin_token=checked_in.get_json()["checkin_token"])
    later = issue(client)
    for path in (path_of(mine["phone_url"]), f"/api/v1/t/{cap_of(mine['phone_url'])}",
                 path_of(mine["phone_url"]) + "?lang=en"):
        text = client.get(path).get_data(as_text=True)
        no_personal_data(text)
        assert "r-mark" not in text and "resident" not in text and "visit" not in text
        assert other["number"] not in text and later["number"] not in text
        assert f'"{mine["id"]}"' not in text and "KT1:" not in text


# -- paperless ---------------------------------------------------------------------------

def test_paperless_ticket_makes_no_print_job(network_config, make_kiosk):
    network_config.site.public_url = PUBLIC
    printer = TcpPrinterStub(port=network_config.printer.port)
    try:
        k = make_kiosk(network_config)
        client = create_app(k.services, TESTING=True).test_client()
        ticket = issue(client, paperless=True)
        assert ticket["print"] == {"status": "paperless"}
        assert ticket["phone_url"].startswith(f"{PUBLIC}/t/")
        assert k.db.scalar("SELECT COUNT(*) FROM print_jobs") == 0
        printed = issue(client)  # the next, printed ticket is the first thing the printer gets
        assert printed["print"]["status"] == "printed"
        assert decode(printer.next_job()).qr_payloads == [printed["phone_url"]]
        assert k.db.scalar("SELECT COUNT(*) FROM print_jobs") == 1
        assert client.get(path_of(ticket["phone_url"])).status_code == 200
    finally:
        printer.close()
    assert len(printer.printed) == 1


# -- the case page -----------------------------------------------------------------------

def _slip_link(kiosk) -> str:
    previews = kiosk.services.previews
    [link] = decode((previews.directory / f"{previews.recent(1)[0]}.bin").read_bytes()).qr_payloads
    return link


def test_case_page_shows_only_its_case_and_takes_one_rating_after_closing(public, client, kiosk, tokens, staff):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    other = client.post("/api/v1/cases", json={"type": "repair", "description": "MARKER-DESC other",
                                               "channel": "kiosk", "print": True}).get_json()
    other_link = _slip_link(kiosk)
    case = client.post("/api/v1/cases", json={"type": "complaint", "description": "MARKER-DESC mine",
                                              "channel": "kiosk", "print": True, "unit": MARKERS[1],
                                              "contact_name": MARKERS[0], "contact_phone": MARKERS[2]}).get_json()
    assert case["print"]["status"] == "printed"
    link = _slip_link(kiosk)
    assert link.startswith(f"{PUBLIC}/c/") and link != other_link
    cap = cap_of(link)

    page = client.get(path_of(link)).get_data(as_text=True)
    assert "C00002" in page and "C00001" not in page and "已受理，等待处理" in page
    no_personal_data(page)
    r = client.post(f"/api/v1/c/{cap}/rating", json={"score": 5})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "not_closed")

    def act(action: str, **body):
        r = client.post(f"/api/v1/cases/{case['id']}/{action}", json=body, headers=bearer(tokens["specialist"]))
        assert r.status_code == 200, r.get_json()

    act("start")
    act("note", text="MARKER-NOTE internal")
    act("answer", text="我们已联系物业维修")
    act("feedback", text="灯已修好", method="phone")
    act("close")
    facts = client.get(f"/api/v1/c/{cap}").get_json()
    assert facts["status"] == "closed" and facts["can_rate"] and facts["rating"] is None
    assert facts["first_answer"] == "我们已联系物业维修" and facts["feedback_text"] == "灯已修好"
    assert [h["action"] for h in facts["history"]] == ["create", "start", "answer", "feedback", "close"]
    page = client.get(path_of(link)).get_data(as_text=True)
    assert "我们已联系物业维修" in page and "灯已修好" in page and "已结案" in page and 'id="c-rate-form"' in page
    no_personal_data(page + json.dumps(facts))
    assert "specialist1" not in page and "test-specialist" not in page

    r = client.post(f"/api/v1/c/{cap}/rating", json={"score": 4, "comment": "很好"})
    assert r.status_code == 201 and r.get_json()["score"] == 4
    again = client.post(f"/api/v1/c/{cap}/rating", json={"score": 1})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_answered")
    assert kiosk.db.query("SELECT case_id, score, channel FROM surveys") == [
        {"case_id": case["id"], "score": 4, "channel": "phone"}]
    assert client.get(f"/api/v1/c/{cap}").get_json()["rating"] == {"score": 4}
    assert "4 分" in client.get(path_of(link)).get_data(as_text=True)
    # the other case is untouched and can still be rated only through its own slip
    assert client.get(f"/api/v1/c/{cap_of(other_link)}").get_json()["number"] == "C00001"
    assert other["id"] == 1
    for bad in ({"score": 0}, {"score": 6}, {"score": "5"}, {"score": 5, "case_id": 1}, {}):
        assert client.post(f"/api/v1/c/{cap_of(other_link)}/rating", json=bad).status_code == 400


def test_printed_case_slip_link_is_forgotten_once_printed(public, client, kiosk):
    client.post("/api/v1/cases", json={"type": "complaint", "description": "x", "channel": "kiosk", "print": True})
    link = _slip_link(kiosk)
    wait_for(lambda: kiosk.db.scalar("SELECT status FROM print_jobs WHERE kind = 'case_slip'") == "printed",
             what="the spooler marked the slip printed")
    payload = json.loads(kiosk.db.scalar("SELECT payload FROM print_jobs WHERE kind = 'case_slip'"))
    assert payload["qr_payload"] == "" and cap_of(link) not in json.dumps(payload)


# -- scanners ----------------------------------------------------------------------------

def test_scanners_recognise_ticket_links_and_old_codes(public, client, kiosk, clock):
    ticket = issue(client)
    for code in (ticket["phone_url"], kiosk.queue.ticket_reference(ticket),
                 f"http://10.0.0.9:8080/t/{cap_of(ticket['phone_url'])}"):
        r = client.post("/api/v1/scans", json={"payload": code})
        body = r.get_json()
        assert body["ok"] and body["kind"] == "ticket", code
        assert body["ticket"] == {"id": ticket["id"], "number": ticket["number"], "service": "A",
                                  "status": "waiting"}
    cap = cap_of(ticket["phone_url"])
    for code in (f"{PUBLIC}/t/{capability.new()}", f"KT1:demo-site:{ticket['id']}:B999", "KT1:other-site:1:A001"):
        body = client.post("/api/v1/scans", json={"payload": code}).get_json()
        assert (body["ok"], body["error"]["code"]) == (False, "unknown_ticket"), code
    client.post("/api/v1/cases", json={"type": "complaint", "description": "x", "channel": "kiosk", "print": True})
    for code in (_slip_link(kiosk), "KC1:demo-site:1"):
        body = client.post("/api/v1/scans", json={"payload": code}).get_json()
        assert (body["kind"], body["ok"], body["error"]["code"]) == ("case", False, "case_code")
        assert "MARKER" not in json.dumps(body)
    # printed before midnight: the codes stop working with the ticket
    clock.advance(days=1)
    for code in (ticket["phone_url"], kiosk.queue.ticket_reference(ticket)):
        body = client.post("/api/v1/scans", json={"payload": code}).get_json()
        assert (body["ok"], body["error"]["code"], body["ticket"]["status"]) == (False, "ticket_expired", "expired")
    assert client.get(f"/api/v1/t/{cap}").get_json()["status"] == "expired"
    clock.advance(days=-1)


# -- where the links point -----------------------------------------------------------------

def test_public_url_default_is_the_lan_address_and_port(config):
    config.server.host = "0.0.0.0"
    config.server.port = 8123
    base = PublicLinks(config).base
    assert re.fullmatch(r"http://[0-9.]+:8123", base)
    config.server.host = "192.168.7.20"
    assert PublicLinks(config).base == "http://192.168.7.20:8123"
    config.site.public_url = "https://queue.example.cn/"
    assert PublicLinks(config).ticket("x" * 22) == "https://queue.example.cn/t/" + "x" * 22
    for bad in ("ftp://x", "queue.example.cn", "http://x/?a=1", "http://a b"):
        with pytest.raises(ConfigError, match="site.public_url"):
            from_dict({"site": {"public_url": bad}})


def test_capability_links_parse_only_whole_links():
    cap = capability.new()
    assert len(cap) == 22 and capability.is_capability(cap)
    assert capability.from_link(f"http://h:1/t/{cap}") == ("t", cap)
    assert capability.from_link(f"https://h/base/c/{cap}/") == ("c", cap)
    for bad in (f"http://h/t/{cap}?x=1", f"http://h/t/{cap}x", f"t/{cap}", f"http://h/x/{cap}", "KT1:a:1:A001"):
        assert capability.from_link(bad) is None, bad


def test_case_ratings_by_capability_are_rate_limited_per_address(kiosk):
    """Anyone holding a slip may rate its case, so the write is counted per address like
    the kiosk's ratings: past the burst it answers 429 with Retry-After."""
    client = create_app(kiosk.services, TESTING=True).test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.50"  # a phone on the guest Wi-Fi, not a kiosk
    answers = [client.post(f"/api/v1/c/{'A' * 22}/rating", json={"score": 5}).status_code for _ in range(11)]
    assert answers[:10] == [404] * 10 and answers[10] == 429
