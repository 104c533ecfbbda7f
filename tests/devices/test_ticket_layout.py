"""The ticket layout: exact ESC/POS bytes where they matter, the decoded text elsewhere."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import qrcode
from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode.constants import ERROR_CORRECT_M

from kiosk.devices.escpos_decode import QrCode, decode
from kiosk.devices.ticket_layout import (
    CUTS,
    FS_CHINESE_OFF,
    FS_CHINESE_ON,
    TicketPrint,
    _qr_version,
    encode_text,
    paper_width_px,
    render_slip,
    render_ticket,
    text_columns,
    wrap,
)

from .conftest import PAYLOAD


def _chinese(text: str) -> bytes:
    return FS_CHINESE_ON + text.encode("gb18030") + FS_CHINESE_OFF


def test_ticket_starts_with_init_and_wraps_chinese_in_chinese_mode(ticket: TicketPrint) -> None:
    data = render_ticket(ticket)
    assert data.startswith(b"\x1b@")
    assert _chinese("咨询") in data
    assert _chinese("示范物业服务中心") in data


def test_ticket_never_uses_python_escpos_magic_encoding(ticket: TicketPrint) -> None:
    data = render_ticket(ticket)
    assert b"\x1bt" not in data
    assert "咨询".encode("gb18030") not in data.replace(_chinese("咨询"), b"")


def test_number_is_printed_at_four_times_size_centred(ticket: TicketPrint) -> None:
    data = render_ticket(ticket)
    assert b"\x1d!\x33" in data[:data.index(b"A012")]
    line = next(line for line in decode(data).lines if line.text == "A012")
    assert (line.scale, line.align, line.bold) == ((4, 4), "center", True)


def test_sizes_are_reset_with_gs_not_esc(ticket: TicketPrint) -> None:
    data = render_ticket(dataclasses.replace(ticket, priority=False))
    assert b"\x1b!" not in data
    assert data.split(b"A012\n", 1)[1].startswith(b"\x1d!\x00")


def test_ticket_reads_chinese_first_then_english(ticket: TicketPrint) -> None:
    text = decode(render_ticket(ticket)).text
    lines = text.splitlines()
    assert lines[0] == "示范物业服务中心"
    assert lines.index("咨询") + 1 == lines.index("Inquiry") < lines.index("A012")
    assert "前面还有 3 人 / 3 ahead" in lines
    assert "预计等候 约 12 分钟 / about 12 min" in lines
    assert "取号时间：2026-11-28 09:45" in lines


def test_priority_marker_only_on_priority_tickets(ticket: TicketPrint) -> None:
    marked = decode(render_ticket(ticket))
    plain = decode(render_ticket(dataclasses.replace(ticket, priority=False)))
    assert any("优先" in line.text and line.invert for line in marked.lines)
    assert "优先" not in plain.text


@pytest.mark.parametrize("seconds, minutes", [(720, 12), (30, 1), (0, 0), (61, 2)])
def test_wait_is_rounded_up_to_minutes(ticket: TicketPrint, seconds: int, minutes: int) -> None:
    text = decode(render_ticket(dataclasses.replace(ticket, estimated_wait_s=seconds))).text
    assert f"约 {minutes} 分钟" in text


def test_native_qr_carries_the_payload(ticket: TicketPrint) -> None:
    data = render_ticket(ticket, native_qr=True)
    assert b"\x1d(k" in data and b"\x1dv0" not in data
    qr = next(item for item in decode(data).items if isinstance(item, QrCode))
    assert (qr.payload, qr.ec, qr.align) == (PAYLOAD, "M", "center")


def test_raster_qr_is_an_image_that_scans(ticket: TicketPrint) -> None:
    data = render_ticket(ticket, native_qr=False)
    assert b"\x1dv0" in data and b"\x1d(k" not in data
    assert decode(data).qr_payloads == [PAYLOAD]


@pytest.mark.parametrize("cut", ["partial", "full", "none"])
@pytest.mark.parametrize("profile", ["default", "TM-T20II", "POS-5890", "ZJ-5870"])
def test_cut_is_sent_whatever_the_profile_says(ticket: TicketPrint, cut: str, profile: str) -> None:
    data = render_ticket(ticket, profile=profile, cut=cut)
    assert data.endswith(b"\x1bd\x03" + CUTS[cut])
    assert decode(data).cut == (cut != "none")


def test_partial_and_full_cut_bytes() -> None:
    assert CUTS == {"partial": b"\x1dVB\x00", "full": b"\x1dVA\x00", "none": b""}


@pytest.mark.parametrize("profile, width", [
    ("default", 576), ("TM-T20II", 576), ("POS-5890", 384), ("TM-T88V", 512),
])
def test_every_line_fits_the_paper(ticket: TicketPrint, profile: str, width: int) -> None:
    long_name = "示范物业服务中心（东区二期业主服务大厅）" * 2
    long_site = dataclasses.replace(ticket, site_name=long_name)
    assert paper_width_px(profile) == width
    doc = decode(render_ticket(long_site, profile=profile))
    for line in doc.lines:
        assert text_columns(line.text.rstrip()) * line.scale[0] * 12 <= width
    assert "-" * (width // 12) in doc.text.splitlines()


def test_full_width_punctuation_survives(ticket: TicketPrint) -> None:
    data = render_ticket(dataclasses.replace(ticket, site_name="示范，物业：中心"))
    assert _chinese("示范，物业：中心") in data
    assert "示范，物业：中心" in decode(data).text
    assert b"???" not in data


def test_encode_text_keeps_ascii_plain_and_strips_control_characters() -> None:
    p = Dummy()
    encode_text(p, "A012 ok")
    encode_text(p, "窗口\x1b@2")
    assert p.output == b"A012 ok" + _chinese("窗口 @2")


def test_wrap_breaks_at_spaces_and_counts_chinese_double() -> None:
    assert wrap("about 12 min", 8) == ["about 12", "min"]
    assert wrap("物业服务中心", 6) == ["物业服", "务中心"]
    assert text_columns("A咨询") == 5


def test_unknown_profile_and_cut_are_rejected(ticket: TicketPrint) -> None:
    with pytest.raises(ValueError, match="profile"):
        render_ticket(ticket, profile="no-such-printer")
    with pytest.raises(ValueError, match="cut"):
        render_ticket(ticket, cut="half")


def test_slip_has_titles_lines_qr_and_cut() -> None:
    printed_at = datetime(2026, 11, 28, 10, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    data = render_slip("访客通行证", "Visitor pass", ["访客：张三", "Host: 3-1-502"], "V:abc123",
                       "示范物业服务中心", printed_at)
    doc = decode(data)
    lines = doc.text.splitlines()
    assert lines[0] == "示范物业服务中心"
    assert lines.index("访客通行证") + 1 == lines.index("Visitor pass")
    assert next(line for line in doc.lines if line.text == "访客：张三").align == "left"
    assert "打印时间：2026-11-28 10:05" in lines
    assert doc.qr_payloads == ["V:abc123"]
    assert doc.cut


def test_slip_without_qr() -> None:
    data = render_slip("报修单", "Repair slip", ["单号 R-1"], None, "示范物业服务中心",
                       datetime(2026, 11, 28, 10, 5), cut="none")
    doc = decode(data)
    assert doc.qr_payloads == [] and not doc.cut and "单号 R-1" in doc.text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789AZaz $%*+-./:#_中é٣\n"), max_size=300))
def test_cached_qr_size_is_the_size_python_qrcode_picks(payload: str) -> None:
    code = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    assert _qr_version(payload) == code.best_fit()


@given(st.text(max_size=80), st.integers(min_value=2, max_value=48))
def test_wrapped_lines_fit_and_keep_every_visible_character(text: str, columns: int) -> None:
    lines = wrap(text, columns)
    assert all(text_columns(line) <= columns for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())
