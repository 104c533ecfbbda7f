"""Chinese resident ID numbers (GB 11643-1999): validation, masking, keyed hashing.

An 18-character number is a 6-digit region code, the birth date `YYYYMMDD`, a 3-digit
sequence and a check character: the weighted sum of the first 17 digits (weights
2^(17-i) mod 11) modulo 11 picks it from `10X98765432`. The number is never stored in
clear: only `keyed_hash` (HMAC-SHA256 with the site key) and `mask` (`1101**********1234`).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date

from kiosk.errors import Invalid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
#: First two digits: the provinces, autonomous regions and municipalities (and 71/81/82/83/91).
PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                       50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91})


@dataclass(frozen=True)
class IdNumber:
    number: str  # normalised: 17 digits + digit or X
    birth_date: date

    @property
    def masked(self) -> str:
        return mask(self.number)


def normalise(text: str) -> str:
    """Full-width digits to ASCII, spaces dropped, a lower-case x raised."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(text.split()).upper()


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse(text: str, today: date | None = None) -> IdNumber:
    """The validated ID number, or `Invalid` saying what is wrong."""
    number = normalise(text)
    if len(number) != 18:
        raise Invalid("id_length", "an ID number has 18 characters")
    # ASCII digits only: isdigit() (and int()) take other scripts' digits too (١١٠١...), and
    # NFKC maps only the full-width ones to ASCII.
    if not number.isascii() or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise Invalid("id_format", "an ID number is 17 digits and a digit or X")
    if int(number[:2]) not in PROVINCES or number[2:6] == "0000":
        raise Invalid("id_region", "the region code at the start of the ID number is not valid")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise Invalid("id_birth_date", "the birth date in the ID number is not a real date") from None
    if born.year < 1900 or (today is not None and born > today):
        raise Invalid("id_birth_date", "the birth date in the ID number is out of range")
    if check_char(number[:17]) != number[17]:
        raise Invalid("id_checksum", "the last character of the ID number does not match (check digit)")
    return IdNumber(number, born)


def mask(number: str) -> str:
    """`110105**********1234` style: the first 4 and last 4 characters kept."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)


def keyed_hash(key: bytes, number: str) -> str:
    """HMAC-SHA256 of the normalised number with the site key (hex); the only stored form."""
    return hmac.new(key, b"id:" + normalise(number).encode("ascii", "replace"), hashlib.sha256).hexdigest()


def with_check_char(first17: str) -> str:
    """A complete number from its first 17 digits (test data, demo residents)."""
    return first17 + check_char(first17)
