"""Dates: RFC 2822 in and out, the legacy time zone, filter days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mapping.dates import format_legacy, format_rfc2822, parse_day, parse_rfc2822


def test_round_trip_gmt() -> None:
    value = parse_rfc2822("Wed, 18 Aug 2010 20:01:40 +0000")
    assert value == datetime(2010, 8, 18, 20, 1, 40, tzinfo=UTC)
    assert format_rfc2822(value) == "Wed, 18 Aug 2010 20:01:40 +0000"
    assert format_legacy(value) == "Wed, 18 Aug 2010 20:01:40 +0000"


def test_legacy_timezone_reproduces_the_2008_docs() -> None:
    # The seed's "Sun, 04 Oct 2009 03:48:08 -0700" is 10:48:08 GMT in Pacific daylight time.
    value = parse_rfc2822("Sun, 04 Oct 2009 10:48:08 +0000")
    assert format_legacy(value, "America/Los_Angeles") == "Sun, 04 Oct 2009 03:48:08 -0700"
    winter = datetime(2009, 12, 1, 12, tzinfo=UTC)
    assert format_legacy(winter, "America/Los_Angeles") == "Tue, 01 Dec 2009 04:00:00 -0800"


@pytest.mark.parametrize("raw", [None, "", "yesterday", 17, "Sun, 99 Foo 2009"])
def test_unreadable_dates_are_empty(raw: object) -> None:
    assert parse_rfc2822(raw) is None
    assert format_legacy(None, "America/Los_Angeles") == ""


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2009-07-06", date(2009, 7, 6)),
        (" 2009-07-06 ", date(2009, 7, 6)),
        ("2009-7-6", None),
        ("2009-02-30", None),
        ("07/06/2009", None),
        ("", None),
        ("2009-07-06T00:00", None),
    ],
)
def test_parse_day(raw: str, day: date | None) -> None:
    assert parse_day(raw) == day


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(9000, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(minutes=330))]),
    )
)
def test_rfc2822_is_what_the_email_package_writes(value: datetime) -> None:
    assert format_rfc2822(value) == format_datetime(value.astimezone(UTC))
    zone = timezone(timedelta(hours=-7))
    assert format_rfc2822(value, zone) == format_datetime(value.astimezone(zone))


def _email_parse(value: str) -> datetime | None:
    """What the email package reads, the way parse_rfc2822 used to."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)))
def test_twilio_dates_read_as_the_email_package_reads_them(value: datetime) -> None:
    text = format_datetime(value)
    assert parse_rfc2822(text) == _email_parse(text) == value.replace(microsecond=0)


@given(
    st.tuples(
        st.sampled_from(["Wed", "Xyz", "wed"]), st.integers(0, 40), st.sampled_from(["Aug", "Feb", "Foo"]),
        st.integers(0, 10_000), st.integers(0, 30), st.integers(0, 70), st.integers(0, 70),
        st.sampled_from(["+0000", "-0000", "+0130", "GMT"]),
    )
)
def test_near_twilio_dates_read_as_the_email_package_reads_them(parts: tuple[object, ...]) -> None:
    day, mday, month, year, hh, mm, ss, zone = parts
    text = f"{day}, {mday:02d} {month} {year:04d} {hh:02d}:{mm:02d}:{ss:02d} {zone}"
    assert parse_rfc2822(text) == _email_parse(text)
