"""Tickets printed through the spooler to a TCP printer on 127.0.0.1, a printer that is
down and comes back, the preview back-end shown on the admin page, every job kind
through the spooler, and jobs of a kind no layout prints."""

import json
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from kiosk.clock import db_time
from kiosk.devices.escpos_decode import decode
from kiosk.devices.layouts import UnknownJobKind, payload_from_dict, render
from kiosk.events import PRINTER_STATUS
from kiosk.runtime import Kiosk
from kiosk.services.printing import enqueue
from kiosk.store import print_jobs
from kiosk.web import create_app
from tests.conftest import PASSWORD
from tests.peers import TcpPrinterStub


def test_ticket_printed_to_tcp_printer_carries_number_service_and_reference(network_config, make_kiosk):
    printer = TcpPrinterStub(port=network_config.printer.port)
    try:
        k = make_kiosk(network_config)
        r = create_app(k.services).test_client().post("/api/v1/tickets", json={"service": "A"})
        ticket = r.get_json()
        assert ticket["print"]["status"] == "printed"
        data = printer.next_job()
    finally:
        printer.close()
    doc = decode(data)
    assert ticket["number"] in doc.text
    assert "咨询" in doc.text
    assert b"\x1c\x26" + "咨询".encode("gb18030") in data
    assert doc.qr_payloads == [ticket["phone_url"]]
    assert ticket["phone_url"].startswith(f"{k.services.queue.links.base}/t/")  # the QR opens its phone page
    assert doc.cut


def test_printer_down_ticket_still_issued_then_printed_when_it_listens(network_config, make_kiosk,
                                                                       recorded_events):
    k = make_kiosk(network_config, start_workers=False)
    recorded_events.watch(k.bus)
    k.start()
    client = create_app(k.services).test_client()
    first = client.post("/api/v1/tickets", json={"service": "B"})
    assert first.status_code == 201
    assert first.get_json()["print"]["status"] == "queued"
    second = client.post("/api/v1/tickets", json={"service": "A"}).get_json()
    assert second["print"]["status"] == "queued"
    printer_health = client.get("/healthz").get_json()["devices"]["printer"]
    assert (printer_health["status"], printer_health["reason"]) == ("down", "offline")
    assert printer_health["message"] and printer_health["last_error"]
    assert client.get("/healthz").get_json()["status"] == "degraded"
    assert k.db.scalar("SELECT COUNT(*) FROM tickets") == 2

    printer = TcpPrinterStub(port=network_config.printer.port)
    try:
        jobs = [decode(printer.next_job(timeout=20)), decode(printer.next_job(timeout=20))]
    finally:
        printer.close()
    printed = {doc.qr_payloads[0] for doc in jobs}
    assert printed == {first.get_json()["phone_url"], second["phone_url"]}
    statuses = [(e["status"], e["reason"]) for e in recorded_events.data(PRINTER_STATUS)]
    assert statuses[:2] == [("down", "offline"), ("ok", None)]
    assert _marked(k, 2)
    assert client.get("/healthz").get_json()["devices"]["printer"]["status"] == "ok"


def test_pending_print_survives_a_restart(network_config, make_kiosk):
    down = make_kiosk(network_config)
    ticket = down.queue.issue("C").ticket
    down.stop()
    printer = TcpPrinterStub(port=network_config.printer.port)
    try:
        make_kiosk(network_config)
        assert ticket["number"] in decode(printer.next_job(timeout=20)).text
    finally:
        printer.close()


def test_printer_failures_never_block_issue_for_long(network_config, make_kiosk):
    """Ten kiosks issuing at once against a dead printer all get their tickets."""
    k = make_kiosk(network_config)
    results = []

    def issue():
        results.append(k.queue.issue("A"))

    threads = [threading.Thread(target=issue) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.ticket["number"] for r in results) == [f"A{i:03d}" for i in range(1, 11)]
    assert {r.print_status for r in results} == {"queued"}


def _marked(k: Kiosk, n: int, timeout: float = 10.0) -> bool:
    """True once `n` jobs are marked printed (the marks thread writes them just after)."""
    for _ in range(int(timeout / 0.05)):
        if k.db.scalar("SELECT COUNT(*) FROM print_jobs WHERE status = 'printed'") == n:
            return True
        threading.Event().wait(0.05)
    return False


def test_printing_goes_on_while_another_writer_holds_the_database(kiosk, config):
    """Bookkeeping is the marks thread's: the printer thread never waits for the write lock,
    and a job printed but not yet marked is not printed again."""
    kiosk.printer.set_offline(True)
    tickets = [kiosk.queue.issue(s).ticket for s in "ABC"]
    holding, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with kiosk.db.write():
            holding.set()
            release.wait(20)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    try:
        assert holding.wait(5)
        kiosk.printer.set_offline(False)
        kiosk.spooler.retry_now()
        prints = config.data_dir / "prints"
        for _ in range(200):
            if len(list(prints.glob("*.bin"))) == 3:
                break
            threading.Event().wait(0.05)
        assert len(list(prints.glob("*.bin"))) == 3
        assert kiosk.spooler.health().details["pending"] == 0
        assert kiosk.db.scalar("SELECT COUNT(*) FROM print_jobs WHERE status = 'printed'") == 0
    finally:
        release.set()
        holder.join(10)
    assert _marked(kiosk, 3)
    threading.Event().wait(0.3)
    texts = [decode(p.read_bytes()).text for p in sorted(prints.glob("*.bin"))]
    assert len(texts) == 3 and all(t["number"] in x for t, x in zip(tickets, texts, strict=False))


def test_tickets_issued_at_once_are_each_printed_once_and_promptly(kiosk, config):
    """Eight kiosks issuing together: every request hears "printed" within 2 s (a job the
    spooler did not hear of would wait for its 5 s idle round), each ticket is printed
    once, and each sees exactly the tickets issued before it as people ahead."""
    config.printer.wait_s = 2.0
    results, errors = [], []

    def kiosk_issuing() -> None:
        try:
            for _ in range(15):
                issued = kiosk.queue.issue("A")
                results.append((issued.print_status, issued.ticket["people_ahead"], issued.ticket["number"]))
        except Exception as exc:  # noqa: BLE001 - reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=kiosk_issuing) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert [status for status, _, _ in results] == ["printed"] * 120
    assert sorted(ahead for _, ahead, _ in results) == list(range(120))
    printed = {decode(p.read_bytes()).text for p in (config.data_dir / "prints").glob("*.bin")}
    assert len(printed) == 120 and all(any(number in text for text in printed) for _, _, number in results)


def test_stopping_writes_the_marks_of_printed_jobs(config, clock):
    k = Kiosk(config, clock=clock)
    k.queue.issue("A")
    k.stop()
    again = Kiosk(config, clock=clock, start_workers=False)
    try:
        assert again.db.scalar("SELECT status FROM print_jobs") == "printed"
    finally:
        again.stop()


def test_preview_printer_writes_jobs_the_admin_page_shows(kiosk, client, staff, config):
    ticket = client.post("/api/v1/tickets", json={"service": "E"}).get_json()
    assert ticket["print"]["status"] == "printed"
    jobs = sorted((config.data_dir / "prints").glob("*.bin"))
    assert len(jobs) == 1
    assert ticket["number"] in decode(jobs[0].read_bytes()).text
    import re
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": staff["manager"], "password": PASSWORD, "csrf_token": token.group(1)})
    page = client.get("/admin/").get_data(as_text=True)
    assert f"/admin/prints/{jobs[0].stem}.png" in page
    png = client.get(f"/admin/prints/{jobs[0].stem}.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/admin/prints/..%2Fsecret_key.png").status_code == 404


def test_simulated_printer_failure_is_retried(kiosk, client):
    kiosk.printer.fail_next(1)
    r = client.post("/api/v1/tickets", json={"service": "A"}).get_json()
    assert r["print"]["status"] == "queued"
    kiosk.spooler.retry_now()
    for _ in range(100):
        if kiosk.db.scalar("SELECT status FROM print_jobs WHERE ticket_id = ?", (r["id"],)) == "printed":
            break
        threading.Event().wait(0.1)
    assert kiosk.db.scalar("SELECT status FROM print_jobs WHERE ticket_id = ?", (r["id"],)) == "printed"


def test_every_job_kind_is_printed_through_the_spooler(network_config, make_kiosk):
    """A ticket, a case slip, a visitor pass and a resident card, each the bytes its
    registered layout makes of the stored payload."""
    printer = TcpPrinterStub(port=network_config.printer.port)
    try:
        k = make_kiosk(network_config)
        k.visits.import_residents("id,name,unit,phone\nr-zhang,张女士,3-2-501,13800138000\n")
        ticket = k.queue.issue("A")
        case = k.cases.create(type="repair", description="水龙头漏水", channel="kiosk", unit="3-2-501",
                              print_slip=True)
        visit = k.visits.checkin_visitor({"name": "王五", "phone": "139 0000 1111", "unit": "5-1-202"})
        card_status = k.visits.print_card("r-zhang", 30, "boss")
        received = [printer.next_job() for _ in range(4)]
    finally:
        printer.close()
    assert [ticket.print_status, case["print"]["status"], visit["print"]["status"], card_status] == ["printed"] * 4
    assert _marked(k, 4), "all four jobs marked printed"
    stored = [json.loads(r["payload"]) for r in k.db.query("SELECT payload FROM print_jobs ORDER BY id")]
    assert [job["kind"] for job in stored] == ["ticket", "case_slip", "visitor_pass", "resident_card"]
    # a printed ticket or case slip keeps no phone-page link (a capability); the printer got it
    links = [decode(received[i]).qr_payloads[0] for i in (0, 1)]
    assert links[0] == ticket.phone_url and "/c/" in links[1]
    for job, link in zip(stored[:2], links, strict=True):
        assert job["qr_payload"] == ""
        job["qr_payload"] = link
    assert received == [render(payload_from_dict(job), network_config.printer) for job in stored]
    texts = [decode(data).text for data in received]
    assert ticket.ticket["number"] in texts[0] and "C00001" in texts[1]
    assert "访客通行证" in texts[2] and "住户签到卡" in texts[3]


@dataclass(frozen=True)
class Coupon:
    kind: ClassVar[str] = "coupon"
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "code": self.code}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Coupon":
        return cls(data["code"])


def test_enqueue_refuses_a_kind_no_layout_prints(kiosk, clock):
    with pytest.raises(UnknownJobKind, match="unknown print job kind 'coupon'"), kiosk.db.write() as conn:
        enqueue(conn, Coupon("X"), at=db_time(clock.now()))
    assert kiosk.db.scalar("SELECT COUNT(*) FROM print_jobs") == 0


def test_stored_job_of_unknown_kind_fails_clearly_and_the_next_job_prints(network_config, make_kiosk, clock):
    printer = TcpPrinterStub(port=network_config.printer.port)
    try:
        k = make_kiosk(network_config)
        with k.db.write() as conn:  # a row no layout of this version prints
            job_id = print_jobs.insert(conn, kind="coupon", payload='{"kind": "coupon", "code": "X"}',
                                       created_at=db_time(clock.now()))
        assert k.spooler.print_and_wait(job_id) == "failed"
        issued = k.queue.issue("A")
        assert issued.print_status == "printed"
        assert issued.ticket["number"] in decode(printer.next_job()).text
    finally:
        printer.close()
    assert _marked(k, 1)
    failed = k.db.query_one("SELECT status, last_error FROM print_jobs WHERE id = ?", (job_id,))
    assert failed["status"] == "failed"
    assert failed["last_error"].startswith("render: unknown print job kind 'coupon'; the kinds are ticket, ")
