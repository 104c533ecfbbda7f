"""The pure decoder of the printer's `DLE EOT 1..4` answer (no I/O: milliseconds)."""

from __future__ import annotations

import pytest

from kiosk.devices.printer import (
    CLEAN,
    STATUS_QUERY,
    PrinterState,
    decode_status,
    encode_status,
)
from tests.peers import STATUS_BYTES


def _answer(fault: str | None) -> bytes:
    return bytes(STATUS_BYTES[fault][n] for n in (1, 2, 3, 4))


def test_the_query_is_dle_eot_1_to_4() -> None:
    assert bytes.fromhex("10 04 01 10 04 02 10 04 03 10 04 04") == STATUS_QUERY


def test_a_clean_answer_prints() -> None:
    state = decode_status(bytes([0x12, 0x12, 0x12, 0x12]))
    assert state == CLEAN
    assert state.prints and state.reason is None


@pytest.mark.parametrize("answer, reason, prints", [
    ("1a 32 12 7e", "paper_out", False),   # offline, paper-end stop, near end + end sensors
    ("12 12 12 60", None, None),           # n=4 byte with wrong fixed bits: not an answer (below)
    ("12 12 12 72", "paper_out", False),   # roll sensor says end (bits 5-6) only
    ("12 32 12 12", "paper_out", False),   # offline cause: paper-end stop only
    ("12 12 12 1e", "paper_low", True),    # near end (bits 2-3): still prints
    ("12 12 12 16", "paper_low", True),    # one near-end bit is enough
    ("1a 16 12 12", "cover_open", False),
    ("1a 52 12 12", "printer_error", False),  # n=2 bit 6: an error occurred
    ("12 12 1a 12", "printer_error", False),  # n=3 bit 3: auto-cutter error
    ("12 12 32 12", "printer_error", False),  # n=3 bit 5: unrecoverable error
    ("12 12 52 12", "printer_error", False),  # n=3 bit 6: auto-recoverable error
    ("1a 12 12 12", "offline", False),     # offline with no cause given
    ("12 12 12 12", None, True),
])
def test_each_bit_gives_its_reason(answer: str, reason: str | None, prints: bool | None) -> None:
    data = bytes.fromhex(answer)
    if prints is None:
        with pytest.raises(ValueError, match="not a DLE EOT status answer"):
            decode_status(data)
        return
    state = decode_status(data)
    assert (state.reason, state.prints) == (reason, prints)


def test_paper_out_outranks_cover_open_and_near_end() -> None:
    state = decode_status(bytes.fromhex("1a 36 12 7e"))
    assert state.paper_end and state.cover_open and state.paper_near_end
    assert state.reason == "paper_out"


def test_a_printer_without_dle_eot_4_is_decoded_from_what_it_sent() -> None:
    assert decode_status(bytes.fromhex("12 12")) == CLEAN
    assert decode_status(bytes.fromhex("1a 32")).reason == "paper_out"


@pytest.mark.parametrize("answer", [b"", b"\x00\x00\x00\x00", b"OK\r\n", b"\x12\x12\x12\x12\x12", b"\xff"])
def test_garbage_or_nothing_is_not_an_answer(answer: bytes) -> None:
    with pytest.raises(ValueError):
        decode_status(answer)


@pytest.mark.parametrize("fault", sorted(STATUS_BYTES, key=str))
def test_the_test_printer_answers_decode_to_its_fault(fault: str | None) -> None:
    expected = {None: None, "paper_near_end": "paper_low", "paper_end": "paper_out",
                "cover_open": "cover_open", "error": "printer_error"}[fault]
    assert decode_status(_answer(fault)).reason == expected


@pytest.mark.parametrize("state", [
    CLEAN, PrinterState(paper_near_end=True), PrinterState(offline=True, paper_end=True, paper_near_end=True),
    PrinterState(offline=True, cover_open=True), PrinterState(offline=True, error=True),
])
def test_encode_is_the_inverse_of_decode(state: PrinterState) -> None:
    assert decode_status(encode_status(state)) == state
