"""Property, end to end: a 2008-era client talking to the gateway's 2008-08-01 endpoint (the
sandbox upstream behind it, both over HTTP) reads the upstream's whole filtered list by
following ``nextpageuri``, and again by jumping with ``Page=N`` up to ``lastpageuri``, with
exact ``total``/``numpages``/``start``/``end`` on every page, in XML and JSON."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from yarl import URL

from gateway.app import create_app
from gateway.config import Settings
from gateway.model import ListFilter
from tests.paging.sandbox_support import (
    ACCOUNT,
    CREDS,
    Rig,
    expected_num_pages,
    filters,
    sandbox_rig,
    seed_messages,
)

AUTH = {"Authorization": aiohttp.encode_basic_auth(CREDS.username, CREDS.password)}
ATTRS = ("page", "numpages", "pagesize", "total", "start", "end")


@dataclasses.dataclass
class LegacyPage:
    attrs: dict[str, str]
    sids: list[str]


def parse_list(fmt: str, body: bytes) -> LegacyPage:
    if fmt == "json":
        listing = json.loads(body)["TwilioResponse"]["SMSMessages"]
        return LegacyPage(
            {k: v for k, v in listing.items() if k != "SMSMessage"},
            [m["Sid"] for m in listing["SMSMessage"]],
        )
    listing = etree.fromstring(body).find("SMSMessages")
    return LegacyPage(dict(listing.attrib), [m.findtext("Sid") for m in listing.iter("SMSMessage")])


def legacy_query(flt: ListFilter, size: int) -> str:
    # Written the way legacy clients wrote it: DateSent<=YYYY-MM-DD, unencoded.
    parts = [f"num={size}"]
    if flt.to:
        parts.append("To=" + flt.to.replace("+", "%2B"))
    if flt.from_:
        parts.append("From=" + flt.from_.replace("+", "%2B"))
    if flt.date_sent:
        parts.append(f"DateSent={flt.date_sent.isoformat()}")
    if flt.date_sent_before:
        parts.append(f"DateSent<={flt.date_sent_before.isoformat()}")
    if flt.date_sent_after:
        parts.append(f"DateSent>={flt.date_sent_after.isoformat()}")
    return "&".join(parts)


@asynccontextmanager
async def gateway_for(rig: Rig, config: Settings) -> AsyncIterator[str]:
    async with TestServer(create_app(config, upstream_url=rig.base), port=0) as server:
        yield str(server.make_url("")).rstrip("/")


def check(page: LegacyPage, truth: list[str], number: int, size: int) -> None:
    total = len(truth)
    assert page.sids == truth[number * size : (number + 1) * size]
    shown = len(page.sids)
    assert [page.attrs[a] for a in ATTRS] == [
        str(number),
        str(expected_num_pages(total, size)),
        str(size),
        str(total),
        str(number * size),
        str(number * size + max(shown - 1, 0)),
    ]


async def scenario(count: int, seed: int, flt: ListFilter, size: int, fmt: str) -> None:
    config = Settings()
    async with sandbox_rig(config) as rig, gateway_for(rig, config) as gw:
        seed_messages(rig.store, count, random.Random(seed))
        truth = await rig.upstream_sids(flt)
        session = rig.session
        path = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages.{fmt}"
        url: str | None = f"{path}?{legacy_query(flt, size)}"
        walked: list[str] = []
        number = 0
        last_uri = ""
        while url:
            async with session.get(URL(gw + url, encoded=True), headers=AUTH) as resp:
                assert resp.status == 200, await resp.text()
                page = parse_list(fmt, await resp.read())
            check(page, truth, number, size)
            # Every link points back at the gateway's own 2008 list with the same filters.
            for link in ("uri", "firstpageuri", "nextpageuri", "lastpageuri"):
                if page.attrs[link]:
                    assert urlsplit(page.attrs[link]).path == path
                    query = dict(parse_qsl(urlsplit(page.attrs[link]).query))
                    assert query.get("num") == str(size)
                    assert query.get("To") == flt.to and query.get("From") == flt.from_
            last_uri = page.attrs["lastpageuri"]
            walked.extend(page.sids)
            url = page.attrs["nextpageuri"] or None
            number += 1
        assert walked == truth
        assert dict(parse_qsl(urlsplit(last_uri).query))["Page"] == str(number - 1)
        # Jumping with Page=N, including one page beyond the end.
        pages = expected_num_pages(len(truth), size)
        for n in random.Random(seed).sample(range(pages + 1), min(pages + 1, 4)):
            jump = f"{path}?{legacy_query(flt, size)}&Page={n}"
            async with session.get(URL(gw + jump, encoded=True), headers=AUTH) as resp:
                check(parse_list(fmt, await resp.read()), truth, n, size)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(0, 60) | st.integers(900, 3000),
    seed=st.integers(0, 2**32 - 1),
    flt=filters,
    size=st.integers(25, 200) | st.integers(25, 1000),
    fmt=st.sampled_from(["xml", "json"]),
)
def test_2008_client_reads_the_whole_list(
    count: int, seed: int, flt: ListFilter, size: int, fmt: str
) -> None:
    asyncio.run(scenario(count, seed, flt, size, fmt))
