"""The real sandbox as upstream, over HTTP on an ephemeral port, with the gateway's Messages
adapter and a Paginator in front of it."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.model import Credentials, ListFilter, ListQuery, Page
from gateway.paging import Paginator
from gateway.sandbox.app import STORE, create_sandbox_app
from gateway.sandbox.bulk import LATENCY, Latency
from gateway.sandbox.store import MessageStore
from gateway.state.base import StateStore
from gateway.upstream.http import UpstreamClient
from gateway.upstream.messages import MessagesUpstream
from gateway.upstream.messages_json import list_params

ACCOUNT = "AC" + "c" * 32
CREDS = Credentials(ACCOUNT, "sandbox-token")
TO_NUMBERS = ("+14155550100", "+14155550111", "+447700900123")
FROM_NUMBERS = ("+15005550006", "+14155550199")
FIRST_DAY = datetime(2024, 3, 1, tzinfo=UTC)
DAYS = 8


def seed_messages(store: MessageStore, count: int, rng: random.Random) -> None:
    """``count`` messages over DAYS days, mixed numbers; a few never sent (no date_sent)."""
    for _ in range(count):
        created = FIRST_DAY + timedelta(seconds=rng.randrange(DAYS * 86400))
        status = "queued" if rng.random() < 0.05 else "delivered"
        store.seed(
            ACCOUNT,
            1,
            start=created,
            to=rng.choice(TO_NUMBERS),
            from_=rng.choice(FROM_NUMBERS),
            status=status,
        )


@dataclass
class Rig:
    store: MessageStore
    gateway: MessagesUpstream
    paginator: Paginator
    session: aiohttp.ClientSession
    base: str
    latency: Latency

    async def page(self, flt: ListFilter, page: int, size: int) -> Page:
        return await self.gateway.list(CREDS, ACCOUNT, ListQuery(flt, page, size))

    async def upstream_sids(self, flt: ListFilter) -> list[str]:
        """The upstream's own full filtered list, read straight from it (the truth)."""
        sids: list[str] = []
        url: str | None = f"{self.base}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        params: Sequence[tuple[str, str]] | None = list_params(flt, 1000)
        headers = {"Authorization": aiohttp.encode_basic_auth(CREDS.username, CREDS.password)}
        while url:
            async with self.session.get(url, params=params, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
                data = await resp.json()
            sids.extend(m["sid"] for m in data["messages"])
            url = self.base + data["next_page_uri"] if data["next_page_uri"] else None
            params = None
        return sids


@asynccontextmanager
async def sandbox_rig(settings: Settings, store: StateStore | None = None) -> AsyncIterator[Rig]:
    app = create_sandbox_app(settings, manual=True)
    async with TestServer(app, port=0) as server, aiohttp.ClientSession() as session:
        base = str(server.make_url("")).rstrip("/")
        paginator = Paginator(settings, store=store)
        try:
            async with UpstreamClient(base) as client:
                yield Rig(
                    app[STORE], MessagesUpstream(client, paginator), paginator, session, base,
                    app[LATENCY],
                )
        finally:
            await paginator.close()


days = st.integers(0, DAYS - 1).map(lambda d: (FIRST_DAY + timedelta(days=d)).date())


def sometimes(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    # Mostly absent, so that combined filters still leave long lists to page through.
    return st.sampled_from([False, False, True]).flatmap(
        lambda present: values if present else st.none()
    )


filters = st.builds(
    ListFilter,
    to=sometimes(st.sampled_from(TO_NUMBERS)),
    from_=sometimes(st.sampled_from(FROM_NUMBERS)),
    date_sent=sometimes(days),
    date_sent_before=sometimes(days),
    date_sent_after=sometimes(days),
)


def expected_num_pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))
