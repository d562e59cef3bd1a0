"""Dates: RFC 2822 on every side (current API, 2008 and 2010-sms dialects), an optional legacy
time zone for rendering, and the calendar days legacy list filters take."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_rfc2822(value: object) -> datetime | None:
    """An RFC 2822 date string -> aware datetime; empty or unreadable -> None.

    Unreadable dates become None rather than an error because a message with a strange date is
    still a message the legacy client should see (its date element is then empty)."""
    if not value or not isinstance(value, str):
        return None
    return _parse(value)


# The form Twilio writes (``Wed, 18 Aug 2010 20:01:40 +0000``), read without the email
# package's general parser: a page of 1000 messages carries 3000 dates.
_CANONICAL = re.compile(
    r"[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) ([1-9]\d{3}) (\d{2}):(\d{2}):(\d{2}) \+0000"
)
_MONTH_NUMBERS = {name: i for i, name in enumerate(_MONTHS, start=1)}


@lru_cache(maxsize=4096)
def _parse(value: str) -> datetime | None:
    match = _CANONICAL.fullmatch(value)
    if match is not None and (month := _MONTH_NUMBERS.get(match[2])):
        try:
            return datetime(
                int(match[3]), month, int(match[1]), int(match[4]), int(match[5]),
                int(match[6]), tzinfo=UTC,
            )
        except ValueError:
            pass  # the general parser decides what an impossible date is
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_rfc2822(value: datetime | None, tz: tzinfo | None = None) -> str:
    """Aware datetime -> RFC 2822 with a numeric offset, as Twilio writes it
    (``Wed, 18 Aug 2010 20:01:40 +0000``); None -> ''. The same text as
    ``email.utils.format_datetime``, written directly for UTC: that one goes through
    ``strftime``, and a page of 1000 messages carries 3000 dates."""
    if value is None:
        return ""
    value = value.astimezone(tz or UTC)
    if value.utcoffset():
        return format_datetime(value)
    return (
        f"{_DAYS[value.weekday()]}, {value.day:02d} {_MONTHS[value.month - 1]} "
        f"{value.year:04d} {value.hour:02d}:{value.minute:02d}:{value.second:02d} +0000"
    )


@lru_cache(maxsize=64)
def legacy_zone(name: str) -> tzinfo | None:
    """The configured legacy time zone (``legacy_timezone``); '' -> None, meaning GMT as the
    upstream writes it. Names are checked when settings load, so an unknown one is a bug."""
    if not name:
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def format_legacy(value: datetime | None, zone_name: str = "") -> str:
    """A date as a legacy dialect shows it: RFC 2822 in the configured legacy time zone.
    Cached: every message has three dates, and pollers ask for the same messages again and
    again (formatting is most of a message's rendering cost)."""
    return format_rfc2822(value, legacy_zone(zone_name))


def parse_day(value: str) -> date | None:
    """A legacy list filter day (``YYYY-MM-DD``) -> date; anything else -> None."""
    text = value.strip()
    if len(text) != 10:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None
