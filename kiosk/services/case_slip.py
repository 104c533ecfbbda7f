"""The slip printed for a case filed at the touchscreen: case number, type, deadline, a QR
of the case reference. Rendered from the stored print job's payload by Kiosk.render_job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiosk.cases.rules import TYPE_NAMES, case_number
from kiosk.devices.ticket_layout import render_slip


def render_case_slip(payload: dict[str, Any], printer_cfg: Any) -> bytes:
    zh, en = TYPE_NAMES.get(payload["type"], ("事项", "Case"))
    desc = payload.get("description", "")
    lines = [
        f"编号 No.: {case_number(payload['case_id'])}",
        f"类型 Type: {zh} {en}",
        f"内容：{desc[:60]}{'…' if len(desc) > 60 else ''}",
        f"答复期限 Reply by: {payload['due_text']}",
        "我们将在期限内联系您。",
        "We will contact you by then.",
    ]
    return render_slip(f"{zh}受理回执", f"{en} receipt", lines, payload.get("qr_payload"), payload["site_name"],
                       datetime.fromisoformat(payload["printed_at"]), profile=printer_cfg.profile,
                       native_qr=printer_cfg.native_qr, cut=printer_cfg.cut)
