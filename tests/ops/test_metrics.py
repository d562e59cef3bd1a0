"""Prometheus metrics: exposed on /metrics, parsed with prometheus-client's own parser, and
moving with traffic; per-app registries stay apart."""

from __future__ import annotations

import dataclasses

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.config import Settings
from gateway.observability import METRICS
from gateway.observability.metrics import callback_outcome, create_metrics_app, register_cache
from tests.ops.conftest import ACCOUNT, AUTH, FakeUpstream

LIST = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def total(text: str, name: str, **labels: str) -> float:
    """Sum of ``name`` over every series whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and want <= ls)


async def scrape(client: TestClient) -> str:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return await resp.text()


async def test_requests_counted_by_dialect_operation_status(
    aiohttp_client, fake_upstream: FakeUpstream  # type: ignore[no-untyped-def]
) -> None:
    settings = dataclasses.replace(Settings(), total_mode="off")
    client = await aiohttp_client(create_app(settings, fake_upstream.url))
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(LIST, headers=AUTH)).status == 200
    assert (await client.get(LIST)).status == 401  # no credentials
    assert (await client.get("/healthz")).status == 200
    after = await scrape(client)

    name = "sms_gateway_requests_total"
    key = {"dialect": "v2008", "operation": "list", "status": "200", "twilio_code": ""}
    assert value(after, name, **key) - value(before, name, **key) == 3
    assert value(after, name, dialect="v2008", operation="list", status="401",
                 twilio_code="20003") == 1
    assert value(after, name, dialect="ops", operation="healthz", status="200",
                 twilio_code="") == 1
    assert value(after, "sms_gateway_request_duration_seconds_count",
                 dialect="v2008", operation="list") == 4
    # Upstream: one GET per list (total walk off), latency observed with its status.
    assert total(after, "sms_gateway_upstream_request_duration_seconds_count",
                 method="GET", status="200") == 3
    assert value(after, "sms_gateway_upstream_requests_per_list_count", dialect="v2008") == 3
    assert value(after, "sms_gateway_upstream_requests_per_list_sum", dialect="v2008") == 3
    assert value(after, "sms_gateway_requests_in_flight") == 1  # the scrape itself


async def test_callback_outcomes_and_cache_gauges(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(), "http://127.0.0.1:9")
    store = {"a": 1, "b": 2}
    stats = {"hits": 3, "misses": 1}
    register_cache(app, "cursor", lambda: len(store), lambda: stats["hits"], lambda: stats["misses"])
    client = await aiohttp_client(app)
    callback_outcome("status_callback", "delivered")  # outside a request: the started app
    callback_outcome("inbound_sms", "legacy_error", app)
    text = await scrape(client)
    assert value(text, "sms_gateway_callback_relays_total",
                 kind="status_callback", outcome="delivered") == 1
    assert value(text, "sms_gateway_callback_relays_total",
                 kind="inbound_sms", outcome="legacy_error") == 1
    assert value(text, "sms_gateway_cache_entries", cache="cursor") == 2
    assert value(text, "sms_gateway_cache_hits_total", cache="cursor") == 3
    assert value(text, "sms_gateway_cache_misses_total", cache="cursor") == 1
    assert value(text, "sms_gateway_cache_hit_ratio", cache="cursor") == 0.75
    store["c"] = 3
    stats["hits"] = 9
    text = await scrape(client)
    assert value(text, "sms_gateway_cache_entries", cache="cursor") == 3
    assert value(text, "sms_gateway_cache_hit_ratio", cache="cursor") == 0.9


async def test_apps_do_not_share_counts(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    one = await aiohttp_client(create_app(Settings(), "http://127.0.0.1:9"))
    two = await aiohttp_client(create_app(Settings(), "http://127.0.0.1:9"))
    for _ in range(2):
        await one.get("/healthz")
    key = {"dialect": "ops", "operation": "healthz", "status": "200", "twilio_code": ""}
    assert value(await scrape(one), "sms_gateway_requests_total", **key) == 2
    assert value(await scrape(two), "sms_gateway_requests_total", **key) == 0


async def test_separate_metrics_app_serves_the_same_registry(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(), "http://127.0.0.1:9")
    main = await aiohttp_client(app)
    await main.get("/healthz")
    side = await aiohttp_client(create_metrics_app(app[METRICS]))
    text = await scrape(side)
    assert value(text, "sms_gateway_requests_total", dialect="ops", operation="healthz",
                 status="200", twilio_code="") == 1
    assert (await side.get("/healthz")).status == 404  # only /metrics there
