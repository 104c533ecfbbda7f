"""What the speaker says: pure text, Mandarin first, then English.

`announcement_zh`/`announcement_en` give the display forms of DESIGN.md §7. The
`spoken_*` forms are what espeak-ng is fed; they were checked against espeak-ng 1.51's
phoneme output (`espeak-ng -x`):

- Mandarin (`sit/cmn-latn-pinyin`) reads the display form correctly as it is: the
  letter by its Chinese letter name (A → "ei"), the digit words one by one and the
  counter "2" as "èr" ("12" as "shí'èr"), so `spoken_zh` is the display form.
- English reads a lone "A" before digits as the article "uh"; a comma after the letter
  makes it the letter name ("ay"), so `spoken_en` differs from the display form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ZH_DIGITS = "零一二三四五六七八九"
_ASCII_DIGITS = "0123456789"
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_LETTERS_THEN_DIGITS = re.compile(r"([A-Z]+)([0-9]+)")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Announcement:
    """One thing to say: the Mandarin text, then the English one.

    `key` ends the WAV file name; it is reduced to `[A-Za-z0-9_-]` so no announcement
    can name a path outside the output folder.
    """

    key: str
    zh: str
    en: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", safe_key(self.key))

    def texts(self) -> list[tuple[str, str]]:
        """(language, text) pairs in speaking order, empty texts left out."""
        return [(lang, text) for lang, text in (("zh", self.zh), ("en", self.en)) if text.strip()]


def safe_key(key: str) -> str:
    return _KEY_UNSAFE.sub("_", key).strip("_")[:60] or "announcement"


def _symbols(number: str) -> list[str]:
    number = number.strip().upper()
    if not number or not all(c in _ASCII_DIGITS or ("A" <= c <= "Z") for c in number):
        raise ValueError(f"ticket number {number!r} must be ASCII letters and digits")
    return list(number)


def _counter(counter: str) -> str:
    counter = str(counter).strip()
    if not counter:
        raise ValueError("counter must not be empty")
    return counter


def announcement_zh(number: str, counter: str) -> str:
    """`请 A 零 一 二 号 到 2 号窗口办理` for ("A012", "2")."""
    words = [ZH_DIGITS[int(c)] if c in _ASCII_DIGITS else c for c in _symbols(number)]
    return f"请 {' '.join(words)} 号 到 {_counter(counter)} 号窗口办理"


def announcement_en(number: str, counter: str) -> str:
    """`Number A 0 1 2, please go to counter 2.` for ("A012", "2")."""
    return f"Number {' '.join(_symbols(number))}, please go to counter {_counter(counter)}."


def spoken_zh(number: str, counter: str) -> str:
    return announcement_zh(number, counter)


def spoken_en(number: str, counter: str) -> str:
    """`Number A, 0 1 2, please go to counter 2.`: the comma makes espeak say "ay"."""
    symbols = "".join(_symbols(number))
    parts = _LETTERS_THEN_DIGITS.fullmatch(symbols)
    said = f"{' '.join(parts[1])}, {' '.join(parts[2])}" if parts else " ".join(symbols)
    return f"Number {said}, please go to counter {_counter(counter)}."


def greeting_zh(name: str) -> str:
    return f"您好，{name.strip()}"


def greeting_en(name: str) -> str:
    return f"Hello, {name.strip()}"


def call_announcement(number: str, counter: str) -> Announcement:
    """The call of ticket `number` to `counter`."""
    return Announcement(key=f"{number}-{counter}", zh=spoken_zh(number, counter),
                        en=spoken_en(number, counter))


def greeting_announcement(name_zh: str, name_en: str = "") -> Announcement:
    """A welcome such as 您好，张女士 / Hello, Ms Zhang.

    The English voice spells Chinese characters out as "Chinese letter", so without
    `name_en` a Chinese name is left out of the English sentence.
    """
    name_en = name_en.strip() or ("" if _CJK.search(name_zh) else name_zh.strip())
    return Announcement(key="greeting", zh=greeting_zh(name_zh),
                        en=greeting_en(name_en) if name_en else "Hello.")
