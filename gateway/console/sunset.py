"""Deprecation signalling on legacy answers, for operators who set a sunset date.

``Sunset`` (RFC 8594) carries the HTTP date the legacy endpoints go away, ``Deprecation``
(RFC 9745) the structured-field date (``@`` epoch seconds) they were deprecated, and ``Link``
the migration guide with the relation types both RFCs register. Legacy clients ignore unknown
headers; modern tooling reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.config import Settings
from gateway.console.settings import parse_date, sunset_date

# The legacy clients' own answers (callbacks and webhooks answer Twilio).
_SIGNALLED = frozenset({"v2008", "sms2010"})


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def headers(settings: Settings, started: date) -> dict[str, str] | None:
    sunset = sunset_date(settings)
    if sunset is None:
        return None
    deprecated = (
        parse_date("deprecation_date", "GATEWAY_DEPRECATION_DATE", settings.deprecation_date)
        or min(started, sunset)
    )
    link = settings.sunset_link
    return {
        "Sunset": format_datetime(_midnight(sunset), usegmt=True),
        "Deprecation": f"@{int(_midnight(deprecated).timestamp())}",
        "Link": f'<{link}>; rel="deprecation"; type="text/html", <{link}>; rel="sunset"',
    }


def days_left(settings: Settings, today: date) -> int | None:
    sunset = sunset_date(settings)
    return None if sunset is None else (sunset - today).days


class SunsetHeaders:
    """The observability middleware's answer hook adding the headers to legacy answers."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def __call__(
        self,
        request: web.Request,
        ctx: Mapping[Any, Any],
        status: int,
        response: web.StreamResponse | None,
    ) -> None:
        if response is not None and ctx.get(keys.DIALECT) in _SIGNALLED:
            response.headers.update(self.values)
