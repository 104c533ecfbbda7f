"""The slips the ticket printer prints besides queue tickets: the case receipt, the visitor
pass and the resident check-in card. Pure: no I/O, no clock.

Each slip is a frozen dataclass holding what the services store as the print job's JSON
payload (`to_dict` writes it, `from_dict` reads it back, for rows written by any version
of the service) and a layout rendering it with `ticket_layout.render_slip`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from kiosk.config import PrinterConfig
from kiosk.devices.ticket_layout import render_slip
from kiosk.names import CASE_TYPE_NAMES, case_number

#: An unknown case type prints as a plain case.
_UNKNOWN_CASE_TYPE = ("事项", "Case")
#: How much of the description the receipt shows.
CASE_DESCRIPTION_CHARS = 60


@dataclass(frozen=True)
class CaseSlipPrint:
    """The receipt of a case filed at the touchscreen. `due_at` is the deadline as the API
    shows it and `due_text` the same deadline as printed; `printed_at` is site-local time."""

    kind: ClassVar[str] = "case_slip"

    case_id: int
    type: str
    description: str
    due_at: str
    due_text: str
    qr_payload: str | None
    site_name: str
    printed_at: datetime

    @property
    def case_number(self) -> str:
        """The number printed on the receipt; the case's stored reference is `case_id`."""
        return case_number(self.case_id)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "case_slip", "case_id": self.case_id, "type": self.type, "description": self.description,
                "due_at": self.due_at, "due_text": self.due_text, "qr_payload": self.qr_payload,
                "site_name": self.site_name, "printed_at": self.printed_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseSlipPrint:
        return cls(case_id=data["case_id"], type=data["type"], description=data.get("description", ""),
                   due_at=data["due_at"], due_text=data["due_text"], qr_payload=data.get("qr_payload"),
                   site_name=data["site_name"], printed_at=datetime.fromisoformat(data["printed_at"]))


@dataclass(frozen=True)
class VisitorPassPrint:
    """A registered visitor's pass; its QR checks the visitor out. Times are site-local."""

    kind: ClassVar[str] = "visitor_pass"

    name: str
    unit: str
    purpose: str | None
    visit_id: int
    checked_in_at: datetime
    valid_until: datetime
    site_name: str
    qr_payload: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "visitor_pass", "name": self.name, "unit": self.unit, "purpose": self.purpose,
                "visit_id": self.visit_id, "checked_in_at": self.checked_in_at.isoformat(),
                "valid_until": self.valid_until.isoformat(), "site_name": self.site_name,
                "qr_payload": self.qr_payload}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VisitorPassPrint:
        return cls(name=data["name"], unit=data["unit"], purpose=data.get("purpose"), visit_id=data["visit_id"],
                   checked_in_at=datetime.fromisoformat(data.get("printed_at") or data["checked_in_at"]),
                   valid_until=datetime.fromisoformat(data["valid_until"]), site_name=data["site_name"],
                   qr_payload=data["qr_payload"])


@dataclass(frozen=True)
class ResidentCardPrint:
    """A resident's QR check-in card, minted by staff. Times are site-local."""

    kind: ClassVar[str] = "resident_card"

    name: str
    unit: str
    printed_at: datetime
    site_name: str
    qr_payload: str
    valid_until: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "resident_card", "name": self.name, "unit": self.unit,
                "printed_at": self.printed_at.isoformat(), "site_name": self.site_name,
                "qr_payload": self.qr_payload, "valid_until": self.valid_until.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResidentCardPrint:
        return cls(name=data["name"], unit=data["unit"],
                   printed_at=datetime.fromisoformat(data.get("printed_at") or data["checked_in_at"]),
                   site_name=data["site_name"], qr_payload=data["qr_payload"],
                   valid_until=datetime.fromisoformat(data["valid_until"]))


def render_case_slip(slip: CaseSlipPrint, cfg: PrinterConfig) -> bytes:
    zh, en = CASE_TYPE_NAMES.get(slip.type, _UNKNOWN_CASE_TYPE)
    desc = slip.description
    more = "…" if len(desc) > CASE_DESCRIPTION_CHARS else ""
    lines = [
        f"编号 No.: {slip.case_number}",
        f"类型 Type: {zh} {en}",
        f"内容：{desc[:CASE_DESCRIPTION_CHARS]}{more}",
        f"答复期限 Reply by: {slip.due_text}",
        "我们将在期限内联系您。",
        "We will contact you by then.",
    ]
    return render_slip(f"{zh}受理回执", f"{en} receipt", lines, slip.qr_payload, slip.site_name, slip.printed_at,
                       profile=cfg.profile, native_qr=cfg.native_qr, cut=cfg.cut)


def render_visitor_pass(visitor: VisitorPassPrint, cfg: PrinterConfig) -> bytes:
    lines = [f"访客 Visitor：{visitor.name}", f"拜访 Host unit：{visitor.unit}"]
    if visitor.purpose:
        lines.append(f"事由 Purpose：{visitor.purpose}")
    lines += [f"登记 In：{visitor.checked_in_at:%Y-%m-%d %H:%M}",
              f"有效期至 Valid until：{visitor.valid_until:%m-%d %H:%M}",
              "离开时请在自助机扫描此码", "Scan this code at the kiosk when you leave."]
    return render_slip("访客通行证", "Visitor pass", lines, visitor.qr_payload, visitor.site_name,
                       visitor.checked_in_at, profile=cfg.profile, native_qr=cfg.native_qr, cut=cfg.cut)


def render_resident_card(card: ResidentCardPrint, cfg: PrinterConfig) -> bytes:
    lines = [f"住户 Resident：{card.name}", f"房号 Unit：{card.unit}",
             f"有效期至 Valid until：{card.valid_until:%Y-%m-%d}", "到访时请将此码对准自助机摄像头",
             "Hold this code up to the kiosk camera.", "请妥善保管，遗失请告知前台。"]
    return render_slip("住户签到卡", "Resident check-in card", lines, card.qr_payload, card.site_name, card.printed_at,
                       profile=cfg.profile, native_qr=cfg.native_qr, cut=cfg.cut)
