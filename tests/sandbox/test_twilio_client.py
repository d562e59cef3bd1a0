"""The unmodified PyPI client (twilio 9.x) creates, lists and fetches against a listening
sandbox. Its HTTP layer is synchronous (requests), so it runs in a thread."""

from __future__ import annotations

import asyncio

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from gateway.sandbox.app import LIFECYCLE, create_sandbox_app
from tests.sandbox.conftest import ACCOUNT, TOKEN


@pytest.fixture
async def base_url(aiohttp_server):
    app = create_sandbox_app(tick=0)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/"), app


def _client(base: str) -> Client:
    client = Client(ACCOUNT, TOKEN)
    client.api.base_url = base  # the Domain every v2010 resource builds its URLs from
    return client


async def test_create_list_fetch(base_url) -> None:
    base, app = base_url
    client = _client(base)

    def create():
        return client.messages.create(
            to="+14155551212", from_="+15005550006", body="Jenny please?! I love you <3"
        )

    msg = await asyncio.to_thread(create)
    assert msg.sid.startswith("SM") and msg.status == "queued"
    assert msg.body == "Jenny please?! I love you <3" and msg.num_segments == "1"
    assert msg.date_created is not None and msg.date_sent is None
    await app[LIFECYCLE].settle()

    fetched = await asyncio.to_thread(lambda: client.messages(msg.sid).fetch())
    assert fetched.status == "delivered" and fetched.date_sent is not None

    more = [
        await asyncio.to_thread(
            lambda i=i: client.messages.create(to="+14155551212", from_="+15005550006",
                                               body=f"n{i}")
        )
        for i in range(6)
    ]
    # The list is ordered by DateSent (as Twilio's is): let every message reach it first, or a
    # message sent after its successor was created would rightly list above it.
    await app[LIFECYCLE].settle()
    # page_size=4 makes the client follow next_page_uri with our PageToken
    listed = await asyncio.to_thread(lambda: client.messages.list(page_size=4))
    assert [m.sid for m in listed] == [m.sid for m in reversed(more)] + [msg.sid]
    filtered = await asyncio.to_thread(lambda: client.messages.list(to="+19999999999"))
    assert filtered == []


async def test_errors_reach_the_client_with_their_code(base_url) -> None:
    base, _ = base_url
    client = _client(base)
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(
            lambda: client.messages.create(to="+15005550001", from_="+15005550006", body="x")
        )
    assert info.value.status == 400 and info.value.code == 21211
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(lambda: client.messages("SM" + "0" * 32).fetch())
    assert info.value.status == 404 and info.value.code == 20404
