"""Dates: RFC 2822 on every side (current API, 2008 and 2010-sms dialects)."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache


def parse_rfc2822(value: object) -> datetime | None:
    """An RFC 2822 date string -> aware datetime; empty or unreadable -> None.

    Unreadable dates become None rather than an error because a message with a strange date is
    still a message the legacy client should see (its date element is then empty)."""
    if not value or not isinstance(value, str):
        return None
    return _parse(value)


@lru_cache(maxsize=4096)
def _parse(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def format_rfc2822(value: datetime | None, tz: tzinfo | None = None) -> str:
    """Aware datetime -> RFC 2822 with a numeric offset, as Twilio writes it
    (``Wed, 18 Aug 2010 20:01:40 +0000``); None -> ''."""
    if value is None:
        return ""
    value = value.astimezone(tz or timezone.utc)
    return format_datetime(value)
