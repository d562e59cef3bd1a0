"""Numbers in (legacy spellings -> E.164) and out (the 2008 renderings)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.mapping.numbers import normalise, parse_number, render_2008
from gateway.model import ApiError


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        # FACTS.md section 7 and the seeds.
        ("555-867-5309", "+15558675309"),  # possible, not valid: must go through
        ("415-555-1212", "+14155551212"),
        ("(415) 555-1212", "+14155551212"),
        ("1 415 555 1212", "+14155551212"),
        ("+1 415 555 1212", "+14155551212"),
        ("4158675309", "+14158675309"),
        ("6505551212", "+16505551212"),
        ("+14158141829", "+14158141829"),
        ("+44 20 7946 0958", "+442079460958"),
        ("  415.555.1212  ", "+14155551212"),
        # Short codes pass through unchanged.
        ("12345", "12345"),
        ("894546", "894546"),
    ],
)
def test_normalise(raw: str, e164: str) -> None:
    assert normalise(raw, "US") == e164
    assert parse_number(raw, "US", "To") == e164


@pytest.mark.parametrize(
    "raw",
    ["(xxx) xxx-xxx", "", "   ", "555-1212", "1234", "1234567", "+999 1", "hello", "+" + "1" * 80],
)
@pytest.mark.parametrize(("field", "code"), [("To", 21211), ("From", 21212)])
def test_unusable_numbers_are_the_fields_error(raw: str, field: str, code: int) -> None:
    assert normalise(raw, "US") is None
    with pytest.raises(ApiError) as info:
        parse_number(raw, "US", field)  # type: ignore[arg-type]
    assert (info.value.status, info.value.code) == (400, code)


def test_default_region_reads_national_numbers() -> None:
    assert normalise("020 7946 0958", "GB") == "+442079460958"
    assert normalise("020 7946 0958", "gb") == "+442079460958"
    assert normalise("020 7946 0958", "US") is None


@pytest.mark.parametrize(
    ("number", "fmt", "as_sent", "shown"),
    [
        ("+15558675309", "national", None, "5558675309"),  # seed 000
        ("+14155551212", "national", None, "4155551212"),
        ("+442079460958", "national", None, "+442079460958"),
        ("12345", "national", None, "12345"),
        ("+15558675309", "e164", None, "+15558675309"),
        ("+15558675309", "e164", "555-867-5309", "+15558675309"),
        ("+15558675309", "as-sent", "555-867-5309", "555-867-5309"),
        ("+15558675309", "as-sent", None, "5558675309"),  # falls back to national
        ("+1555867530", "national", None, "+1555867530"),  # not 10 digits: unchanged
        ("", "national", None, ""),
    ],
)
def test_render_2008(number: str, fmt: str, as_sent: str | None, shown: str) -> None:
    assert render_2008(number, fmt, as_sent) == shown


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.from_regex(r"\+?[0-9 ()\-.]{0,20}", fullmatch=True)))
def test_any_string_normalises_or_is_21211(raw: str) -> None:
    try:
        number = parse_number(raw, "US", "To")
    except ApiError as err:
        assert (err.status, err.code) == (400, 21211)
    else:
        assert number.isascii()
        assert (number.startswith("+") and number[1:].isdigit()) or number.isdigit()
