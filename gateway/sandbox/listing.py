"""List queries (pure parts): reading filters and paging parameters, the opaque PageToken,
and the list envelopes of both resources.

A PageToken names a position in the list, not an offset: ``PA`` + base64url of
``n|p : date_sent-or-created µs : date_created µs : arrival``, meaning "strictly older than"
(next page) or "strictly newer than" (previous page) that message. New messages are newer than
every position already handed out, so they never shift the pages a client is walking.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from gateway.model import ApiError
from gateway.sandbox.numbers_rules import normalize_filter
from gateway.sandbox.render import API_BASE, message_json, sms_message_json
from gateway.sandbox.store import Filter, SortKey, StoredMessage

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
INVALID_PARAMETER = 20001  # the sandbox's code for an out-of-range list parameter
INVALID_PAGE_TOKEN = 21481
FILTER_KEYS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


@dataclass(frozen=True, slots=True)
class Cursor:
    direction: str  # "n": older than key (next page); "p": newer than key (previous page)
    key: SortKey


def encode_token(cursor: Cursor) -> str:
    raw = f"{cursor.direction}:{cursor.key[0]}:{cursor.key[1]}:{cursor.key[2]}".encode()
    return "PA" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> Cursor:
    bad = ApiError(400, f"Invalid PageToken: {token[:64]!r}", INVALID_PAGE_TOKEN)
    if not token.startswith("PA") or len(token) > 200:
        raise bad
    payload = token[2:]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("ascii")
        direction, *parts = raw.split(":")
        key = tuple(int(p) for p in parts)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    if direction not in ("n", "p") or len(key) != 3:
        raise bad
    return Cursor(direction, (key[0], key[1], key[2]))


def int_param(query: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter within [lo, hi]; anything else is Twilio's 400."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ApiError(
            400, f"{name} must be an integer between {lo} and {hi}", INVALID_PARAMETER
        )
    return value


def day_param(query: Mapping[str, str], name: str) -> date | None:
    """A date filter's day (``YYYY-MM-DD``, or a timestamp's day); anything else is a 400."""
    raw = query.get(name)
    if not raw:
        return None
    text = raw.strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise ApiError(
            400, f"{name} must be a date in the form YYYY-MM-DD", INVALID_PARAMETER
        ) from None


def parse_filter(query: Mapping[str, str]) -> Filter:
    to, from_ = query.get("To"), query.get("From")
    return Filter(
        to=normalize_filter(to) if to else None,
        from_=normalize_filter(from_) if from_ else None,
        date_sent=day_param(query, "DateSent"),
        date_sent_before=day_param(query, "DateSent<"),
        date_sent_after=day_param(query, "DateSent>"),
    )


@dataclass(frozen=True, slots=True)
class ListParams:
    filter: Filter
    page_size: int
    page: int
    filter_pairs: tuple[tuple[str, str], ...]  # as the client sent them, for the links
    cursor: Cursor | None = None


def parse_list_params(query: Mapping[str, str], *, cursors: bool) -> ListParams:
    """Filters and paging of a list request. With ``cursors`` (the current API) ``Page`` is
    "simply for client state" (Twilio's description): it only numbers the page, the
    PageToken says where it starts."""
    token = query.get("PageToken") if cursors else None
    return ListParams(
        filter=parse_filter(query),
        page_size=int_param(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        page=int_param(query, "Page", 0, 0, 10**9),
        filter_pairs=tuple((k, query[k]) for k in FILTER_KEYS if query.get(k)),
        cursor=decode_token(token) if token else None,
    )


def _link(path: str, pairs: Sequence[tuple[str, str]], **extra: Any) -> str:
    return path + "?" + urlencode([*pairs, *((k, str(v)) for k, v in extra.items())])


def cursor_page_json(
    account_sid: str,
    q: ListParams,
    messages: Sequence[StoredMessage],
    *,
    has_older: bool,
    has_newer: bool,
) -> dict[str, Any]:
    """The current API's list envelope (no total, num_pages or last_page_uri)."""
    path = f"{API_BASE}/{account_sid}/Messages.json"
    pairs = q.filter_pairs
    current: dict[str, Any] = {"PageSize": q.page_size, "Page": q.page}
    if q.cursor is not None:
        current["PageToken"] = encode_token(q.cursor)
    next_uri = prev_uri = None
    if has_older and messages:
        next_uri = _link(
            path, pairs, PageSize=q.page_size, Page=q.page + 1,
            PageToken=encode_token(Cursor("n", messages[-1].sort_key)),
        )
    if has_newer and messages:
        prev_uri = _link(
            path, pairs, PageSize=q.page_size, Page=max(q.page - 1, 0),
            PageToken=encode_token(Cursor("p", messages[0].sort_key)),
        )
    start = q.page * q.page_size
    return {
        "first_page_uri": _link(path, pairs, PageSize=q.page_size, Page=0),
        "end": start + max(len(messages) - 1, 0),
        "previous_page_uri": prev_uri,
        "messages": [message_json(m) for m in messages],
        "uri": _link(path, pairs, **current),
        "page_size": q.page_size,
        "start": start,
        "next_page_uri": next_uri,
        "page": q.page,
    }


def numbered_page_json(
    account_sid: str,
    q: ListParams,
    messages: Sequence[StoredMessage],
    total: int,
    request_query: str,
) -> dict[str, Any]:
    """The deprecated /SMS/Messages list envelope, with totals and page-number links."""
    path = f"{API_BASE}/{account_sid}/SMS/Messages.json"
    pairs = q.filter_pairs
    num_pages = -(-total // q.page_size)
    last = max(num_pages - 1, 0)
    start = q.page * q.page_size

    def link(page: int) -> str:
        return _link(path, pairs, Page=page, PageSize=q.page_size)

    return {
        "page": q.page,
        "num_pages": num_pages,
        "page_size": q.page_size,
        "total": total,
        "start": start,
        "end": start + max(len(messages) - 1, 0),
        "uri": path + ("?" + request_query if request_query else ""),
        "first_page_uri": link(0),
        "previous_page_uri": link(q.page - 1) if q.page > 0 else None,
        "next_page_uri": link(q.page + 1) if q.page < last else None,
        "last_page_uri": link(last),
        "sms_messages": [sms_message_json(m) for m in messages],
    }
