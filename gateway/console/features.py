"""The legacy features the ledger counts, and their detection in parsed requests (pure).

A handler calls :func:`note` with what :func:`of_list` or :func:`of_send` found; the ledger
reads the set after the answer (``keys.LEGACY_FEATURES``). Paging is decided by the ledger
itself (:data:`PAGE_NUMBER` becomes :data:`PAGE_FOLLOW` or :data:`PAGE_JUMP`), since only it
knows which page the same client asked for before; a refused long body is read from the
answer's Twilio code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from aiohttp import web

from gateway import keys
from gateway.model import ListQuery, Page, SendRequest

# Set by the list handlers for Page > 0; the ledger replaces it with one of the next two.
PAGE_NUMBER: Final = "page_number"
PAGE_FOLLOW: Final = "page_follow"
PAGE_JUMP: Final = "page_jump"
TOTALS: Final = "totals"
PAGE_SIZE_OVER_50: Final = "page_size_over_50"
DATE_SENT_FILTER: Final = "date_sent_filter"
STATUS_CALLBACK: Final = "status_callback"
SMS_TWIML: Final = "sms_twiml"
NON_E164: Final = "non_e164_number"
BODY_OVER_160: Final = "body_over_160_refused"

# Every feature the ledger may record, in the order the console lists them. A closed set: it
# is a metric label.
RECORDED: Final = (
    PAGE_JUMP, PAGE_FOLLOW, TOTALS, PAGE_SIZE_OVER_50, DATE_SENT_FILTER, STATUS_CALLBACK,
    SMS_TWIML, NON_E164, BODY_OVER_160,
)
# Twilio's code for a legacy send's body over 160 characters.
BODY_TOO_LONG_CODE: Final = 21605
LEGACY_PAGE_SIZE: Final = 50

Pairs = Sequence[tuple[str, str]]


def note(request: web.Request, features: Iterable[str]) -> None:
    """Add ``features`` to the request's set (several places of one request may add)."""
    found = frozenset(features)
    if found:
        request[keys.LEGACY_FEATURES] = request.get(keys.LEGACY_FEATURES, frozenset()) | found


def note_list(request: web.Request, pairs: Pairs, query: ListQuery, page: Page) -> None:
    """What a legacy list answer used, and where in its list it was."""
    note(request, of_list(pairs, query, page))
    request[keys.LIST_POSITION] = (query.filter.cache_key(), query.page_size, query.page)


def _first(pairs: Pairs, name: str) -> str | None:
    for key, value in pairs:
        if key == name:
            return value
    return None


def _not_e164(raw: str | None, normalised: str | None) -> bool:
    """A number the client wrote otherwise than the E.164 the current API insists on (short
    codes and sender ids are left as they are and count as written right)."""
    if not raw or not normalised or not normalised.startswith("+"):
        return False
    return raw.strip() != normalised


def of_list(pairs: Pairs, query: ListQuery, page: Page) -> frozenset[str]:
    found: set[str] = set()
    if query.page > 0:
        found.add(PAGE_NUMBER)
    if page.total is not None:
        found.add(TOTALS)
    if query.page_size > LEGACY_PAGE_SIZE:
        found.add(PAGE_SIZE_OVER_50)
    flt = query.filter
    if flt.date_sent or flt.date_sent_before or flt.date_sent_after:
        found.add(DATE_SENT_FILTER)
    if _not_e164(_first(pairs, "To"), flt.to) or _not_e164(_first(pairs, "From"), flt.from_):
        found.add(NON_E164)
    return frozenset(found)


def of_send(send: SendRequest) -> frozenset[str]:
    found: set[str] = set()
    if send.status_callback:
        found.add(STATUS_CALLBACK)
    if _not_e164(send.to_as_sent, send.to) or _not_e164(send.from_as_sent, send.from_):
        found.add(NON_E164)
    return frozenset(found)
