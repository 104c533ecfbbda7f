"""One way to clean text before it is stored, printed or parsed.

Control characters, one rule for every field:
- line breaks (LF, CR LF, CR, VT, FF, the C0 separators FS/GS/RS, NEL and the Unicode
  line and paragraph separators: what `str.splitlines` splits on) end a line;
- a tab is a space;
- every other C0 control (U+0000-U+001F), DEL and every other C1 control
  (U+0080-U+009F) is removed, so a stray NUL inside a word leaves the word whole.
A single-line field (a name, a unit, a phone number) joins its lines with spaces and
collapses runs of white space to one; a multi-line field (a case description, an answer,
a comment) keeps its lines, joined with LF, each without trailing white space. Both lose
white space at the ends.

Over-long input is refused with `Invalid("too_long")`, never truncated: cutting what a
person typed silently stores something they did not say. The length is counted after
cleaning, in characters.

Text from a device rather than a person (the modem's caller-ID lines) cannot be
refused: kiosk/devices/callerid.py cleans it with `one_line` and decides itself how much to keep.
"""

from __future__ import annotations

import re
from typing import Any

from kiosk.errors import Invalid

_REMOVED = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")


def _line(text: str) -> str:
    return _REMOVED.sub("", text.replace("\t", " "))


def one_line(text: str) -> str:
    """`text` as one line: line breaks and tabs as spaces, white space collapsed."""
    return " ".join(_line(" ".join(text.splitlines())).split())


def multi_line(text: str) -> str:
    """`text` with its line breaks as LF, no trailing white space on a line."""
    return "\n".join(_line(line).rstrip() for line in text.splitlines()).strip()


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
