"""The contract between the dialects and whatever answers upstream."""

from __future__ import annotations

from typing import Protocol

from gateway.model import Credentials, ListQuery, Message, Page, SendRequest


class Upstream(Protocol):
    """What a dialect may ask of upstream. Implementations raise :class:`ApiError` for every
    failure, upstream's own errors and transport faults alike."""

    async def create(self, creds: Credentials, account_sid: str, req: SendRequest) -> Message: ...

    async def fetch(self, creds: Credentials, account_sid: str, sid: str) -> Message: ...

    async def list(self, creds: Credentials, account_sid: str, query: ListQuery) -> Page: ...
