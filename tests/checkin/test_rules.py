"""Pure check-in rules: GB 11643 ID numbers, signed card/pass tokens, scan de-duplication,
retention cut-offs, serial line splitting and the daily purge schedule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.devices.dedup import Deduper
from kiosk.devices.scanner import LineSplitter
from kiosk.errors import DomainError, Forbidden, Invalid
from kiosk.services.retention import purge_due
from kiosk.visits import id_number, tokens
from kiosk.visits.rules import Cutoffs, classify, retention_cutoffs

TZ = ZoneInfo("Asia/Shanghai")
KEY = b"k" * 32


@pytest.mark.parametrize("number", [
    "11010519491231002X",   # the standard's own example: check character X
    "11010519491231002x",   # lower-case x is accepted
    "440305195206070040",
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width input from a Chinese IME
    "110105 19491231 002X",
])
def test_valid_id_numbers(number):
    parsed = id_number.parse(number, date(2026, 11, 27))
    assert parsed.number.endswith(("X", "0"))
    assert parsed.masked == parsed.number[:4] + "*" * 10 + parsed.number[-4:]


@pytest.mark.parametrize("number,code", [
    ("110105194912310021", "id_checksum"),   # X expected
    ("110105194912310020", "id_checksum"),
    ("44030519520607004X", "id_checksum"),   # 0 expected, X given
    ("11010519491231002", "id_length"),
    ("1101051949123100211", "id_length"),
    ("11010519491231A02X", "id_format"),
    ("11010519491331002X", "id_birth_date"),  # month 13
    ("11010518491231002X", "id_birth_date"),  # before 1900
    ("110105203012310027", "id_birth_date"),  # in the future
    ("99010519491231002X", "id_region"),
    ("110000194912310020", "id_region"),
    ("", "id_length"),
])
def test_invalid_id_numbers(number, code):
    with pytest.raises(Invalid) as err:
        id_number.parse(number, date(2026, 11, 27))
    assert err.value.code == code


def test_check_char_for_every_remainder():
    # 17-digit bodies whose weighted sums cover all 11 remainders, X included.
    seen = {id_number.check_char(f"1101051949123{n:04d}") for n in range(200)}
    assert seen == set(id_number.CHECK_CHARS)


def test_keyed_hash_depends_on_key_and_ignores_spelling():
    a = id_number.keyed_hash(KEY, "11010519491231002X")
    assert a == id_number.keyed_hash(KEY, "11010519491231002x")
    assert a != id_number.keyed_hash(b"other" * 8, "11010519491231002X")
    assert "11010519491231002X" not in a


def _resident(expires: int = 2_000_000_000, site: str = "demo-site", key: bytes = KEY) -> str:
    return tokens.sign(key, tokens.RESIDENT, site, "r-1", expires)


def test_token_round_trip_and_short():
    payload = _resident()
    assert len(payload) < 100
    token = tokens.verify(KEY, payload, site="demo-site", now=1_900_000_000)
    assert (token.site, token.subject, token.expires) == ("demo-site", "r-1", 2_000_000_000)


@pytest.mark.parametrize("payload,code", [
    (_resident(key=b"x" * 32), "token_forged"),
    (_resident()[:-1] + ("A" if _resident()[-1] != "A" else "B"), "token_forged"),
    (_resident().replace(":r-1:", ":r-2:"), "token_forged"),
    (_resident().replace(":2000000000:", ":2100000000:"), "token_forged"),  # extended expiry
    (_resident(expires=1_800_000_000), "token_expired"),
    (_resident(site="other-site"), "token_other_site"),
    ("hello", "token_malformed"),
    ("KR1:a:b:c:d", "token_malformed"),
    (tokens.sign(KEY, tokens.VISITOR, "demo-site", "7", 2_000_000_000), "token_wrong_kind"),
])
def test_bad_tokens_refused(payload, code):
    with pytest.raises(DomainError) as err:
        tokens.verify(KEY, payload, site="demo-site", now=1_900_000_000)
    assert err.value.code == code
    assert err.value.status == (400 if code == "token_malformed" else 403)


def test_revoked_token_refused():
    payload = _resident()
    with pytest.raises(Forbidden) as err:
        tokens.verify(KEY, payload, site="demo-site", now=1, revoked={tokens.parse(payload).sig})
    assert err.value.code == "token_revoked"


def test_sign_refuses_separator_in_ids():
    with pytest.raises(ValueError):
        tokens.sign(KEY, tokens.RESIDENT, "demo:site", "r1", 1)


def test_classify():
    assert classify(_resident()) == "resident"
    assert classify("KV1:x") == "visitor"
    assert classify("KT1:demo-site:1:A001") == "ticket"
    assert classify("http://example.com") == "unknown"


def test_deduper_reports_a_held_card_once_and_again_after_a_pause():
    d = Deduper(cooldown_s=10)
    assert d.is_new("A", 0.0)
    assert not any(d.is_new("A", t / 10) for t in range(1, 300))  # held up for 30 s: consecutive frames
    assert d.is_new("B", 30.0)
    assert d.is_new("A", 45.0)  # 15 s out of view


def test_retention_cutoffs():
    now = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
    cut = retention_cutoffs(now, 90, 365)
    assert cut.snapshots_before == now - timedelta(days=90)
    assert cut.visits_before == now - timedelta(days=365)
    assert retention_cutoffs(now, 0, 0) == Cutoffs(None, None)  # 0 keeps forever


def test_line_splitter():
    s = LineSplitter(max_len=20)
    assert s.feed(b"KR1:abc") == []
    assert s.feed(b"\r\nsecond\rthird\n\n") == ["KR1:abc", "second", "third"]
    assert s.feed(b"x" * 50 + b"\nok\n") == ["ok"]  # an over-long line is dropped
    assert s.feed("窗口\n".encode()) == ["窗口"]


def test_purge_due():
    at = datetime(2026, 11, 27, 3, 5, tzinfo=TZ)
    assert purge_due(at, None, 3)
    assert not purge_due(at, at.date(), 3)
    assert not purge_due(at.replace(hour=2), None, 3)
