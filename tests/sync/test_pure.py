"""The pure parts of sync: phone normalisation, the back-off schedule, signing, batch
building, record checks, answer classification, the progress line, the directory CSV."""

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.phone_numbers import normalise
from sync import protocol
from sync.backoff import Backoff
from sync.central.directory import id_hash, read_csv, valid_id_number
from sync.progress import Progress, render

# -- phone numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [
    ("13800138000", "13800138000"),
    ("+86 138-0013-8000", "13800138000"),
    ("+86 13800138000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("0086 138 0013 8000", "13800138000"),
    ("013800138000", "13800138000"),
    ("１３８ ００１３ ８０００", "13800138000"),     # full-width digits typed on a Chinese IME
    ("010-12345678", "1012345678"),                  # Beijing landline with the trunk 0
    ("+86 (0)10 1234 5678", "1012345678"),
    ("(0755) 8765-4321", "75587654321"),
    ("86123456", "86123456"),                        # a local number that merely starts with 86
    ("P", ""), ("O", ""), ("", ""), ("  ", ""),       # caller-ID private / out of area
    ("+1 212 555 0100", "12125550100"),
])
def test_normalise_examples(raw, expected):
    assert normalise(raw) == expected


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
separators = st.sampled_from(["", " ", "-", ".", "  "])


@given(mobiles, separators, st.sampled_from(["", "+86", "+86 ", "86", "0086 ", "0"]))
def test_normalise_mobile_ignores_prefix_and_formatting(number, sep, prefix):
    formatted = prefix + sep.join([number[:3], number[3:7], number[7:]])
    assert normalise(formatted) == number


@given(st.text(max_size=40))
def test_normalise_gives_ascii_digits(text):
    out = normalise(text)
    assert out == "" or (out.isascii() and out.isdigit())


# -- back-off ----------------------------------------------------------------------------


def test_backoff_grows_exponentially_then_caps_at_five_minutes():
    b = Backoff()  # the defaults the agent runs with
    assert [b.ceiling(n) for n in range(1, 11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert b.ceiling(10_000) == 300
    assert b.delay(10_000, 0.999) <= 300 and b.cap_s == 300


def test_backoff_jitter_spreads_within_half_to_full_ceiling():
    b = Backoff(base_s=1.0)
    for attempt in range(1, 15):
        ceiling = b.ceiling(attempt)
        assert b.delay(attempt, 0.0) == pytest.approx(ceiling / 2)
        assert b.delay(attempt, 1.0) == pytest.approx(ceiling)
        draws = {round(b.delay(attempt, random.Random(seed).random()), 6) for seed in range(20)}
        assert len(draws) > 10  # jittered: agents of many sites do not retry in step
        assert all(ceiling / 2 <= d <= ceiling for d in draws)


def test_backoff_honours_retry_after_within_the_cap():
    b = Backoff(base_s=1.0)
    assert b.delay(1, 0.0, retry_after_s=30) == 30
    assert b.delay(1, 0.0, retry_after_s=3600) == 300
    assert b.delay(9, 1.0, retry_after_s=1) == 256


@given(st.integers(min_value=1, max_value=10**6), st.floats(min_value=0, max_value=1),
       st.floats(min_value=0.001, max_value=100))
def test_backoff_never_exceeds_the_cap(attempt, rand, base):
    assert 0 < Backoff(base_s=base).delay(attempt, rand) <= 300


# -- signing -----------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_newline_body():
    import hashlib
    import hmac

    body = b'{"batch_id":"x","records":[]}'
    expected = hmac.new(b"k", b"1700000000\n" + body, hashlib.sha256).hexdigest()
    assert protocol.signature("k", 1700000000, body) == expected


def _headers(secret="k", ts=1_700_000_000, body=b"{}", site="s1"):
    return protocol.signed_headers(site, secret, ts, body)


@pytest.mark.parametrize("change,code", [
    ({}, None),
    ({"secret": "other"}, "bad_signature"),
    ({"ts": 1_700_000_000 - 301}, "timestamp_skew"),
    ({"ts": 1_700_000_000 + 301}, "timestamp_skew"),
    ({"ts": 1_700_000_000 - 300}, None),
    ({"site": "s2"}, "site_mismatch"),
])
def test_verify(change, code):
    args = {"secret": "k", "ts": 1_700_000_000, "body": b"{}", "site": "s1", **change}
    failure = protocol.verify("k", _headers(**args), b"{}", site_id="s1", now=1_700_000_000)
    assert (failure.code if failure else None) == code


def test_verify_rejects_tampered_body_unknown_site_and_bad_timestamp():
    h = _headers(body=b'{"a":1}')
    assert protocol.verify("k", h, b'{"a":2}', site_id="s1", now=1_700_000_000).code == "bad_signature"
    assert protocol.verify(None, h, b'{"a":1}', site_id="s1", now=1_700_000_000).code == "unknown_site"
    h[protocol.H_TIMESTAMP] = "soon"
    assert protocol.verify("k", h, b'{"a":1}', site_id="s1", now=1_700_000_000).code == "bad_timestamp"


# -- batches and records -----------------------------------------------------------------


def _row(i, kind="ticket", data=None):
    return {"id": i, "key": f"s1:{kind}:{i}:1", "kind": kind, "op": "upsert",
            "occurred_at": "2026-11-27T09:45:00+08:00", "data": json.dumps(data or {"id": i, "number": "A001"})}


def test_build_batch_keeps_rows_in_order_and_maps_keys_to_ids():
    batch = protocol.build_batch("b-1", [_row(3), _row(4), {**_row(5), "data": "{not json"}])
    body = json.loads(batch.body)
    assert body["batch_id"] == "b-1"
    assert [r["key"] for r in body["records"]] == ["s1:ticket:3:1", "s1:ticket:4:1"]
    assert body["records"][0] == {"key": "s1:ticket:3:1", "kind": "ticket", "op": "upsert",
                                  "occurred_at": "2026-11-27T09:45:00+08:00", "data": {"id": 3, "number": "A001"}}
    assert batch.ids_by_key == {"s1:ticket:3:1": 3, "s1:ticket:4:1": 4}
    assert batch.unsendable[0][:2] == (5, "s1:ticket:5:1")


@pytest.mark.parametrize("change,error", [
    ({}, None),
    ({"kind": "parcel", "key": "s1:parcel:1:1"}, "unknown kind 'parcel'"),
    ({"key": "s2:ticket:1:1"}, "key must be s1:ticket:<local_id>:<version>"),
    ({"key": "s1:ticket:1"}, "key must be"),
    ({"key": "s1:visit:1:1"}, "key must be"),
    ({"op": "merge"}, "op must be"),
    ({"occurred_at": "2026-11-27T09:45:00"}, "occurred_at must be"),
    ({"occurred_at": "yesterday"}, "occurred_at must be"),
    ({"data": [1]}, "data must be an object"),
])
def test_check_record(change, error):
    record = {"key": "s1:ticket:1:1", "kind": "ticket", "op": "upsert",
              "occurred_at": "2026-11-27T09:45:00+08:00", "data": {}, **change}
    why = protocol.check_record("s1", record)
    assert (why is None) if error is None else (error in why)


# -- what the agent does with an answer --------------------------------------------------

SENT = ["k1", "k2", "k3"]


def test_classify_200_accepts_and_rejects_per_key():
    body = json.dumps({"accepted": ["k1", "k3", "stranger"], "rejected": [{"key": "k2", "error": "bad"}]}).encode()
    d = protocol.classify(200, body, sent_keys=SENT)
    assert d.action == protocol.APPLY and d.accepted == ("k1", "k3") and d.rejected == (("k2", "bad"),)
    assert d.error is None


def test_classify_partial_answer_leaves_the_rest_for_later():
    d = protocol.classify(200, b'{"accepted": ["k1"], "rejected": []}', sent_keys=SENT)
    assert d.action == protocol.APPLY and d.accepted == ("k1",) and "2 records" in d.error


@pytest.mark.parametrize("status,body,action", [
    (None, b"", protocol.RETRY),
    (500, b"", protocol.RETRY),
    (502, b"<html>bad gateway</html>", protocol.RETRY),
    (503, b'{"error": {"code": "unavailable", "message": "busy"}}', protocol.RETRY),
    (429, b"", protocol.RETRY),
    (200, b"<html>captive portal</html>", protocol.RETRY),
    (401, b'{"error": {"code": "bad_signature", "message": "no"}}', protocol.STOP),
    (403, b"", protocol.STOP),
    (400, b'{"error": {"code": "bad_batch", "message": "no"}}', protocol.DEAD_LETTER),
    (413, b"", protocol.DEAD_LETTER),
    (404, b"", protocol.DEAD_LETTER),
    (302, b"", protocol.RETRY),
])
def test_classify_status(status, body, action):
    d = protocol.classify(status, body, sent_keys=SENT, transport_error="ConnectError" if status is None else None)
    assert d.action == action
    if action != protocol.APPLY:
        assert d.error


def test_classify_keeps_the_central_error_text_and_retry_after():
    d = protocol.classify(401, b'{"error": {"code": "bad_signature", "message": "no match"}}')
    assert d.error == "HTTP 401 bad_signature: no match"
    assert protocol.classify(429, b"", retry_after="12").retry_after_s == 12


def test_parse_directory():
    assert protocol.parse_directory(b'{"residents": [{"id": "r1"}], "cursor": "7"}') == ([{"id": "r1"}], "7")
    assert protocol.parse_directory(b'{"residents": [], "cursor": 9}') == ([], "9")
    for bad in (b"[]", b'{"cursor": "1"}', b"nope"):
        with pytest.raises(ValueError):
            protocol.parse_directory(bad)


def test_directory_row_keeps_usable_entries_only():
    row = protocol.directory_row({"id": 7, "name": "张三", "unit": None, "phone": "+86 138-0013-8000",
                                  "id_hash": "abc", "active": False})
    assert row == {"id": "7", "name": "张三", "unit": "", "phone": "+86 138-0013-8000", "phone_norm": "13800138000",
                   "id_hash": "abc", "active": 0}
    assert protocol.directory_row({"id": " r1 ", "name": "x", "phone": 5, "id_hash": ""}) == \
        {"id": "r1", "name": "x", "unit": "", "phone": "", "phone_norm": "", "id_hash": None, "active": 1}
    for bad in (None, [], {"id": True, "name": "x"}, {"id": " ", "name": "x"}, {"id": "r1"}, {"id": "r1", "name": 3}):
        assert protocol.directory_row(bad) is None


# -- progress ----------------------------------------------------------------------------


def test_progress_line_shows_bar_count_rate_and_eta():
    line = render(2500, 10000, 2.0, width=20)
    assert line == "sync [#####...............] 2,500/10,000  25% 1,250 rec/s  ETA 00:06"
    assert render(0, 0, 0.0).endswith("0 rec/s  ETA --:--")


class FakeTty:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_only_on_a_terminal():
    import io

    assert Progress.for_stream(io.StringIO(), 10) is None
    tty = FakeTty()
    bar = Progress.for_stream(tty, 1000)
    bar.update(500)
    bar.close()
    assert "\r" in tty.text and "500/1,000" in tty.text and tty.text.endswith("\n")


# -- directory CSV -----------------------------------------------------------------------

GOOD_ID = "11010519491231002X"


def test_id_number_check_digit():
    assert valid_id_number(GOOD_ID) and valid_id_number(GOOD_ID.lower())
    assert not valid_id_number("110105194912310021")
    assert not valid_id_number("1101051949123100")


def test_read_csv_hashes_id_numbers_and_reports_bad_lines():
    text = ("\ufeffid,name,unit,phone,id_number\n"
            f"r1,张三,1-101,138 0013 8000,{GOOD_ID}\n"
            "r2,李四,1-102,,\n"
            ",nobody,1-103,,\n"
            "r4,王五,2-201,,123\n")
    entries, errors = read_csv(text, b"key")
    assert [e.id for e in entries] == ["r1", "r2"]
    assert entries[0].id_hash == id_hash(b"key", GOOD_ID) and GOOD_ID not in repr(entries)
    assert entries[1].id_hash is None
    assert errors == ["line 4: id and name are required",
                      "line 5: id_number is not a valid 18-character ID number"]
    assert read_csv("name,phone\nx,1\n", b"k")[1][0].startswith("header must be")


def test_clock_offset_only_for_timestamp_skew_with_a_date():
    skew = b'{"error": {"code": "timestamp_skew", "message": "off"}}'
    date = "Fri, 27 Nov 2026 02:00:00 GMT"  # 1795744800
    assert protocol.clock_offset(401, skew, date, 1795744800 - 3600) == 3600
    assert protocol.clock_offset(401, b'{"error": {"code": "bad_signature", "message": "x"}}', date, 0) is None
    assert protocol.clock_offset(401, skew, None, 0) is None
    assert protocol.clock_offset(401, skew, "not a date", 0) is None
    assert protocol.clock_offset(200, skew, date, 0) is None
