"""Print-job layouts by kind: every kind's stored JSON reads back into its typed payload and
is written out again unchanged, its bytes are pinned, and an unknown kind is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk.config import PrinterConfig
from kiosk.devices.escpos_decode import decode
from kiosk.devices.layouts import LAYOUTS, UnknownJobKind, layout, payload_from_dict, render
from kiosk.devices.slips import CaseSlipPrint, ResidentCardPrint, VisitorPassPrint
from kiosk.devices.ticket_layout import TicketPrint

TZ = ZoneInfo("Asia/Shanghai")

#: Payloads exactly as the services store them (print_jobs.payload).
STORED = {
    "ticket": '{"kind": "ticket", "number": "A012", "service_zh": "咨询", "service_en": "Inquiry", '
              '"people_ahead": 3, "estimated_wait_s": 720, "issued_at": "2026-11-28T09:45:00+08:00", '
              '"site_name": "示范物业服务中心", "qr_payload": "KT1:demo-site:12:A012", "priority": true}',
    "case_slip": '{"kind": "case_slip", "case_id": 1, "type": "complaint", '
                 '"description": "噪音：晚上十一点楼上还在装修", "due_at": "2026-11-28T09:45:00+08:00", '
                 '"due_text": "2026-11-28 09:45", '
                 '"qr_payload": "KC1:demo-site:1", "site_name": "示范物业服务中心", '
                 '"printed_at": "2026-11-27T09:45:00+08:00"}',
    "visitor_pass": '{"kind": "visitor_pass", "name": "王五", "unit": "5-1-202", "purpose": "送货", "visit_id": 7, '
                    '"checked_in_at": "2026-11-27T09:45:00+08:00", "valid_until": "2026-11-27T13:45:00+08:00", '
                    '"site_name": "示范物业服务中心", "qr_payload": "KV1:demo-site:7:1764222300:abcdef0123456789"}',
    "resident_card": '{"kind": "resident_card", "name": "张女士", "unit": "3-2-501", '
                     '"printed_at": "2026-11-27T09:45:00+08:00", "site_name": "示范物业服务中心", '
                     '"qr_payload": "KR1:demo-site:r-zhang:1766800000:0123456789abcdef", '
                     '"valid_until": "2026-12-27T09:45:00+08:00"}',
}

#: (length, sha256) of the bytes of each STORED payload, 80 mm with native QR and a partial
#: cut, and 58 mm (POS-5890) with native QR and no cut: the bytes the printers got before
#: the layouts moved into this registry.
PINNED = {
    ("ticket", "80mm"): (485, "61ecf56b8abd112b3d697688ec9c6a853009cb7ab4fbe39b3140d1700f652234"),
    ("ticket", "58mm"): (472, "244a6ac8458bdc6bd2cc113cb958cfea9be95bf6a796351a21ddfb0060e64659"),
    ("case_slip", "80mm"): (504, "99af479ac60fec4ae94ee96fa2e7d1e91168bfd63fe1a8874b0dbb97efc75c41"),
    ("case_slip", "58mm"): (489, "ff161ee75876d2e7d30f4289c5c8668d1af72e23772f13bd7b922c86724cefe1"),
    ("visitor_pass", "80mm"): (563, "71c672a5b4ee5eaf704e67510404aa2a717046ec48977af1e804aabe0378efc3"),
    ("visitor_pass", "58mm"): (543, "17cd54210d07a5372d0ae0645ffc4f4d6825df028434bfaeda1ea77d9f8065cd"),
    ("resident_card", "80mm"): (548, "729499e96f49872febed28234980db6d3524ec258e5a8ca3935ec32f58ba21ea"),
    ("resident_card", "58mm"): (528, "3eeb7af900934e927a08b10c38f5b650ffd1596bae759e6eb7b11de8da6a8ff2"),
}
PRINTERS = {"80mm": PrinterConfig(profile="default", native_qr=True, cut="partial"),
            "58mm": PrinterConfig(profile="POS-5890", native_qr=True, cut="none")}


def test_every_kind_has_a_layout() -> None:
    assert set(LAYOUTS) == set(STORED)
    for kind, entry in LAYOUTS.items():
        assert entry.payload.kind == kind


@pytest.mark.parametrize("kind", STORED)
def test_stored_payload_reads_back_and_is_written_out_unchanged(kind: str) -> None:
    job = payload_from_dict(json.loads(STORED[kind]))
    assert type(job) is layout(kind).payload
    assert json.dumps(job.to_dict(), ensure_ascii=False) == STORED[kind]


@pytest.mark.parametrize(("kind", "printer"), PINNED)
def test_bytes_are_pinned(kind: str, printer: str) -> None:
    data = render(payload_from_dict(json.loads(STORED[kind])), PRINTERS[printer])
    assert (len(data), hashlib.sha256(data).hexdigest()) == PINNED[kind, printer]


def test_typed_payloads_read_the_stored_fields() -> None:
    ticket = payload_from_dict(json.loads(STORED["ticket"]))
    assert ticket == TicketPrint(number="A012", service_zh="咨询", service_en="Inquiry", people_ahead=3,
                                 estimated_wait_s=720, issued_at=datetime(2026, 11, 28, 9, 45, tzinfo=TZ),
                                 site_name="示范物业服务中心", qr_payload="KT1:demo-site:12:A012", priority=True)
    slip = payload_from_dict(json.loads(STORED["case_slip"]))
    assert isinstance(slip, CaseSlipPrint) and slip.case_number == "C00001" and slip.qr_payload == "KC1:demo-site:1"
    visitor = payload_from_dict(json.loads(STORED["visitor_pass"]))
    assert isinstance(visitor, VisitorPassPrint) and visitor.valid_until == datetime(2026, 11, 27, 13, 45, tzinfo=TZ)
    card = payload_from_dict(json.loads(STORED["resident_card"]))
    assert isinstance(card, ResidentCardPrint) and card.printed_at == datetime(2026, 11, 27, 9, 45, tzinfo=TZ)


def test_ticket_rows_without_priority_print_as_plain_tickets() -> None:
    stored = json.loads(STORED["ticket"])
    del stored["priority"]
    plain = decode(render(payload_from_dict(stored), PRINTERS["80mm"])).text
    assert "A012" in plain and "PRIORITY" not in plain


def test_case_slip_shows_number_type_and_the_start_of_a_long_description() -> None:
    stored = json.loads(STORED["case_slip"]) | {"case_id": 12, "type": "repair", "description": "漏" * 61}
    text = decode(render(payload_from_dict(stored), PRINTERS["80mm"])).text
    assert "编号 No.: C00012" in text and "报修受理回执" in text and "Repair receipt" in text
    assert "漏" * 60 + "…" in text.replace("\n", "")
    unknown = decode(render(payload_from_dict(stored | {"type": "parking"}), PRINTERS["80mm"])).text
    assert "事项受理回执" in unknown and "Case receipt" in unknown


@pytest.mark.parametrize("purpose", ["", None])
def test_visitor_pass_without_purpose_has_no_purpose_line(purpose: str | None) -> None:
    stored = json.loads(STORED["visitor_pass"]) | {"purpose": purpose}
    doc = decode(render(payload_from_dict(stored), PRINTERS["80mm"]))
    assert "Purpose" not in doc.text and "访客 Visitor：王五" in doc.text
    assert doc.qr_payloads == ["KV1:demo-site:7:1764222300:abcdef0123456789"]


@pytest.mark.parametrize("stored", [{"kind": "coupon", "code": "X"}, {"code": "X"}, {"kind": None}])
def test_unknown_kind_is_refused_naming_it_and_the_known_kinds(stored: dict) -> None:
    with pytest.raises(UnknownJobKind, match=r"unknown print job kind .*; the kinds are ticket, case_slip, "
                                             r"visitor_pass, resident_card") as refused:
        payload_from_dict(stored)
    assert refused.value.kind == stored.get("kind")
    with pytest.raises(UnknownJobKind, match="'coupon'"):
        layout("coupon")
