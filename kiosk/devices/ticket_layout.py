"""Queue tickets and other slips as ESC/POS bytes. Pure: no I/O, no clock.

Standard commands (init, alignment, emphasis, size, QR, feed) come from python-escpos'
`Dummy` printer; text and the cut are written with `_raw` because python-escpos gets
both wrong for Chinese printers (see HARDWARE-NOTES.md "python-escpos"):

* its "magic encode" sends CJK as bare GB18030 without switching the printer to
  Chinese mode, and turns full-width punctuation into `???`, so every non-ASCII run is
  encoded here and wrapped in `FS &` ... `FS .`;
* `set(normal_textsize=True)` resets the size with `ESC !` only, which many Chinese
  printers ignore for Chinese characters, so every size is set with `GS !`;
* `cut()` sends nothing for profiles without a cutter (the 58 mm ones), so the cut is
  emitted from the `cut` argument alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar, Literal

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.escpos import Escpos
from escpos.image import EscposImage
from escpos.printer import Dummy
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, MODE_NUMBER, QRData, optimal_data_chunks

FS_CHINESE_ON = b"\x1c\x26"
FS_CHINESE_OFF = b"\x1c\x2e"
CUTS = {"partial": b"\x1dV\x42\x00", "full": b"\x1dV\x41\x00", "none": b""}
DEFAULT_PAPER_PX = 576
HALF_WIDTH_DOTS = 12

_Size = tuple[int, int]
_CONTROL_TO_SPACE = dict.fromkeys((*range(32), 127), " ")
#: A stand-in byte for each QR mode: the version depends on the modes and lengths only.
_QR_OPTIMIZE = 20  # `QRCode.add_data`'s default: mode runs shorter than this stay bytes
_QR_FILLER = {MODE_NUMBER: b"0", MODE_ALPHA_NUM: b"A", MODE_8BIT_BYTE: b"x"}


@dataclass(frozen=True)
class TicketPrint:
    """What a queue ticket shows. `issued_at` is printed as given: pass site-local time."""

    kind: ClassVar[str] = "ticket"

    number: str
    service_zh: str
    service_en: str
    people_ahead: int
    estimated_wait_s: int
    issued_at: datetime
    site_name: str
    qr_payload: str
    priority: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored as the print job's payload (the key order is the stored one)."""
        return {"kind": "ticket", "number": self.number, "service_zh": self.service_zh,
                "service_en": self.service_en, "people_ahead": self.people_ahead,
                "estimated_wait_s": self.estimated_wait_s, "issued_at": self.issued_at.isoformat(),
                "site_name": self.site_name, "qr_payload": self.qr_payload, "priority": self.priority}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TicketPrint:
        return cls(number=data["number"], service_zh=data["service_zh"], service_en=data["service_en"],
                   people_ahead=data["people_ahead"], estimated_wait_s=data["estimated_wait_s"],
                   issued_at=datetime.fromisoformat(data["issued_at"]), site_name=data["site_name"],
                   qr_payload=data["qr_payload"], priority=data.get("priority", False))


@lru_cache(maxsize=16)
def paper_width_px(profile: str = "default") -> int:
    """Printable width in dots: the profile's, else 576 (80 mm paper at 203 dpi)."""
    pixels = _dummy(profile).profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    return pixels if isinstance(pixels, int) and pixels > 0 else DEFAULT_PAPER_PX


def text_columns(text: str) -> int:
    """Columns `text` takes on the printer: 1 per ASCII character, 2 per GB18030 multi-byte one."""
    return 2 * len(text) - len(text.encode("ascii", "ignore"))


def wrap(text: str, columns: int) -> list[str]:
    """Split `text` into printer lines of at most `columns`, preferring to break at spaces."""
    columns = max(columns, 2)
    if "\n" not in text and text_columns(text) <= columns:
        return [text]
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for ch in paragraph:
            width = 1 if ord(ch) < 0x80 else 2
            if used + width <= columns:
                line += ch
                used += width
                continue
            head, sep, tail = line.rpartition(" ")
            if sep and head.strip() and ch != " ":
                lines.append(head.rstrip())
                line = tail + ch
            else:
                lines.append(line.rstrip())
                line = "" if ch == " " else ch
            used = text_columns(line)
        lines.append(line)
    return lines


def encode_text(p: Escpos, text: str) -> None:
    """Write `text` without a line feed: ASCII as is, anything else as GB18030 in Chinese mode.

    Control characters are replaced by spaces so configured text (a site name, a
    resident's name) can never smuggle printer commands into a ticket.
    """
    clean = text.translate(_CONTROL_TO_SPACE)
    if clean.isascii():
        p._raw(clean.encode("ascii"))
    else:
        p._raw(FS_CHINESE_ON + clean.encode("gb18030", errors="replace") + FS_CHINESE_OFF)


def render_ticket(t: TicketPrint, *, profile: str = "default", native_qr: bool = True,
                  cut: str = "partial") -> bytes:
    """The ESC/POS bytes of one queue ticket, ending with `cut` (partial, full or none)."""
    p, cols = _start(profile)
    _header(p, cols, t.site_name)
    _text(p, t.service_zh, cols, size=(2, 2), bold=True)
    _text(p, t.service_en, cols)
    _text(p, t.number, cols, size=(4, 4), bold=True)
    if t.priority:
        _text(p, " 优先 PRIORITY ", cols, size=(1, 2), bold=True, invert=True)
    p.print_and_feed(1)
    minutes = max(0, math.ceil(t.estimated_wait_s / 60))
    _bilingual(p, cols, f"前面还有 {t.people_ahead} 人", f"{t.people_ahead} ahead")
    _bilingual(p, cols, f"预计等候 约 {minutes} 分钟", f"about {minutes} min")
    _text(p, f"取号时间：{t.issued_at:%Y-%m-%d %H:%M}", cols)
    _qr(p, t.qr_payload, native=native_qr, paper_px=paper_width_px(profile))
    if t.qr_payload.startswith(("http://", "https://")):  # the ticket's phone page
        _bilingual(p, cols, "手机扫码，查看排队进度", "Scan to follow your turn")
    _bilingual(p, cols, "请留意叫号，感谢您的耐心等候",
               "Please listen for your number. Thank you!")
    return _finish(p, cut)


def render_slip(title_zh: str, title_en: str, lines: list[str], qr_payload: str | None,
                site_name: str, printed_at: datetime, *, profile: str = "default",
                native_qr: bool = True, cut: str = "partial") -> bytes:
    """A generic slip (visitor pass, case receipt): titles, left-aligned lines, optional QR."""
    p, cols = _start(profile)
    _header(p, cols, site_name)
    _text(p, title_zh, cols, size=(2, 2), bold=True)
    _text(p, title_en, cols)
    p.print_and_feed(1)
    for line in lines:
        _text(p, line, cols, align="left")
    if qr_payload:
        _qr(p, qr_payload, native=native_qr, paper_px=paper_width_px(profile))
    else:
        p.print_and_feed(1)
    _text(p, f"打印时间：{printed_at:%Y-%m-%d %H:%M}", cols)
    return _finish(p, cut)


def _dummy(profile: str) -> Dummy:
    try:
        return Dummy(profile=profile)
    except KeyError:
        raise ValueError(f"unknown python-escpos printer profile {profile!r}") from None


def _start(profile: str) -> tuple[Dummy, int]:
    p = _dummy(profile)
    p.hw("INIT")
    return p, paper_width_px(profile) // HALF_WIDTH_DOTS


def _finish(p: Dummy, cut: str) -> bytes:
    if cut not in CUTS:
        raise ValueError(f"cut must be one of {', '.join(CUTS)}, not {cut!r}")
    p.print_and_feed(3)
    p._raw(CUTS[cut])
    output: bytes = p.output  # python-escpos ships no types
    return output


def _header(p: Escpos, cols: int, site_name: str) -> None:
    _text(p, site_name, cols, bold=True)
    _text(p, "-" * cols, cols)


def _text(p: Escpos, text: str, cols: int, *, size: _Size = (1, 1), bold: bool = False,
          invert: bool = False, align: str = "center") -> None:
    p._raw(_text_bytes(text, cols, size, bold, invert, align))


@lru_cache(maxsize=512)
def _text_bytes(text: str, cols: int, size: _Size, bold: bool, invert: bool, align: str) -> bytes:
    """A block of text with its style commands. Most of a ticket's lines repeat from one
    ticket to the next (site, service, footer, "3 ahead"), so they are made once; the
    commands used here do not depend on the printer profile."""
    p = Dummy()
    p.set(align=align, bold=bold, invert=invert or None, custom_size=True, width=size[0], height=size[1])
    for line in wrap(text, cols // size[0]):
        encode_text(p, line)
        p._raw(b"\n")
    if size != (1, 1) or invert:
        p.set(invert=False if invert else None, custom_size=True, width=1, height=1)
    output: bytes = p.output  # python-escpos ships no types
    return output


def _bilingual(p: Escpos, cols: int, zh: str, en: str) -> None:
    """One line `zh / en` when it fits, else Chinese above English."""
    both = f"{zh} / {en}"
    if text_columns(both) <= cols:
        _text(p, both, cols)
    else:
        _text(p, zh, cols)
        _text(p, en, cols)


def _qr(p: Escpos, payload: str, *, native: bool, paper_px: int) -> None:
    if not payload:
        return
    modules = _qr_version(payload) * 4 + 17
    module_px = max(2, min(8, paper_px // 2 // modules))
    p.set(align="center", custom_size=True, width=1, height=1)
    p.print_and_feed(1)
    if native:
        p.qr(payload, native=True, size=module_px, ec=QR_ECLEVEL_M)
    else:
        code = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, border=0, box_size=module_px)
        code.add_data(payload)
        code.make(fit=True)
        image = EscposImage(code.make_image().get_image())
        header = b"\x1dv0\x00" + _low_high(image.width_bytes) + _low_high(image.height)
        p._raw(header + image.to_raster_format())
    p.print_and_feed(1)


def _qr_version(payload: str) -> int:
    """The QR version (size) python-qrcode picks for `payload`."""
    return _version_of(tuple((chunk.mode, len(chunk)) for chunk in optimal_data_chunks(payload, minimum=_QR_OPTIMIZE)))


@lru_cache(maxsize=256)
def _version_of(segments: tuple[tuple[Literal[1, 2, 4], int], ...]) -> int:
    """The version for data split into these (mode, length) segments, as `QRCode.add_data`
    splits it. Fitting builds the whole bit stream in Python, about 1 ms; every phone link
    (a random capability) has the same segments, so it is fitted once."""
    code = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, border=0)
    for mode, length in segments:
        code.add_data(QRData(_QR_FILLER[mode] * length, mode=mode, check_data=False))
    return code.best_fit()


def _low_high(n: int) -> bytes:
    return bytes((n & 0xFF, (n >> 8) & 0xFF))
