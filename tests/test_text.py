"""The one text cleaner (kiosk/text.py) and the domain errors (kiosk/errors.py), in milliseconds."""

import pytest

from kiosk import errors
from kiosk.errors import DomainError, Invalid
from kiosk.text import clean, multi_line, one_line


def test_whitespace_controls_become_spaces_on_one_line():
    assert one_line("  Zhang\tSan \r\n Room\x0b3\x0c\x1c4\x85 5\u2028six\u2029 ") == "Zhang San Room 3 4 5 six"


def test_other_controls_are_removed_so_words_stay_whole():
    assert one_line("Wa\x00ng\x1b[2J\x7f\x80\x9f!") == "Wang[2J!"


def test_ideographic_and_no_break_spaces_collapse_too():
    assert one_line("张\u3000三\u00a0 先生") == "张 三 先生"


def test_multi_line_keeps_lines_and_nothing_else():
    text = "\r\n first line \t \r second\x00 line\n\n\x1bthird\r\n\r\n"
    assert multi_line(text) == "first line\n second line\n\nthird"


def test_same_rule_single_and_multi_line():
    raw = "a\x00b\tc\x9fd\x7fe"
    assert one_line(raw) == multi_line(raw) == "ab cde"


def test_clean_refuses_over_long_input_counted_after_cleaning():
    assert clean("  " + "x" * 10 + "\x00\x00  ", "name", 10) == "x" * 10
    with pytest.raises(Invalid) as err:
        clean("x" * 11, "name", 10)
    assert (err.value.code, err.value.status) == ("too_long", 400)
    assert "'name'" in err.value.message


def test_clean_required_and_types():
    assert clean(None, "unit", 5) == ""
    with pytest.raises(Invalid) as err:
        clean(" \x00\t ", "name", 5, required=True)
    assert err.value.code == "missing_field"
    with pytest.raises(Invalid) as err:
        clean(5, "name", 5)
    assert err.value.code == "invalid_field"


def test_clean_multiline_keeps_newlines_single_line_does_not():
    assert clean("a\r\nb", "description", 10, multiline=True) == "a\nb"
    assert clean("a\r\nb", "contact_name", 10) == "a b"


@pytest.mark.parametrize("cls,status", [
    (errors.Invalid, 400), (errors.Unauthorized, 401), (errors.Forbidden, 403), (errors.NotFound, 404),
    (errors.Conflict, 409), (errors.Unsupported, 415), (errors.Unavailable, 503),
])
def test_each_domain_error_carries_its_status(cls, status):
    exc = cls("some_code", "a message")
    assert isinstance(exc, DomainError)
    assert (exc.status, exc.code, exc.message, str(exc)) == (status, "some_code", "a message", "a message")
