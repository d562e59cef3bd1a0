"""Upstream adapter for the current Messages API (/2010-04-01/Accounts/{sid}/Messages.json)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from gateway import errors
from gateway.model import ApiError, Credentials, ListFilter, ListQuery, Message, Page, SendRequest
from gateway.paging import Paginator
from gateway.upstream.http import UpstreamClient
from gateway.upstream.messages_json import list_params, message_from_json, send_form


def _next_token(next_page_uri: object) -> str | None:
    if not next_page_uri or not isinstance(next_page_uri, str):
        return None
    tokens = parse_qs(urlsplit(next_page_uri).query).get("PageToken")
    return tokens[0] if tokens else None


class MessagesUpstream:
    def __init__(self, client: UpstreamClient, paginator: Paginator) -> None:
        self._client = client
        self._paginator = paginator

    async def create(self, creds: Credentials, account_sid: str, req: SendRequest) -> Message:
        data = await self._client.call(
            "POST", f"/2010-04-01/Accounts/{account_sid}/Messages.json", creds, form=send_form(req)
        )
        return message_from_json(data)

    async def fetch(self, creds: Credentials, account_sid: str, sid: str) -> Message:
        data = await self._client.call(
            "GET", f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json", creds
        )
        return message_from_json(data)

    async def list(self, creds: Credentials, account_sid: str, query: ListQuery) -> Page:
        path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"

        async def fetch_page(
            flt: ListFilter, page_size: int, token: str | None
        ) -> tuple[Sequence[Message], str | None]:
            params = list_params(flt, page_size)
            if token is not None:
                params.append(("PageToken", token))
            data = await self._client.call("GET", path, creds, params=params)
            items = data.get("messages") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise ApiError(
                    502, "Upstream answered a list without messages", errors.UPSTREAM_BAD_RESPONSE
                )
            return [message_from_json(m) for m in items], _next_token(data.get("next_page_uri"))

        return await self._paginator.page(account_sid, query, fetch_page)
