""""Printed" means paper came out (issue 14): the spooler asks the printer its status
(ESC/POS DLE EOT) around every job and counts a job printed only on a clean answer. Through
the real spooler, the HTTP API and the emulated printers of tests/peers.py (port 9100 and a
serial pty) playing each fault; when the fault clears every queued ticket prints exactly
once, oldest first, within 5 s."""

from __future__ import annotations

import time

import pytest

from kiosk.devices.escpos_decode import decode
from kiosk.events import PRINTER_STATUS
from kiosk.runtime import Kiosk
from kiosk.services.printing import MESSAGES
from kiosk.web import create_app
from tests.peers import PtyPrinter, TcpPrinterStub
from tests.phone.conftest import wait_for
from tests.web.test_admin_health import sign_in

#: The issue's bound on how soon printing resumes after the printer's return.
RESUME_S = 5.0


@pytest.fixture
def net(network_config):
    network_config.printer.wait_s = 3.0
    return network_config


@pytest.fixture
def stub(net):
    printer = TcpPrinterStub(port=net.printer.port)
    yield printer
    printer.close()


def _issue(client, service: str = "A") -> dict:
    r = client.post("/api/v1/tickets", json={"service": service})
    assert r.status_code == 201
    return r.get_json()


def _printer(client) -> dict:
    return client.get("/healthz").get_json()["devices"]["printer"]


def _refs(jobs: list[bytes]) -> list[str]:
    return [payload for job in jobs for payload in decode(job).qr_payloads]


def _printed(stub: TcpPrinterStub, refs: list[str]) -> None:
    """The stub has printed exactly `refs` (it files a job once the connection closes)."""
    wait_for(lambda: len(stub.printed) >= len(refs), timeout=5, what=f"{len(refs)} jobs printed")
    assert _refs(stub.printed) == refs


def _pending(k: Kiosk) -> int:
    return k.db.scalar("SELECT COUNT(*) FROM print_jobs WHERE status = 'pending'")


@pytest.mark.parametrize("fault, reason", [
    ("hang", "not_responding"), ("reset", "offline"), ("paper_end", "paper_out"), ("cover_open", "cover_open"),
])
def test_fault_keeps_tickets_queued_then_each_prints_once_oldest_first(net, stub, make_kiosk, fault, reason):
    k = make_kiosk(net)
    client = create_app(k.services).test_client()
    first = _issue(client)
    assert first["print"]["status"] == "printed"
    _printed(stub, [first["phone_url"]])

    stub.set_fault(fault)
    queued = [_issue(client, s) for s in "BCA"]
    assert [t["print"]["status"] for t in queued] == ["queued"] * 3
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    printer = health["devices"]["printer"]
    assert (printer["status"], printer["reason"]) == ("down", reason)
    assert printer["message"] == MESSAGES[reason] and printer["last_error"]  # plain words; raw text apart
    assert printer["pending"] == 3
    assert _refs(stub.printed) == [first["phone_url"]]  # nothing more came out
    assert k.services.printer_health().reason == reason
    wait_for(lambda: _pending(k) == 3, timeout=5, what="jobs marked pending")

    stub.set_fault(None)
    cleared = time.monotonic()
    wait_for(lambda: len(stub.printed) == 4, timeout=RESUME_S + 5, what="queued tickets printed")
    assert time.monotonic() - cleared <= RESUME_S
    time.sleep(0.5)
    assert _refs(stub.printed) == [first["phone_url"]] + [t["phone_url"] for t in queued]  # once each, in order
    assert stub.refused == []
    assert (_printer(client)["status"], _printer(client)["reason"]) == ("ok", None)
    wait_for(lambda: _pending(k) == 0, timeout=5, what="jobs marked printed")


def test_printer_away_long_is_noticed_within_seconds_of_its_return(net, make_kiosk, recorded_events):
    """However long the printer was away, printing resumes within seconds of its return."""
    k = make_kiosk(net, start_workers=False)
    recorded_events.watch(k.bus)
    k.start()
    client = create_app(k.services).test_client()
    tickets = [_issue(client, s) for s in "AB"]
    assert [t["print"]["status"] for t in tickets] == ["queued", "queued"]
    assert _printer(client)["reason"] == "offline"
    time.sleep(7)
    printer = TcpPrinterStub(port=net.printer.port)
    try:
        back = time.monotonic()
        wait_for(lambda: len(printer.printed) == 2, timeout=RESUME_S + 5, what="printed after return")
        assert time.monotonic() - back <= RESUME_S
        assert _refs(printer.printed) == [t["phone_url"] for t in tickets]
    finally:
        printer.close()
    events = recorded_events.data(PRINTER_STATUS)
    assert [(e["status"], e["reason"], e["error"]) for e in events] == [
        ("down", "offline", MESSAGES["offline"]), ("ok", None, None)]  # plain words, no address or exception


def test_paper_near_end_prints_and_warns_staff(net, stub, make_kiosk, recorded_events):
    k = make_kiosk(net, start_workers=False)
    recorded_events.watch(k.bus)
    k.start()
    client = create_app(k.services).test_client()
    assert _issue(client)["print"]["status"] == "printed"
    stub.set_fault("paper_near_end")
    ticket = _issue(client)
    assert ticket["print"]["status"] == "printed"
    wait_for(lambda: len(stub.printed) == 2, timeout=5, what="second ticket printed")
    assert _refs(stub.printed)[-1] == ticket["phone_url"]
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert (health["devices"]["printer"]["status"], health["devices"]["printer"]["reason"]) == ("degraded", "paper_low")
    stub.set_fault(None)
    assert _issue(client)["print"]["status"] == "printed"
    assert _printer(client)["status"] == "ok"
    statuses = [(e["status"], e["reason"]) for e in recorded_events.data(PRINTER_STATUS)]
    assert statuses == [("degraded", "paper_low"), ("ok", None)]


def test_status_none_keeps_the_old_rule_and_says_printing_is_unconfirmed(net, stub, make_kiosk):
    net.printer.status = "none"
    stub.set_fault("paper_end")  # takes the bytes, prints nothing: "none" cannot know
    k = make_kiosk(net)
    client = create_app(k.services).test_client()
    ticket = _issue(client)
    assert ticket["print"]["status"] == "printed"
    wait_for(lambda: stub.refused, timeout=5, what="job delivered")
    assert stub.status_queries == 0
    printer = _printer(client)
    assert (printer["status"], printer["reason"], printer["confirm"]) == ("ok", "unconfirmed", "none")
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_auto_treats_a_printer_that_never_answers_as_unconfirmed(net, stub, make_kiosk):
    stub.set_fault("no_status")
    k = make_kiosk(net)
    client = create_app(k.services).test_client()
    tickets = [_issue(client, s) for s in "AB"]
    assert [t["print"]["status"] for t in tickets] == ["printed", "printed"]
    _printed(stub, [t["phone_url"] for t in tickets])
    assert stub.status_queries == 4  # the one probe at start, nothing per job
    printer = _printer(client)
    assert (printer["status"], printer["reason"], printer["confirm"]) == ("ok", "unconfirmed", "none")


def test_dle_eot_with_a_printer_that_never_answers_keeps_tickets_queued(net, stub, make_kiosk):
    net.printer.status = "dle_eot"
    net.printer.status_timeout_s = 0.5
    stub.set_fault("no_status")
    k = make_kiosk(net)
    client = create_app(k.services).test_client()
    assert _issue(client)["print"]["status"] == "queued"
    assert (_printer(client)["status"], _printer(client)["reason"]) == ("down", "not_responding")


def test_slow_answer_within_the_timeout_is_printed(net, stub, make_kiosk):
    stub.slow_s = 0.1
    stub.set_fault("slow")
    k = make_kiosk(net)
    client = create_app(k.services).test_client()
    ticket = _issue(client)
    assert ticket["print"]["status"] == "printed"
    _printed(stub, [ticket["phone_url"]])


def test_serial_printer_over_a_pty_answers_status_the_same_way(config, make_kiosk):
    peer = PtyPrinter()
    config.printer.backend = "serial"
    config.printer.device = peer.path
    config.printer.timeout_s = 1.0
    config.printer.wait_s = 3.0
    try:
        k = make_kiosk(config)
        client = create_app(k.services).test_client()
        first = _issue(client)
        assert first["print"]["status"] == "printed"
        peer.set_fault("paper_end")
        queued = [_issue(client, s) for s in "BC"]
        assert [t["print"]["status"] for t in queued] == ["queued", "queued"]
        assert (_printer(client)["status"], _printer(client)["reason"]) == ("down", "paper_out")
        peer.set_fault("cover_open")
        wait_for(lambda: _printer(client)["reason"] == "cover_open", timeout=5, what="poll sees the cover")
        peer.set_fault(None)
        cleared = time.monotonic()
        want = [first["phone_url"]] + [t["phone_url"] for t in queued]
        wait_for(lambda: decode(bytes(peer.printed)).qr_payloads == want, timeout=RESUME_S + 5, what="printed")
        assert time.monotonic() - cleared <= RESUME_S
        time.sleep(0.3)
        assert decode(bytes(peer.printed)).qr_payloads == want and not peer.refused
        assert _printer(client)["status"] == "ok"
    finally:
        peer.close()


@pytest.mark.parametrize("fault, reason", [("paper_out", "paper_out"), ("cover_open", "cover_open"),
                                           ("not_responding", "not_responding")])
def test_preview_printer_faults_set_from_code(kiosk, client, config, fault, reason):
    assert _issue(client)["print"]["status"] == "printed"
    kiosk.printer.set_fault(fault)
    ticket = _issue(client)
    assert ticket["print"]["status"] == "queued"
    assert (_printer(client)["status"], _printer(client)["reason"]) == ("down", reason)
    kiosk.printer.set_fault(None)
    wait_for(lambda: len(list((config.data_dir / "prints").glob("*.bin"))) == 2, timeout=RESUME_S, what="print")
    jobs = sorted((config.data_dir / "prints").glob("*.bin"))
    assert decode(jobs[-1].read_bytes()).qr_payloads == [ticket["phone_url"]]


def test_admin_page_names_the_reason_and_says_when_printing_cannot_be_confirmed(kiosk, client, staff, config):
    sign_in(client, staff["manager"])
    kiosk.printer.set_fault("paper_out")
    _issue(client)
    zh = client.get("/admin/?lang=zh_CN").get_data(as_text=True)
    assert 'data-device="printer" data-status="down"' in zh and 'data-reason="paper_out"' in zh
    assert "缺纸" in zh and "Traceback" not in zh
    en = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Paper out" in en
    kiosk.printer.set_fault("paper_low")
    kiosk.spooler.retry_now()
    wait_for(lambda: kiosk.services.printer_health().reason == "paper_low", timeout=5, what="paper low")
    assert "纸将尽" in client.get("/admin/?lang=zh_CN").get_data(as_text=True)
    assert 'id="printer-unconfirmed"' not in client.get("/admin/?lang=zh_CN").get_data(as_text=True)

    config.printer.status = "none"
    kiosk.printer.set_fault(None)
    _issue(client)
    wait_for(lambda: kiosk.services.printer_health().reason == "unconfirmed", timeout=5, what="unconfirmed")
    zh = client.get("/admin/?lang=zh_CN").get_data(as_text=True)
    assert 'id="printer-unconfirmed"' in zh and "无法确认" in zh
    en = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "printing cannot be confirmed" in en
