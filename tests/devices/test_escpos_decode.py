"""The ESC/POS decoder and the preview picture."""

from __future__ import annotations

import io

import numpy as np
import pytest
from escpos.printer import Dummy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from kiosk.devices.escpos_decode import Cut, Feed, Line, QrCode, decode, find_qr_payloads, render_png
from kiosk.devices.ticket_layout import TicketPrint, render_ticket

from .conftest import PAYLOAD


def test_text_styles_become_line_attributes() -> None:
    doc = decode(b"\x1b@\x1ba\x01\x1bE\x01\x1d!\x11Big\n\x1ba\x02\x1bE\x00\x1d!\x00small\n")
    assert doc.lines == [Line("Big", (2, 2), "center", True), Line("small", (1, 1), "right", False)]


def test_alignment_is_taken_at_the_start_of_a_line() -> None:
    assert decode(b"ab\x1ba\x01cd\n").lines[0].align == "left"
    assert decode(b"\x1ba1x\n").lines[0].align == "center"


def test_esc_bang_sets_double_size_bold_and_underline() -> None:
    line = decode(b"\x1b!\xb8X\n").lines[0]
    assert (line.scale, line.bold, line.underline) == ((2, 2), True, True)


def test_gs_bang_sets_width_and_height() -> None:
    assert decode(b"\x1d!\x32N\n").lines[0].scale == (4, 3)


def test_feeds_print_blank_lines() -> None:
    assert decode(b"a\x1bd\x03b\n").text == "a\n\n\nb"
    assert decode(b"\x1bd\x02").text == "\n"
    assert decode(b"a\x1bJ\x18").items == [Line("a"), Feed(24)]


def test_chinese_mode_decodes_gb18030_and_other_bytes_use_the_code_page() -> None:
    chinese = "窗口，：€𠀀".encode("gb18030")
    assert decode(b"\x1c&" + chinese + b"\x1c.\n").text == "窗口，：€𠀀"
    assert decode(b"caf\x82\n").text == "café"
    assert decode(b"\x1bt\x10caf\xe9\n").text == "café"


def test_chinese_characters_take_two_columns() -> None:
    line = decode(b"\x1c&A" + "咨".encode("gb18030") + b"\x1c.\n").lines[0]
    assert [c.columns for c in line.cells] == [1, 2]


def test_invalid_gb18030_is_replaced_without_eating_commands() -> None:
    assert decode(b"\x1c&\xb0\n\x1c.ok\n").text == "\ufffd\nok"


def test_esc_at_resets_modes_and_discards_the_buffer() -> None:
    doc = decode(b"\x1ba\x01\x1c&lost\x1b@kept\n")
    assert doc.lines == [Line("kept")]


@pytest.mark.parametrize("payload", ["A012", "窗口", "café", PAYLOAD])
def test_native_qr_payload_is_decoded(payload: str) -> None:
    p = Dummy()
    p.set(align="center")
    p.qr(payload, native=True, size=6)
    assert decode(p.output).items == [QrCode(payload, 6, "L", "center")]


@pytest.mark.parametrize("payload", ["窗口", "café", PAYLOAD])
def test_raster_qr_is_scanned_in_binary_mode(payload: str) -> None:
    p = Dummy(profile="TM-T20II")
    p.qr(payload, native=False, size=6)
    doc = decode(p.output)
    assert len(doc.images) == 1
    assert doc.qr_payloads == [payload]


def test_graphics_command_images_are_decoded() -> None:
    p = Dummy(profile="TM-T20II")
    p.qr("G-1", native=False, size=6, impl="graphics")
    assert decode(p.output).qr_payloads == ["G-1"]


def test_raster_bits_become_black_pixels() -> None:
    image = decode(b"\x1dv0\x00\x01\x00\x02\x00\x80\x01").images[0]
    assert image.size == (8, 2)
    assert image.getpixel((0, 0)) == 0 and image.getpixel((1, 0)) == 255
    assert image.getpixel((7, 1)) == 0


@pytest.mark.parametrize("command, partial", [
    (b"\x1dV\x00", False), (b"\x1dV0", False), (b"\x1dV\x01", True), (b"\x1dV1", True),
    (b"\x1dVA\x00", False), (b"\x1dVB\x10", True), (b"\x1bi", False), (b"\x1bm", True),
])
def test_cuts(command: bytes, partial: bool) -> None:
    doc = decode(b"x\n" + command + b"y\n")
    assert doc.cut
    assert doc.items == [Line("x"), Cut(partial), Line("y")]


def test_no_cut_without_a_cut_command() -> None:
    assert not decode(b"x\n\x1bd\x06").cut


def test_other_commands_are_skipped_by_their_length() -> None:
    data = (b"\x1bp\x00\x19\xfa"           # cash drawer
            b"\x1dk\x04CODE39\x00"         # barcode, NUL-terminated
            b"\x1dkI\x05HELLO"             # barcode, counted
            b"\x10\x04\x01"                # real-time status request
            b"\x1d(L\x02\x000\x32"         # print stored graphics (none stored)
            b"\x1b*\x21\x02\x00" + bytes(6) +  # column bit image
            b"\x1bD\x08\x10\x00"           # tab positions
            b"\x1b-\x01\x1dB\x01\x1bM\x01\x1b3\x40\x1b2\x1b{\x00\x1bR\x00\x1dH\x02\x1dh\x50"
            b"\x1c!\x00\x1cC\x00\x1bx"     # unknown ESC x
            b"still here\n")
    assert decode(data).text == "still here"


def test_truncated_commands_end_the_document_quietly() -> None:
    for cut_at in range(1, 20):
        decode((b"\x1d(k\x1d\x001P0" + b"x" * 40)[:cut_at])
        decode((b"\x1dv0\x00\x10\x00\x10\x00" + bytes(30))[:cut_at])
    assert decode(b"ok\n\x1d").text == "ok"


_COMMAND_PREFIXES = [b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x1d(k", b"\x1d(k\x03\x001Q0", b"\x1dv0",
                     b"\x1d(L", b"\x1d8L", b"\x1c&", b"\x1c.", b"\x1b&", b"\x1b*", b"\x1dk", b"\x1dV",
                     b"\x1bd", b"\x1d!", b"\n", b"\x1cq"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes_decode_without_raising(data: bytes) -> None:
    decode(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_COMMAND_PREFIXES), st.binary(max_size=12)), max_size=40))
def test_command_soup_decodes_and_renders_without_raising(parts: list[bytes]) -> None:
    data = b"".join(parts)
    decode(data)
    Image.open(io.BytesIO(render_png(data))).load()


def _picture(data: bytes, width_px: int = 576) -> Image.Image:
    png = render_png(data, width_px)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize("native", [True, False])
def test_rendered_ticket_has_a_scannable_qr(ticket: TicketPrint, native: bool) -> None:
    picture = _picture(render_ticket(ticket, native_qr=native))
    assert picture.width == 576
    assert find_qr_payloads(picture) == [PAYLOAD]


def test_rendered_58mm_ticket(ticket: TicketPrint) -> None:
    picture = _picture(render_ticket(ticket, profile="POS-5890"), 384)
    assert picture.width == 384
    assert find_qr_payloads(picture) == [PAYLOAD]


def test_rendered_text_is_ink_where_the_number_is(ticket: TicketPrint) -> None:
    pixels = np.asarray(_picture(render_ticket(ticket)).convert("L"))
    assert (pixels.min(axis=1) < 128).sum() > 300
    assert pixels[0, 0] == 255


def test_render_handles_empty_and_garbage_input() -> None:
    assert _picture(b"").width == 576
    assert _picture(bytes(range(256)) * 4, 384).width == 384
