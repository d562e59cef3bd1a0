"""Cursor paging of the current resource over 1,000+ messages, and each list filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.sandbox.app import STORE
from gateway.sandbox.listing import Cursor, encode_token
from tests.sandbox.conftest import ACCOUNT, API, AUTH, send
from tests.sandbox.schemas import validate

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
N = 1234


async def walk(client, first: str, params: dict[str, str] | None = None) -> list[dict]:
    """Follow next_page_uri to the end; return every page."""
    pages = []
    resp = await client.get(first, params=params, headers=AUTH)
    while True:
        assert resp.status == 200
        page = await resp.json()
        pages.append(page)
        if page["next_page_uri"] is None:
            return pages
        resp = await client.get(page["next_page_uri"], headers=AUTH)


@pytest.fixture
def seeded(sandbox_app):
    # Several messages share each second so the tie-break is exercised too.
    return sandbox_app[STORE].seed(
        ACCOUNT, N, start=T0, step=timedelta(milliseconds=400),
        date_created=lambda i: T0 + timedelta(seconds=i // 3),
    )


@pytest.mark.parametrize("page_size", [7, 50, 333, 1000])
async def test_walk_every_page_newest_first(client, seeded, page_size) -> None:
    pages = await walk(client, f"{API}/Messages.json", {"PageSize": str(page_size)})
    sids = [m["sid"] for p in pages for m in p["messages"]]
    assert len(sids) == N == len(set(sids))
    expected = [m.sid for m in sorted(seeded, key=lambda m: m.sort_key, reverse=True)]
    assert sids == expected
    assert len(pages) == -(-N // page_size)
    for i, page in enumerate(pages):
        assert page["page"] == i and page["page_size"] == page_size
        assert page["start"] == i * page_size
        assert page["end"] == page["start"] + len(page["messages"]) - 1
        assert (page["previous_page_uri"] is None) == (i == 0)
    validate("message_list", pages[-1])


async def test_previous_page_uri_goes_back_exactly(client, seeded) -> None:
    pages = await walk(client, f"{API}/Messages.json", {"PageSize": "100"})
    for i in range(len(pages) - 1, 0, -1):
        resp = await client.get(pages[i]["previous_page_uri"], headers=AUTH)
        back = await resp.json()
        assert [m["sid"] for m in back["messages"]] == [m["sid"] for m in pages[i - 1]["messages"]]
        assert back["page"] == i - 1


async def test_cursors_are_stable_under_inserts(client, sandbox_app, seeded) -> None:
    resp = await client.get(f"{API}/Messages.json", params={"PageSize": "10"}, headers=AUTH)
    first = await resp.json()
    later = await client.get(first["next_page_uri"], headers=AUTH)
    expected = [m["sid"] for m in (await later.json())["messages"]]
    for _ in range(5):
        await send(client)
    sandbox_app[STORE].seed(ACCOUNT, 20)
    again = await client.get(first["next_page_uri"], headers=AUTH)
    assert [m["sid"] for m in (await again.json())["messages"]] == expected


async def test_token_is_opaque_and_links_keep_filters(client, seeded) -> None:
    resp = await client.get(
        f"{API}/Messages.json",
        params={"PageSize": "5", "To": "+15558675309", "DateSent>": "2024-03-01"},
        headers=AUTH,
    )
    page = await resp.json()
    q = parse_qs(urlsplit(page["next_page_uri"]).query)
    assert q["To"] == ["+15558675309"] and q["DateSent>"] == ["2024-03-01"]
    assert q["PageSize"] == ["5"] and q["Page"] == ["1"]
    assert q["PageToken"][0].startswith("PA")
    assert "DateSent%3E=2024-03-01" in page["next_page_uri"]
    assert page["first_page_uri"].endswith("PageSize=5&Page=0")


async def test_empty_list(client) -> None:
    resp = await client.get(f"{API}/Messages.json", headers=AUTH)
    page = await resp.json()
    assert page["messages"] == [] and page["next_page_uri"] is None
    assert page["start"] == 0 and page["end"] == 0 and page["page_size"] == 50
    validate("message_list", page)


async def test_token_past_the_end_gives_an_empty_page(client, seeded) -> None:
    token = encode_token(Cursor("n", (0, 0, 0)))
    resp = await client.get(f"{API}/Messages.json", params={"PageToken": token}, headers=AUTH)
    assert (await resp.json())["messages"] == []


@pytest.fixture
def varied(sandbox_app):
    store = sandbox_app[STORE]
    days = [T0 + timedelta(days=d) for d in range(5)]  # Mar 1 .. Mar 5
    for d, day in enumerate(days):
        store.seed(ACCOUNT, 3, start=day, to="+14155550001", from_="+15005550006")
        store.seed(ACCOUNT, 2, start=day + timedelta(hours=1), to="+14155550002",
                   from_="+14155559999", direction="inbound", status="received")
    store.seed(ACCOUNT, 4, start=T0, status="queued")  # not sent: no date_sent
    return store


async def _sids(client, params) -> list[dict]:
    pages = await walk(client, f"{API}/Messages.json", {"PageSize": "4", **params})
    return [m for p in pages for m in p["messages"]]


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({}, 29),
        ({"To": "+14155550001"}, 15),
        ({"To": "(415) 555-0001"}, 15),  # normalised like stored numbers
        ({"From": "+14155559999"}, 10),
        ({"DateSent": "2024-03-02"}, 5),
        ({"DateSent<": "2024-03-02"}, 10),  # on or before
        ({"DateSent>": "2024-03-04"}, 10),  # on or after
        ({"DateSent>": "2024-03-02", "DateSent<": "2024-03-03"}, 10),
        ({"To": "+14155550002", "DateSent": "2024-03-05"}, 2),
        ({"To": "+19999999999"}, 0),
    ],
)
async def test_filters(client, varied, params, count) -> None:
    found = await _sids(client, params)
    assert len(found) == count == len({m["sid"] for m in found})
    for m in found:
        if "To" in params:
            assert m["to"] in (params["To"], "+14155550001")
        if "DateSent" in params:
            assert datetime.strptime(m["date_sent"], "%a, %d %b %Y %H:%M:%S %z").date().isoformat() \
                == params["DateSent"]


async def test_raw_query_with_literal_comparison_keys(client, varied) -> None:
    # Clients write DateSent>=2024-03-04: the key is then literally "DateSent>".
    resp = await client.get(f"{API}/Messages.json?DateSent>=2024-03-04&PageSize=1000",
                            headers=AUTH)
    assert len((await resp.json())["messages"]) == 10
    resp = await client.get(f"{API}/Messages.json?DateSent<=2024-03-01&PageSize=1000",
                            headers=AUTH)
    assert len((await resp.json())["messages"]) == 5
