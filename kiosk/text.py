"""One way to clean text a person typed before it is stored or printed.

Control characters: every C0 control (U+0000-U+001F), DEL and every C1 control
(U+0080-U+009F) becomes a space, and so do the Unicode line and paragraph separators.
A multi-line field (a case description, an answer) keeps its line breaks: CR LF and a
lone CR become LF first. A single-line field then has its runs of white space collapsed
to one space; every field loses white space at both ends (and a multi-line one at the
end of each line).

Over-long input is refused with `Invalid("too_long")`, never truncated: cutting what a
person typed silently stores something they did not say. The length is counted after
cleaning, in characters.

Text that comes from a device rather than a person (the modem's caller-ID lines) cannot
be refused; `one_line` cleans it and its parser decides how much to keep.
"""

from __future__ import annotations

import re
from typing import Any

from kiosk.errors import Invalid

_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+$", re.MULTILINE)


def one_line(text: str) -> str:
    """`text` on one line: controls and line breaks as spaces, white space collapsed."""
    return " ".join(_CONTROLS.sub(" ", text).split())


def multi_line(text: str) -> str:
    """`text` with its line breaks (as LF) and nothing else of the control characters."""
    text = _CONTROLS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _SPACES.sub("", text).strip()


def clean(value: Any, field: str, max_len: int, *, required: bool = False, multiline: bool = False) -> str:
    """`value` cleaned as the module says, or `Invalid`: `invalid_field` when it is not
    text, `missing_field` when `required` and empty after cleaning, `too_long` when longer
    than `max_len` characters after cleaning. None counts as empty."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid("invalid_field", f"field {field!r} must be text")
    value = multi_line(value) if multiline else one_line(value)
    if required and not value:
        raise Invalid("missing_field", f"field {field!r} is required")
    if len(value) > max_len:
        raise Invalid("too_long", f"field {field!r} is longer than {max_len} characters")
    return value
