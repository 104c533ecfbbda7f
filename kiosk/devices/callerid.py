"""Pure parsing of what a Hayes-compatible caller-ID modem prints (DESIGN §7).

A call is `RING` followed by the formatted caller-ID block, sent between the first and
second ring::

    RING

    DATE = 1127
    TIME = 0945
    NMBR = 13800138000        (or P = private, O = out of area)
    NAME = ZHANG SAN

    RING

`CallerIdParser` is a small state machine fed one line at a time (and `tick()`-ed with
the time when no line comes), so the serial worker owns no parsing decisions and this
module is tested without threads, ports or sleeps. It tolerates noise (unknown lines,
control characters, lines that are not `KEY = value`), fields in any order, `=`
without spaces, and blocks cut short: a block with a number is reported when its `NAME`
arrives, when the next `RING` or block starts, or `block_timeout_s` after its last
field; a block without a number is dropped. Further `RING`s of the same call (until
`ring_gap_s` passes without one) never make a second call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kiosk.text import one_line

PRIVATE = "private"
OUT_OF_AREA = "out_of_area"
NORMAL = "normal"

_FIELD = re.compile(r"^\s*(DATE|TIME|NMBR|NAME|DDN_NMBR|MESG)\s*[=:]\s*(.*?)\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\+?[0-9][0-9 \-()]{1,30}$")
_MAX_NAME = 64


@dataclass(frozen=True)
class CallerId:
    """One incoming call as the modem announced it."""
    number: str          # digits as sent ('' when private or out of area)
    name: str            # as sent ('' when none; 'P'/'O' names are dropped)
    kind: str            # normal | private | out_of_area
    date: str | None     # MMDD from the modem's clock, when sent
    time: str | None     # HHMM from the modem's clock, when sent
    at: float            # the parser's clock (monotonic seconds) when the block began

    @property
    def modem_stamp(self) -> str | None:
        if not self.date and not self.time:
            return None
        return f"{self.date or ''} {self.time or ''}".strip()


def clean_line(raw: bytes | str) -> str:
    """One modem line as text: undecodable bytes dropped, control characters and white
    space as kiosk/text.py cleans a single-line field."""
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    return one_line(text.replace("\ufffd", ""))


def reply_kind(line: bytes | str, command: str) -> str:
    """How a line read after sending `command` counts: ok | error | echo | other."""
    text = clean_line(line).upper()
    if text == "OK":
        return "ok"
    if text in ("ERROR", "NO CARRIER"):
        return "error"
    if text == command.strip().upper():
        return "echo"
    return "other"


@dataclass
class _Block:
    started: float
    last: float
    fields: dict[str, str] = field(default_factory=dict)


class CallerIdParser:
    def __init__(self, *, block_timeout_s: float = 1.5, ring_gap_s: float = 8.0) -> None:
        self.block_timeout_s = block_timeout_s
        self.ring_gap_s = ring_gap_s
        self._block: _Block | None = None
        self._last_ring: float | None = None
        self.rings = 0                   # RINGs seen in the current ringing episode
        self.noise = 0                   # lines ignored since start (for health)

    def feed(self, line: bytes | str, now: float) -> list[CallerId]:
        """Take one line; returns the calls it completes (usually none or one)."""
        out = self.tick(now)
        text = clean_line(line)
        if not text:
            return out
        upper = text.upper()
        if upper == "RING":
            out += self._flush()          # a block followed by RING is complete
            if self._last_ring is None or now - self._last_ring > self.ring_gap_s:
                self.rings = 0
            self.rings += 1
            self._last_ring = now
            return out
        match = _FIELD.match(text)
        if not match:
            if upper not in ("OK",):
                self.noise += 1
            return out
        key, value = match.group(1).upper(), match.group(2)
        if key in ("DDN_NMBR", "MESG"):
            return out
        if key == "DATE" and self._block is not None and "DATE" in self._block.fields:
            out += self._flush()          # a new block begins: the old one was cut short
        if self._block is None:
            self._block = _Block(started=now, last=now)
        self._block.fields[key] = value
        self._block.last = now
        if key == "NAME" and "NMBR" in self._block.fields:
            out += self._flush()
        return out

    def tick(self, now: float) -> list[CallerId]:
        """Report a block whose fields stopped coming; forget rings that stopped."""
        out: list[CallerId] = []
        if self._block is not None and now - self._block.last >= self.block_timeout_s:
            out += self._flush()
        if self._last_ring is not None and now - self._last_ring > self.ring_gap_s:
            self._last_ring = None
            self.rings = 0
        return out

    def _flush(self) -> list[CallerId]:
        block, self._block = self._block, None
        if block is None:
            return []
        call = _to_call(block)
        if call is None:
            self.noise += 1
            return []
        return [call]


def _to_call(block: _Block) -> CallerId | None:
    raw = block.fields.get("NMBR")
    if raw is None:
        return None
    value = raw.strip()
    if value.upper() == "P":
        kind, number = PRIVATE, ""
    elif value.upper() == "O":
        kind, number = OUT_OF_AREA, ""
    elif _NUMBER.match(value):
        kind, number = NORMAL, value
    else:
        return None
    name = block.fields.get("NAME", "").strip()[:_MAX_NAME]
    if name.upper() in ("P", "O"):
        name = ""
    date = block.fields.get("DATE")
    time_ = block.fields.get("TIME")
    return CallerId(number=number, name=name, kind=kind,
                    date=date if date and re.fullmatch(r"\d{4}", date) else None,
                    time=time_ if time_ and re.fullmatch(r"\d{4}", time_) else None,
                    at=block.started)


def format_block(number: str, name: str = "", *, date: str = "1127", time: str = "0945") -> bytes:
    """What a modem sends for a call (RING, the block, RING); `number` may be 'P' or 'O'.

    Used by the simulated modem and by tests that play a modem on a pty.
    """
    lines = ["RING", "", f"DATE = {date}", f"TIME = {time}", f"NMBR = {number}"]
    if name:
        lines.append(f"NAME = {name}")
    lines += ["", "RING"]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
