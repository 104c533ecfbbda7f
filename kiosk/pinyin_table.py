"""Chinese name entry on the touchscreen without a keyboard: pinyin syllable → candidate
characters, built once from pypinyin's character table (MIT licence, installed with the
app; nothing is fetched at run time). Only the GB2312 characters are offered, the ones
names are written in, common surnames first, then the 3,755 level-1 characters, then
level 2; tones are dropped, since nobody types them."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: The most common surnames, most frequent first: the first candidates for their syllable.
COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


def _plain(syllable: str) -> str:
    """zhāng → zhang, lǜ → lv (how the letter keys spell ü)."""
    text = syllable.replace("ü", "v").replace("ǖ", "v").replace("ǘ", "v").replace("ǚ", "v").replace("ǜ", "v")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _rank(entry: tuple[str, bool]) -> tuple[int, int, int]:
    """A character's usual reading before its rare ones; surnames, then level 1, then level 2."""
    ch, usual = entry
    surname = COMMON_SURNAMES.find(ch)
    code = ch.encode("gb2312")
    tier = 0 if surname >= 0 else (1 if code[0] < 0xD8 else 2)
    return (0 if usual else 1, tier, surname if surname >= 0 else int.from_bytes(code, "big"))


@lru_cache(maxsize=1)
def candidates() -> dict[str, str]:
    """Every syllable (no tones, ü as v) → its characters, the likeliest first."""
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[str, list[tuple[str, bool]]] = {}
    for code_point, readings in pinyin_dict.items():
        ch = chr(code_point)
        try:
            encoded = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if len(encoded) != 2:
            continue
        for i, reading in enumerate(dict.fromkeys(_plain(r) for r in readings.split(","))):
            table.setdefault(reading, []).append((ch, i == 0))
    return {syllable: "".join(ch for ch, _usual in sorted(chars, key=_rank))
            for syllable, chars in sorted(table.items())}
