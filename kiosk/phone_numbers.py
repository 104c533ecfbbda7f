"""Phone numbers reduced to one comparable form, so a caller-ID `NMBR` matches the
directory whatever way either side wrote it (`+86 138-0013-8000`, `8613800138000`,
`013800138000`, `１３８００１３８０００` all become `13800138000`).

The normal form is ASCII digits only, without the China country code (`+86`, `0086`,
or a bare `86` in front of a number long enough to carry one) and without the domestic
trunk prefix `0` (so `010-12345678` and `+86 10 1234 5678` agree on `1012345678`).
"""

from __future__ import annotations

import unicodedata

COUNTRY = "86"
#: A bare leading "86" is taken as the country code only when at least this many digits
#: follow it (the shortest Chinese number with its area code); shorter numbers such as
#: the local landline 86123456 keep their digits.
_MIN_NATIONAL_DIGITS = 9


def normalise(number: str) -> str:
    """The digits of `number` without a +86/0086/86 country or 0 trunk prefix.

    Pure and total: anything without digits (caller-ID `P`, `O`, empty) gives "".
    """
    text = (number or "").strip()
    explicit_plus = text.startswith(("+", "＋"))
    digits = "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())
    if digits.startswith("00" + COUNTRY):
        digits = digits[4:]
    elif digits.startswith(COUNTRY) and (explicit_plus or len(digits) - 2 >= _MIN_NATIONAL_DIGITS):
        digits = digits[2:]
    digits = digits.removeprefix("0")
    return digits
