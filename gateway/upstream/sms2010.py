"""Upstream adapter for the deprecated 2010-04-01 /SMS/Messages resource
(``/2010-04-01/Accounts/{sid}/SMS/Messages.json``), for accounts that still have it.

That resource pages by number and counts its lists itself, so legacy paging passes straight
through (``Page``/``PageSize`` in, ``total``/``num_pages`` out): no cursor walk, no cache, one
upstream request per legacy page. Its statuses are already legacy (``queued sending sent failed
received``); each is also a status of the current API's vocabulary, so it is taken into the
canonical model as it is: ``sent`` stays ``sent`` (the 2008 and 2010 dialects both show it as
sent), ``received`` stays ``received`` (2008 shows it as sent, 2010 as received).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway import errors
from gateway.model import ApiError, Credentials, ListQuery, Message, Page, SendRequest
from gateway.paging import num_pages as count_pages
from gateway.upstream.http import UpstreamClient
from gateway.upstream.messages_json import list_params, message_from_json, send_form

LIST_KEY = "sms_messages"


def _path(account_sid: str, sid: str | None = None) -> str:
    base = f"/2010-04-01/Accounts/{account_sid}/SMS/Messages"
    return (base + f"/{sid}" if sid else base) + ".json"


def _count(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if isinstance(value, bool):
        return None
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def page_from_json(data: Any, query: ListQuery) -> Page:
    """The resource's list envelope -> a legacy Page. Pure.

    ``total`` comes from upstream; ``num_pages`` is recomputed from it for the legacy page size
    with the gateway's own rule (an empty list has one empty page 0, as with the Messages
    upstream, where the resource itself said 0). Whether a next page exists is upstream's
    ``next_page_uri``, or, without one, what the total says."""
    items = data.get(LIST_KEY) if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise ApiError(
            502, "Upstream answered a list without sms_messages", errors.UPSTREAM_BAD_RESPONSE
        )
    messages = tuple(message_from_json(m) for m in items)
    total = _count(data, "total")
    start = query.page * query.page_size
    has_next = bool(data.get("next_page_uri"))
    if total is not None:
        # A total smaller than what this page proves would give a last page before this one.
        total = max(total, (start + len(messages) + int(has_next)) if messages else 0)
        has_next = has_next or start + query.page_size < total
    return Page(
        messages=messages,
        page=query.page,
        page_size=query.page_size,
        total=total,
        num_pages=count_pages(total, query.page_size) if total is not None else None,
        total_is_exact=total is not None,
        has_next=has_next,
        upstream_requests=1,
    )


class Sms2010Upstream:
    """The :class:`~gateway.upstream.base.Upstream` protocol over /SMS/Messages.json."""

    def __init__(self, client: UpstreamClient) -> None:
        self._client = client

    async def create(self, creds: Credentials, account_sid: str, req: SendRequest) -> Message:
        data = await self._client.call("POST", _path(account_sid), creds, form=send_form(req))
        return message_from_json(data)

    async def fetch(self, creds: Credentials, account_sid: str, sid: str) -> Message:
        data = await self._client.call("GET", _path(account_sid, sid), creds)
        return message_from_json(data)

    async def list(self, creds: Credentials, account_sid: str, query: ListQuery) -> Page:
        params = list_params(query.filter, query.page_size)
        params.append(("Page", str(query.page)))
        data = await self._client.call("GET", _path(account_sid), creds, params=params)
        return page_from_json(data, query)
