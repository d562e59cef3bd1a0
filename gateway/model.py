"""The canonical model every dialect and every upstream adapter speaks.

Dialects parse legacy requests into these types and render these types back into their legacy
wire shape; upstream adapters turn them into calls on the current API and its answers back into
them. Values use the *current* API's vocabulary (status ``delivered``, direction
``outbound-api``, E.164 numbers, aware datetimes); the rules that map them to a legacy
vocabulary live in :mod:`gateway.mapping`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

# What Twilio accepts as an AccountSid; match with fullmatch (``$`` would let a trailing
# newline through).
ACCOUNT_SID: Final = re.compile(r"AC[0-9a-fA-F]{32}")
# A message (or any resource) Sid: two capitals and 32 hex digits.
RESOURCE_SID: Final = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class Credentials:
    """HTTP Basic credentials as the client sent them; passed through to upstream, never logged."""

    username: str
    password: str

    def __repr__(self) -> str:  # keep tokens out of tracebacks and debug logs
        return f"Credentials(username={self.username!r}, password='****')"


@dataclass(frozen=True, slots=True)
class Message:
    """One message as the current API describes it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status: str
    direction: str
    date_created: datetime | None = None
    date_updated: datetime | None = None
    date_sent: datetime | None = None
    price: str | None = None
    price_unit: str | None = None
    api_version: str = "2010-04-01"
    error_code: int | None = None
    error_message: str | None = None
    num_segments: str | None = None
    messaging_service_sid: str | None = None


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A legacy send, numbers already normalised to E.164 (or a short code)."""

    to: str
    from_: str
    body: str
    status_callback: str | None = None
    application_sid: str | None = None
    # The strings the client sent, for the 'as-sent' number rendering.
    to_as_sent: str | None = None
    from_as_sent: str | None = None


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Legacy list filters, normalised. Dates are calendar days, as the legacy APIs took them."""

    to: str | None = None
    from_: str | None = None
    date_sent: date | None = None
    date_sent_before: date | None = None  # DateSent<= (legacy) / DateSent< (current): on or before
    date_sent_after: date | None = None  # DateSent>= (legacy) / DateSent> (current): on or after

    def cache_key(self) -> tuple[str, ...]:
        return (
            self.to or "",
            self.from_ or "",
            self.date_sent.isoformat() if self.date_sent else "",
            self.date_sent_before.isoformat() if self.date_sent_before else "",
            self.date_sent_after.isoformat() if self.date_sent_after else "",
        )


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A legacy list request: page number (0-based) and page size over a filter."""

    filter: ListFilter = field(default_factory=ListFilter)
    page: int = 0
    page_size: int = 50


@dataclass(frozen=True, slots=True)
class Page:
    """One legacy page of messages and what is known about the whole list.

    ``total`` and ``num_pages`` are None when the configured total mode does not compute them;
    ``total_is_exact`` is False when a bounded count stopped early.
    """

    messages: tuple[Message, ...]
    page: int
    page_size: int
    total: int | None = None
    num_pages: int | None = None
    total_is_exact: bool = True
    has_next: bool = False
    # How many upstream requests serving this page cost (cursor walk and total count together).
    upstream_requests: int = 0

    @property
    def start(self) -> int:
        return self.page * self.page_size

    @property
    def end(self) -> int:
        # Legacy APIs report the index of the last item shown; an empty page has end == start.
        return self.start + max(len(self.messages) - 1, 0)


class ApiError(Exception):
    """An error in Twilio's terms: HTTP status, Twilio error code, message.

    Raised by translation and upstream code alike; each dialect renders it in its own legacy
    error shape.
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: int | None = None,
        more_info: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.more_info = more_info or (
            f"https://www.twilio.com/docs/errors/{code}" if code is not None else None
        )
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code}, message={self.message!r})"
