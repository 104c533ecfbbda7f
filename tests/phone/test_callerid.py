"""The pure caller-ID parser, line by line, with an explicit clock (no threads, no sleeps)."""

from __future__ import annotations

from kiosk.devices.callerid import CallerIdParser, clean_line, format_block, reply_kind


def feed_all(parser: CallerIdParser, data: bytes | list[str], start: float = 0.0, step: float = 0.05):
    lines = data.decode().split("\r\n") if isinstance(data, bytes) else data
    calls, now = [], start
    for line in lines:
        calls += parser.feed(line, now)
        now += step
    return calls, now


def test_formatted_block_gives_one_call_with_all_fields():
    calls, _ = feed_all(CallerIdParser(), format_block("13800138000", "ZHANG SAN", date="1127", time="0945"))
    assert len(calls) == 1
    call = calls[0]
    assert (call.number, call.name, call.kind, call.date, call.time) == ("13800138000", "ZHANG SAN", "normal",
                                                                         "1127", "0945")
    assert call.modem_stamp == "1127 0945"


def test_private_and_out_of_area():
    private, _ = feed_all(CallerIdParser(), format_block("P", "P"))
    away, _ = feed_all(CallerIdParser(), format_block("O"))
    assert [(c.kind, c.number, c.name) for c in private] == [("private", "", "")]
    assert [(c.kind, c.number, c.name) for c in away] == [("out_of_area", "", "")]


def test_more_rings_of_the_same_call_make_no_second_call():
    parser = CallerIdParser()
    calls, now = feed_all(parser, format_block("13800138000", "A"))
    for _ in range(4):
        now += 5.0
        calls += parser.feed("RING", now)
    assert len(calls) == 1 and parser.rings == 6


def test_block_without_name_is_reported_at_next_ring_or_after_timeout():
    parser = CallerIdParser(block_timeout_s=1.5)
    calls, now = feed_all(parser, ["RING", "DATE = 1127", "TIME = 0945", "NMBR = 01012345678"])
    assert calls == []
    assert [c.number for c in parser.feed("RING", now + 3)] == ["01012345678"]
    parser = CallerIdParser(block_timeout_s=1.5)
    _, now = feed_all(parser, ["NMBR=13900000000"])
    assert parser.tick(now + 0.5) == []
    assert [c.number for c in parser.tick(now + 2)] == ["13900000000"]


def test_garbage_and_noise_are_ignored():
    parser = CallerIdParser()
    junk = ["\x00\x7f\x1b[2J", "NMBR = not-a-number!!", "+++", "ATH", "CONNECT 2400", "DATE 1127", "=",
            "NAME = ", "\ufffd\ufffd"]
    calls, now = feed_all(parser, junk)
    calls += parser.tick(now + 10)
    assert calls == []
    assert parser.noise >= 5
    more, _ = feed_all(parser, format_block("13800138000", "OK NOW"), start=now + 20)
    assert [c.number for c in more] == ["13800138000"]


def test_block_cut_in_half_then_a_full_block():
    parser = CallerIdParser()
    calls, now = feed_all(parser, ["RING", "DATE = 1127", "TIME = 09"])   # the line dropped mid-block
    calls += feed_all(parser, format_block("13700000000", "LI SI"), start=now)[0]
    assert [(c.number, c.name) for c in calls] == [("13700000000", "LI SI")]


def test_cut_block_with_a_number_is_still_reported_when_the_next_begins():
    parser = CallerIdParser()
    calls, now = feed_all(parser, ["DATE = 1127", "TIME = 0945", "NMBR = 13600000000"])
    calls += feed_all(parser, ["DATE = 1127", "TIME = 0946", "NMBR = P", "NAME = P"], start=now)[0]
    assert [(c.number, c.kind) for c in calls] == [("13600000000", "normal"), ("", "private")]


def test_unusual_spacing_case_and_bytes():
    parser = CallerIdParser()
    calls = parser.feed(b"nmbr:+86 138 0013 8000\r", 0) + parser.feed(b"Name=\xff\xfeWANG\r", 0.1)
    assert [(c.number, c.name) for c in calls] == [("+86 138 0013 8000", "WANG")]


def test_clean_line_and_reply_kind():
    assert clean_line(b"\x00OK\r\n") == "OK"
    assert reply_kind("OK", "ATZ") == "ok"
    assert reply_kind("ATZ", "ATZ") == "echo"
    assert reply_kind("ERROR", "AT+VCID=1") == "error"
    assert reply_kind("RING", "ATZ") == "other"
