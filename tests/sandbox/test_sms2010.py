"""The deprecated 2010-04-01 /SMS/Messages resource, from the same store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.sandbox.app import LIFECYCLE, STORE
from tests.sandbox.conftest import ACCOUNT, API, AUTH

FIXTURES = Path(__file__).parent / "fixtures"
SMS = f"{API}/SMS/Messages"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


async def test_send_fetch_shape_matches_the_recorded_resource(client, sandbox_app) -> None:
    resp = await client.post(
        f"{SMS}.json",
        data={"To": "555-867-5309", "From": "+15005550006", "Body": "Jenny please?! I love you <3"},
        headers=AUTH,
    )
    assert resp.status == 201
    sent = await resp.json()
    # The list recording's order (the instance recording swaps price and api_version; the
    # issue and FACTS fix "... direction price api_version uri").
    assert list(sent) == list(fixture("sms_messages_list.json")["sms_messages"][0])
    assert set(sent) == set(fixture("sms_messages_instance.json"))
    assert sent["status"] == "queued" and sent["to"] == "+15558675309"
    assert sent["uri"] == f"{SMS}/{sent['sid']}.json"
    await sandbox_app[LIFECYCLE].settle()
    fetched = await (await client.get(f"{SMS}/{sent['sid']}.json", headers=AUTH)).json()
    assert fetched["status"] == "sent"  # delivered, in that resource's vocabulary
    # and the same message through the current resource
    current = await (await client.get(f"{API}/Messages/{sent['sid']}.json", headers=AUTH)).json()
    assert current["status"] == "delivered"


@pytest.mark.parametrize(
    ("status", "legacy"),
    [("queued", "queued"), ("sending", "sending"), ("sent", "sent"), ("delivered", "sent"),
     ("undelivered", "failed"), ("failed", "failed"), ("received", "received"),
     ("accepted", "queued"), ("canceled", "failed")],
)
async def test_status_vocabulary(client, sandbox_app, status, legacy) -> None:
    [m] = sandbox_app[STORE].seed(ACCOUNT, 1, status=status)
    body = await (await client.get(f"{SMS}/{m.sid}.json", headers=AUTH)).json()
    assert body["status"] == legacy


@pytest.mark.parametrize(
    ("form", "code"),
    [({"Body": "x" * 161}, 21605), ({"Body": ""}, 21602), ({"To": ""}, 21604),
     ({"From": ""}, 21603), ({"To": "(xxx) xxx-xxx"}, 21211)],
)
async def test_errors(client, form, code) -> None:
    data = {"To": "+14155551212", "From": "+15005550006", "Body": "hi", **form}
    resp = await client.post(f"{SMS}.json", data=data, headers=AUTH)
    body = await resp.json()
    assert (resp.status, body["code"]) == (400, code)
    assert list(body) == ["code", "message", "more_info", "status"]


async def test_160_characters_are_fine(client) -> None:
    data = {"To": "+14155551212", "From": "+15005550006", "Body": "x" * 160}
    assert (await client.post(f"{SMS}.json", data=data, headers=AUTH)).status == 201


async def test_list_envelope_like_the_recorded_one(client, sandbox_app) -> None:
    sandbox_app[STORE].seed(ACCOUNT, 54, start=datetime(2010, 7, 26, tzinfo=UTC))
    page = await (await client.get(f"{SMS}.json", headers=AUTH)).json()
    recorded = fixture("sms_messages_list.json")
    assert list(page) == list(recorded)
    for key in ("page", "num_pages", "page_size", "total", "start", "end", "previous_page_uri"):
        assert page[key] == recorded[key], key
    rebase = "AC4bf2dafbed59a5733d2c1c1c69a83a28"
    for key in ("uri", "first_page_uri", "next_page_uri", "last_page_uri"):
        assert page[key] == recorded[key].replace(rebase, ACCOUNT), key
    assert list(page["sms_messages"][0]) == list(recorded["sms_messages"][0])


async def test_page_numbers_walk_everything(client, sandbox_app) -> None:
    seeded = sandbox_app[STORE].seed(ACCOUNT, 1050, step=timedelta(seconds=1))
    seen = []
    uri = f"{SMS}.json?PageSize=100"
    while uri:
        page = await (await client.get(uri, headers=AUTH)).json()
        assert page["total"] == 1050 and page["num_pages"] == 11
        seen += [m["sid"] for m in page["sms_messages"]]
        uri = page["next_page_uri"]
    assert seen == [m.sid for m in reversed(seeded)]


async def test_filters_are_shared(client, sandbox_app) -> None:
    store = sandbox_app[STORE]
    store.seed(ACCOUNT, 3, to="+14155550001", start=datetime(2024, 1, 1, tzinfo=UTC))
    store.seed(ACCOUNT, 2, to="+14155550002", start=datetime(2024, 1, 3, tzinfo=UTC))
    for query, total in (("To=%2B14155550001", 3), ("DateSent%3E=2024-01-02", 2),
                         ("DateSent<=2024-01-01", 3), ("DateSent=2024-01-03", 2)):
        page = await (await client.get(f"{SMS}.json?{query}", headers=AUTH)).json()
        assert page["total"] == total, query
        if page["next_page_uri"] is None:
            assert page["first_page_uri"].startswith(f"{SMS}.json?")
