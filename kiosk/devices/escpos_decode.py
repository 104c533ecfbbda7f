"""Read ESC/POS bytes back: what a thermal printer would print, as data and as a picture.

`decode` understands the commands our layouts and python-escpos emit (text modes, sizes,
alignment, Chinese mode, native QR, raster images, cuts) and skips every other command
by its declared length, so any byte string decodes without raising. `render_png` draws
the decoded receipt the way a 203 dpi printer would: 12x24-dot half-width cells, 24x24
Chinese cells, scaled by `GS !`/`ESC !`, QR codes redrawn at their module size.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from kiosk.devices.qr_decode import find_qr_payloads

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
ALIGNS = ("left", "center", "right")
DEFAULT_SPACING = 30
MAX_IMAGE_PIXELS = 4_000_000
MAX_RENDER_HEIGHT = 30_000
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
)

_CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252",
              17: "cp866", 18: "cp852", 19: "cp858"}
_ESC_PARAMS = {"@": 0, "a": 1, "E": 1, "G": 1, "!": 1, "d": 1, "J": 1, "e": 1, "K": 1, "t": 1,
               "M": 1, "-": 1, "2": 0, "3": 1, "R": 1, "V": 1, "{": 1, " ": 1, "c": 2, "p": 3,
               "$": 2, "\\": 2, "r": 1, "U": 1, "=": 1, "%": 1, "?": 1, "<": 0, "i": 0, "m": 0,
               "L": 0, "S": 0, "T": 1, "W": 8, "f": 2, "u": 1, "v": 0}
_GS_PARAMS = {"!": 1, "B": 1, "H": 1, "h": 1, "w": 1, "f": 1, "L": 2, "W": 2, "P": 2, "a": 1,
              "r": 1, "I": 1, "b": 1, "T": 1, "/": 1, "$": 2, "\\": 2, "^": 3, ":": 0, "E": 1}
_FS_PARAMS = {"&": 0, ".": 0, "!": 1, "-": 1, "S": 2, "W": 1, "C": 1, "2": 74, "p": 2}


@dataclass(frozen=True)
class Cell:
    """One printed character with the style it was printed in."""

    char: str
    columns: int
    scale: tuple[int, int]
    bold: bool
    invert: bool
    underline: bool


@dataclass(frozen=True)
class Line:
    text: str
    scale: tuple[int, int] = (1, 1)
    align: str = "left"
    bold: bool = False
    invert: bool = False
    underline: bool = False
    spacing: int = DEFAULT_SPACING
    cells: tuple[Cell, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class QrCode:
    payload: str
    module_px: int
    ec: str
    align: str


@dataclass(frozen=True)
class Raster:
    image: Image.Image = field(repr=False, compare=False)
    align: str
    payloads: tuple[str, ...]


@dataclass(frozen=True)
class Feed:
    dots: int


@dataclass(frozen=True)
class Cut:
    partial: bool


Item = Line | QrCode | Raster | Feed | Cut


@dataclass
class PrintedDoc:
    """The decoded job: `items` in paper order, plus the views tests and pages use."""

    items: list[Item] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return [i for i in self.items if isinstance(i, Line)]

    @property
    def qr_payloads(self) -> list[str]:
        found: list[str] = []
        for item in self.items:
            if isinstance(item, QrCode):
                found.append(item.payload)
            elif isinstance(item, Raster):
                found.extend(item.payloads)
        return found

    @property
    def images(self) -> list[Image.Image]:
        return [i.image for i in self.items if isinstance(i, Raster)]

    @property
    def cut(self) -> bool:
        return any(isinstance(i, Cut) for i in self.items)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def decode(data: bytes) -> PrintedDoc:
    """Decode ESC/POS bytes; unknown or truncated commands are skipped, never raised."""
    return _Decoder(bytes(data)).run()


# -- decoding ------------------------------------------------------------------------

class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.doc = PrintedDoc()
        self.line_align = "left"
        self.qr_data = b""
        self.qr_module = 3
        self.qr_ec = "L"
        self.graphics: Image.Image | None = None
        self._reset()

    def _reset(self) -> None:
        self.align = "left"
        self.bold = False
        self.invert = False
        self.underline = False
        self.scale = (1, 1)
        self.chinese = False
        self.codepage = "cp437"
        self.spacing = DEFAULT_SPACING
        self.cells: list[Cell] = []

    def run(self) -> PrintedDoc:
        data = self.data
        while self.pos < len(data):
            byte = data[self.pos]
            self.pos += 1
            if byte == 0x0A:
                self._flush(force=True)
            elif byte == 0x09:
                used = sum(c.columns for c in self.cells)
                for _ in range(8 - used % 8):
                    self._add(" ", 1)
            elif byte == 0x0C:
                self._flush(force=False)
            elif byte == ESC:
                self._esc()
            elif byte == GS:
                self._gs()
            elif byte == FS:
                self._fs()
            elif byte == DLE:
                self._dle()
            elif 0x20 <= byte < 0x7F:
                self._add(chr(byte), 1)
            elif byte >= 0x80:
                self._high_byte(byte)
        self._flush(force=False)
        return self.doc

    def _take(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def _byte(self) -> int:
        chunk = self._take(1)
        return chunk[0] if chunk else -1

    def _length_prefixed(self) -> bytes:
        size = self._take(2)
        return self._take(size[0] + 256 * size[1]) if len(size) == 2 else b""

    # -- text --
    def _high_byte(self, first: int) -> None:
        if not self.chinese:
            self._add(bytes((first,)).decode(self.codepage, errors="replace"), 1)
            return
        data, pos = self.data, self.pos
        second = data[pos] if pos < len(data) else -1
        valid_second = 0x40 <= second <= 0xFE and second != 0x7F or 0x30 <= second <= 0x39
        if not 0x81 <= first <= 0xFE or not valid_second:
            self._add("\ufffd", 1)
            return
        size = 2
        if second <= 0x39:
            tail = data[pos + 1:pos + 3]
            size = 4 if len(tail) == 2 and 0x81 <= tail[0] <= 0xFE and 0x30 <= tail[1] <= 0x39 else 2
        raw = bytes((first,)) + self._take(size - 1)
        text = raw.decode("gb18030", errors="replace")
        self._add(text if len(text) == 1 else "\ufffd", 2)

    def _add(self, char: str, columns: int) -> None:
        if not self.cells:
            self.line_align = self.align
        self.cells.append(Cell(char, columns, self.scale, self.bold, self.invert, self.underline))

    def _flush(self, *, force: bool) -> None:
        if not self.cells and not force:
            return
        cells = tuple(self.cells)
        self.cells = []
        if not cells:
            self.doc.items.append(Line("", align=self.align, spacing=self.spacing))
            return
        self.doc.items.append(Line(
            text="".join(c.char for c in cells),
            scale=(max(c.scale[0] for c in cells), max(c.scale[1] for c in cells)),
            align=self.line_align,
            bold=any(c.bold for c in cells),
            invert=any(c.invert for c in cells),
            underline=any(c.underline for c in cells),
            spacing=self.spacing,
            cells=cells,
        ))

    # -- ESC --
    def _esc(self) -> None:
        cmd = self._byte()
        if cmd < 0:
            return
        name = chr(cmd)
        if name == "D":
            end = self.data.find(b"\x00", self.pos, self.pos + 33)
            self.pos = end + 1 if end >= 0 else self.pos + 32
            return
        if name == "*":
            head = self._take(3)
            if len(head) == 3:
                self._take((head[1] + 256 * head[2]) * (3 if head[0] in (32, 33) else 1))
            return
        if name == "(":
            self._take(1)
            self._length_prefixed()
            return
        if name == "&":
            self._user_defined_chars()
            return
        params = self._take(_ESC_PARAMS.get(name, 0))
        if len(params) < _ESC_PARAMS.get(name, 0):
            return
        n = params[0] if params else 0
        if name == "@":
            self._reset()
        elif name == "a":
            self.align = {0: "left", 1: "center", 2: "right"}.get(n - 48 if n >= 48 else n, self.align)
        elif name in "EG":
            self.bold = bool(n & 1)
        elif name == "-":
            self.underline = bool(n & 3) if n < 48 else n in (49, 50)
        elif name == "!":
            self.bold = bool(n & 0x08)
            self.underline = bool(n & 0x80)
            self.scale = (2 if n & 0x20 else 1, 2 if n & 0x10 else 1)
        elif name == "d":
            self._feed_lines(n)
        elif name == "J":
            self._flush(force=False)
            self.doc.items.append(Feed(n))
        elif name == "t":
            self.codepage = _CODEPAGES.get(n, "cp437")
        elif name == "2":
            self.spacing = DEFAULT_SPACING
        elif name == "3":
            self.spacing = n
        elif name in "im":
            self._flush(force=False)
            self.doc.items.append(Cut(partial=name == "m"))

    def _user_defined_chars(self) -> None:
        head = self._take(3)
        if len(head) < 3:
            return
        height, first, last = head
        for _ in range(max(0, min(last, 126) - first + 1)):
            width = self._byte()
            if width < 0:
                return
            self._take(height * width)

    def _feed_lines(self, n: int) -> None:
        if self.cells:
            self._flush(force=True)
            n -= 1
        for _ in range(max(0, n)):
            self._flush(force=True)

    # -- GS --
    def _gs(self) -> None:
        cmd = self._byte()
        if cmd < 0:
            return
        name = chr(cmd)
        if name == "V":
            self._cut()
        elif name == "(":
            fn = self._byte()
            body = self._length_prefixed()
            if fn == ord("k"):
                self._symbol(body)
            elif fn == ord("L"):
                self._graphics(body)
        elif name == "8":
            fn = self._byte()
            size = self._take(4)
            if len(size) == 4:
                body = self._take(int.from_bytes(size, "little"))
                if fn == ord("L"):
                    self._graphics(body)
        elif name == "v":
            self._raster()
        elif name == "k":
            self._barcode()
        elif name == "*":
            size = self._take(2)
            if len(size) == 2:
                self._take(size[0] * size[1] * 8)
        elif name in _GS_PARAMS:
            params = self._take(_GS_PARAMS[name])
            if len(params) < _GS_PARAMS[name]:
                return
            n = params[0] if params else 0
            if name == "!":
                self.scale = ((n >> 4 & 7) + 1, (n & 7) + 1)
            elif name == "B":
                self.invert = bool(n & 1)

    def _cut(self) -> None:
        mode = self._byte()
        if mode < 0:
            return
        if mode in (65, 66, 97, 98, 103, 104):
            self._take(1)
        if mode in (0, 1, 48, 49, 65, 66, 97, 98, 103, 104):
            self._flush(force=False)
            self.doc.items.append(Cut(partial=mode in (1, 49, 66, 98, 104)))

    def _symbol(self, body: bytes) -> None:
        if len(body) < 3 or body[0] != 49:
            return
        fn, args = body[1], body[2:]
        if fn == 67:
            self.qr_module = max(1, min(16, args[0]))
        elif fn == 69:
            self.qr_ec = "LMQH"[args[0] - 48] if 48 <= args[0] <= 51 else self.qr_ec
        elif fn == 80:
            self.qr_data = args[1:]
        elif fn == 81 and self.qr_data:
            self._flush(force=False)
            payload = self.qr_data.decode("utf-8", errors="replace")
            self.doc.items.append(QrCode(payload, self.qr_module, self.qr_ec, self.align))

    def _raster(self) -> None:
        head = self._take(6)
        if len(head) < 6 or head[0] != 0x30:
            return
        mode = head[1]
        row_bytes = head[2] + 256 * head[3]
        rows = head[4] + 256 * head[5]
        body = self._take(row_bytes * rows)
        self._flush(force=False)
        image = _bitmap(body, row_bytes * 8, rows)
        if image is None:
            return
        if mode & 3:
            image = image.resize((image.width * (2 if mode & 1 else 1),
                                  image.height * (2 if mode & 2 else 1)), Image.Resampling.NEAREST)
        self._add_image(image)

    def _graphics(self, body: bytes) -> None:
        """GS ( L / GS 8 L: store a raster graphic (fn 112) and print it (fn 50)."""
        if len(body) < 2 or body[0] != 48:
            return
        fn = body[1]
        if fn == 112 and len(body) >= 10:
            width = body[6] + 256 * body[7]
            height = body[8] + 256 * body[9]
            self.graphics = _bitmap(body[10:], ((width + 7) // 8) * 8, height)
        elif fn == 50 and self.graphics is not None:
            self._flush(force=False)
            self._add_image(self.graphics)
            self.graphics = None

    def _add_image(self, image: Image.Image) -> None:
        self.doc.items.append(Raster(image, self.align, tuple(find_qr_payloads(image))))

    def _barcode(self) -> None:
        kind = self._byte()
        if 0 <= kind <= 6:
            end = self.data.find(b"\x00", self.pos, self.pos + 256)
            self.pos = end + 1 if end >= 0 else len(self.data)
        elif kind >= 65:
            self._take(max(0, self._byte()))

    # -- FS, DLE --
    def _fs(self) -> None:
        cmd = self._byte()
        if cmd < 0:
            return
        name = chr(cmd)
        if name == "(":
            self._take(1)
            self._length_prefixed()
            return
        if name == "q":
            for _ in range(max(0, self._byte())):
                size = self._take(4)
                if len(size) < 4:
                    return
                self._take((size[0] + 256 * size[1]) * (size[2] + 256 * size[3]) * 8)
            return
        params = self._take(_FS_PARAMS.get(name, 0))
        if name == "&":
            self.chinese = True
        elif name == ".":
            self.chinese = False
        elif name == "!" and params:
            self.scale = (2 if params[0] & 0x04 else 1, 2 if params[0] & 0x08 else 1)

    def _dle(self) -> None:
        cmd = self._byte()
        if cmd in (0x04, 0x05):
            self._take(1)
        elif cmd == 0x14:
            self._take(3)


def _bitmap(body: bytes, width: int, height: int) -> Image.Image | None:
    """A 1-bit ESC/POS raster (1 = black) as a greyscale PIL image, or None if implausible."""
    row_bytes = width // 8
    if row_bytes == 0 or height == 0 or width * height > MAX_IMAGE_PIXELS:
        return None
    rows = min(height, len(body) // row_bytes)
    if rows == 0:
        return None
    bits = Image.frombytes("1", (width, rows), body[:rows * row_bytes], "raw", "1;I")
    return bits.convert("L")


# -- rendering -----------------------------------------------------------------------

def render_png(data: bytes, width_px: int = 576) -> bytes:
    """The receipt as a PNG `width_px` dots wide (576 for 80 mm paper, 384 for 58 mm)."""
    buffer = io.BytesIO()
    render_image(decode(data), width_px).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_image(doc: PrintedDoc, width_px: int = 576) -> Image.Image:
    width_px = max(64, width_px)
    blocks: list[tuple[Image.Image, str]] = []
    for item in doc.items:
        if isinstance(item, Line):
            blocks.extend((row, item.align) for row in _line_rows(item, width_px))
        elif isinstance(item, QrCode):
            blocks.append((_qr_image(item), item.align))
        elif isinstance(item, Raster):
            blocks.append((item.image, item.align))
        elif isinstance(item, Feed):
            blocks.append((Image.new("L", (1, max(1, item.dots)), 255), "left"))
        elif isinstance(item, Cut):
            blocks.append((_cut_mark(width_px, item.partial), "left"))
    margin = 12
    height = min(MAX_RENDER_HEIGHT, 2 * margin + sum(b.height for b, _ in blocks))
    paper = Image.new("L", (width_px, height), 255)
    y = margin
    for block, align in blocks:
        if y >= height:
            break
        x = {"left": 0, "center": (width_px - block.width) // 2, "right": width_px - block.width}[align]
        paper.paste(block, (max(0, x), y))
        y += block.height
    return paper


def _line_rows(line: Line, width_px: int) -> list[Image.Image]:
    cells = line.cells or tuple(Cell(ch, 1 if ord(ch) < 0x80 else 2, line.scale, line.bold,
                                     line.invert, line.underline) for ch in line.text)
    rows: list[list[Cell]] = [[]]
    used = 0
    for cell in cells:
        w = _cell_width(cell)
        if rows[-1] and used + w > width_px:
            rows.append([])
            used = 0
        rows[-1].append(cell)
        used += w
    return [_draw_row(row, line.spacing, width_px) for row in rows]


def _cell_width(cell: Cell) -> int:
    return 12 * cell.columns * cell.scale[0]


def _draw_row(cells: list[Cell], spacing: int, width_px: int) -> Image.Image:
    char_height = max((24 * c.scale[1] for c in cells), default=24)
    height = max(spacing, char_height + 6)
    width = min(width_px, sum(_cell_width(c) for c in cells)) or 1
    row = Image.new("L", (width, height), 255)
    x = 0
    for cell in cells:
        glyph = _glyph(cell)
        row.paste(glyph, (x, height - 3 - glyph.height))
        x += glyph.width
    return row


@lru_cache(maxsize=2048)
def _glyph(cell: Cell) -> Image.Image:
    """A character cell at the printer's dot size: drawn at its height, stretched to its width."""
    sx, sy = cell.scale
    size = 24 * sy
    cell_w = 12 * cell.columns * sy
    ink, paper = (255, 0) if cell.invert else (0, 255)
    image = Image.new("L", (cell_w, size), paper)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    if cell.char.strip():
        stroke = max(1, sy // 2) if cell.bold else 0
        draw.text((cell_w / 2, _baseline(size)), cell.char, font=font, fill=ink, anchor="ms",
                  stroke_width=stroke, stroke_fill=ink)
    if cell.underline:
        draw.rectangle((0, size - max(1, sy), cell_w, size), fill=ink)
    if sx != sy:
        image = image.resize((12 * cell.columns * sx, size), Image.Resampling.BILINEAR)
    return image


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size, index=1 if path.endswith("microhei.ttc") else 0)
            except OSError:
                continue
    return ImageFont.load_default(size)


@lru_cache(maxsize=32)
def _baseline(size: int) -> float:
    """Baseline that centres a Chinese glyph vertically in a cell `size` dots high."""
    try:
        top, bottom = _font(size).getbbox("国", anchor="ls")[1::2]
    except Exception:  # noqa: BLE001 - a font without the glyph: a fixed baseline will do for a preview
        return size * 0.8
    return (size - (bottom - top)) / 2 - top


def _qr_image(qr: QrCode) -> Image.Image:
    ec = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}[qr.ec]
    code = qrcode.QRCode(version=None, error_correction=ec, box_size=qr.module_px, border=0)
    try:
        code.add_data(qr.payload)
        code.make(fit=True)
    except Exception:  # noqa: BLE001 - a payload no QR version holds: the preview shows a blank
        return Image.new("L", (1, 1), 255)
    return code.make_image().get_image().convert("L")


def _cut_mark(width_px: int, partial: bool) -> Image.Image:
    """The gap between two pieces of paper; a partial cut keeps dashed bridges."""
    mark = Image.new("L", (width_px, 36), 255)
    draw = ImageDraw.Draw(mark)
    draw.rectangle((0, 12, width_px, 23), fill=200)
    if partial:
        for x in range(0, width_px, 24):
            draw.rectangle((x, 16, x + 8, 19), fill=255)
    return mark
