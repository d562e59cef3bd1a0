"""Fixtures for the 2008 dialect: an in-memory upstream and a gateway wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.app import UPSTREAM, create_app
from gateway.config import Settings
from gateway.model import ApiError, Credentials, ListQuery, Message, Page, SendRequest
from tests.support.auth import basic_auth

ACCOUNT = "AC309475e5fede1b49e100272a8640f438"
TOKEN = "secret-token"
AUTH = basic_auth(ACCOUNT, TOKEN)
BASE = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"


@dataclass
class FakeUpstream:
    """The Upstream protocol over a list; records every call; ``fail`` makes the next calls
    raise that error."""

    messages: list[Message] = field(default_factory=list)
    calls: list[tuple[str, object]] = field(default_factory=list)
    fail: ApiError | None = None
    total_known: bool = True

    def _check(self, op: str, arg: object) -> None:
        self.calls.append((op, arg))
        if self.fail is not None:
            raise self.fail

    async def create(self, creds: Credentials, account_sid: str, req: SendRequest) -> Message:
        self._check("create", req)
        msg = Message(
            sid=f"SM{len(self.messages):032x}",
            account_sid=account_sid,
            to=req.to,
            from_=req.from_,
            body=req.body,
            status="queued",
            direction="outbound-api",
            date_created=datetime(2009, 10, 4, 10, 48, 8, tzinfo=UTC),
            date_updated=datetime(2009, 10, 4, 10, 48, 8, tzinfo=UTC),
        )
        self.messages.append(msg)
        return msg

    async def fetch(self, creds: Credentials, account_sid: str, sid: str) -> Message:
        self._check("fetch", sid)
        for msg in self.messages:
            if msg.sid == sid:
                return msg
        raise ApiError(404, f"The requested resource {sid} was not found", 20404)

    async def list(self, creds: Credentials, account_sid: str, query: ListQuery) -> Page:
        self._check("list", query)
        flt = query.filter
        found = [
            m for m in self.messages
            if (flt.to is None or m.to == flt.to) and (flt.from_ is None or m.from_ == flt.from_)
        ]
        start = query.page * query.page_size
        shown = found[start:start + query.page_size]
        total = len(found) if self.total_known else None
        return Page(
            messages=tuple(shown),
            page=query.page,
            page_size=query.page_size,
            total=total,
            num_pages=None if total is None else max(1, -(-total // query.page_size)),
            has_next=start + query.page_size < len(found),
        )


MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def fake() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[TestClient]], fake: FakeUpstream
) -> MakeClient:
    """A gateway client over ``fake``; keyword arguments are Settings fields."""

    async def make(*, middlewares: tuple[Any, ...] = (), **overrides: object) -> TestClient:
        app = create_app(Settings(**overrides))  # type: ignore[arg-type]
        # Outermost, as the access log is: they see the answer after the guard rendered it.
        app.middlewares[:0] = middlewares

        async def use_fake(app: web.Application) -> AsyncIterator[None]:
            app[UPSTREAM] = fake
            yield

        app.cleanup_ctx.append(use_fake)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    return await make_client()
