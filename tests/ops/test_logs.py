"""Structured logs: one access line per request with a request id; no credentials, tokens or
bodies ever; phone numbers masked; request ids honoured and propagated upstream."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
from collections.abc import Iterator

import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.observability.logs import configure_logging, mask_number, mask_path, mask_text
from tests.ops.conftest import ACCOUNT, AUTH, TOKEN, FakeUpstream
from tests.support.logcapture import captured_logging

LIST = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
BODY = "meet me at the old mill, the code is 7731"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    with captured_logging("json") as stream:
        yield stream


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+14155551212", "+1415***1212"),
        ("4155551212", "415***1212"),
        ("(415) 555-1212", "415***1212"),
        ("+447700900123", "+4477***0123"),
        ("5551212", "***1212"),
        ("898411", "898411"),  # a short code identifies no one
    ],
)
def test_mask_number(raw: str, masked: str) -> None:
    assert mask_number(raw) == masked


def test_mask_text_leaves_sids_and_dates_alone() -> None:
    text = "to +14155551212 sid SM1234567890123456789012345678901a on 2010-08-16 03:45:01"
    assert mask_text(text) == (
        "to +1415***1212 sid SM1234567890123456789012345678901a on 2010-08-16 03:45:01"
    )


def test_masked_paths_are_masked_like_any_text_and_reused() -> None:
    path = "/2008-08-01/Accounts/AC1/SMS/Messages/+14155551212/4155551212"
    assert mask_path(path) == mask_text(path) == (
        "/2008-08-01/Accounts/AC1/SMS/Messages/+1415***1212/415***1212"
    )
    hits = mask_path.cache_info().hits
    assert mask_path(path) == mask_text(path)
    assert mask_path.cache_info().hits == hits + 1


async def test_access_log_has_no_secrets_and_masks_numbers(
    aiohttp_client, fake_upstream: FakeUpstream, log_stream: io.StringIO  # type: ignore[no-untyped-def]
) -> None:
    client = await aiohttp_client(create_app(Settings(), fake_upstream.url))
    form = {"From": "+14155550000", "To": "+14155551212", "Body": BODY}
    resp = await client.post(LIST, data=form, headers={**AUTH, "Cookie": "session=" + TOKEN})
    assert resp.status == 201
    resp = await client.get(LIST + "?To=%2B14155551212&DateSent%3E=2010-08-01", headers=AUTH)
    assert resp.status == 200
    logging.getLogger("gateway.test").warning("free text with +14155551212 in it")

    text = log_stream.getvalue()
    basic = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    for secret in (TOKEN, basic, "Basic ", BODY, "old mill", "+14155551212", "4155551212",
                   "+14155550000"):
        assert secret not in text, secret
    access = [r for r in records(log_stream) if r["logger"] == "gateway.access"]
    assert [r["method"] for r in access] == ["POST", "GET"]
    send, listing = access
    assert send["status"] == 201 and send["dialect"] == "v2008" and send["operation"] == "send"
    assert send["account_sid"] == ACCOUNT
    assert send["upstream_status"] == 201 and send["upstream_requests"] == 1
    assert isinstance(send["upstream_ms"], float) and isinstance(send["duration_ms"], float)
    assert listing["query"] == "?To=+1415***1212&DateSent>=2010-08-01"
    assert all(len(str(r["request_id"])) == 32 for r in access)
    assert "+1415***1212" in text  # the free-text line, masked


async def test_number_masking_can_be_turned_off(
    aiohttp_client, fake_upstream: FakeUpstream, log_stream: io.StringIO  # type: ignore[no-untyped-def]
) -> None:
    configure_logging("INFO", "json", False, log_stream)
    settings = dataclasses.replace(Settings(), log_mask_numbers=False, total_mode="off")
    client = await aiohttp_client(create_app(settings, fake_upstream.url))
    await client.get(LIST + "?To=%2B14155551212", headers=AUTH)
    assert "+14155551212" in log_stream.getvalue()
    assert TOKEN not in log_stream.getvalue()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Request-Id": "abc-123"}, "abc-123"),
        ({"I-Twilio-Idempotency-Token": "tw-tok-9"}, "tw-tok-9"),
        ({"X-Request-Id": "mine", "I-Twilio-Idempotency-Token": "tw"}, "mine"),
        ({"X-Request-Id": "bad id; Injected=1"}, None),  # not a plain token: replaced
        ({}, None),
    ],
)
async def test_request_id_chosen_returned_and_sent_upstream(
    aiohttp_client, fake_upstream: FakeUpstream, log_stream: io.StringIO,  # type: ignore[no-untyped-def]
    headers: dict[str, str], expected: str | None,
) -> None:
    settings = dataclasses.replace(Settings(), total_mode="off")
    client = await aiohttp_client(create_app(settings, fake_upstream.url))
    resp = await client.get(LIST, headers={**AUTH, **headers})
    assert resp.status == 200
    rid = resp.headers["X-Request-Id"]
    if expected is None:
        assert len(rid) == 32 and "Injected" not in rid
    else:
        assert rid == expected
    (upstream_req,) = fake_upstream.seen
    assert upstream_req.headers["X-Request-Id"] == rid
    # Twilio's idempotency header means "Twilio's own retry"; the gateway never invents it.
    assert "I-Twilio-Idempotency-Token" not in upstream_req.headers
    (access,) = [r for r in records(log_stream) if r["logger"] == "gateway.access"]
    assert access["request_id"] == rid


async def test_errors_carry_request_id_and_probes_log_at_debug(
    aiohttp_client, log_stream: io.StringIO  # type: ignore[no-untyped-def]
) -> None:
    client = await aiohttp_client(create_app(Settings(), "http://127.0.0.1:9"))
    resp = await client.get("/no/such/thing", headers={"X-Request-Id": "r-404"})
    assert resp.status == 404 and resp.headers["X-Request-Id"] == "r-404"
    await client.get("/healthz")
    levels = {r["path"]: r["level"] for r in records(log_stream) if r["logger"] == "gateway.access"}
    assert levels == {"/no/such/thing": "info", "/healthz": "debug"}


def test_text_format_on_a_terminal_json_otherwise() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        tty, pipe = Tty(), io.StringIO()
        configure_logging("INFO", "auto", True, tty)
        logging.getLogger("gateway.x").info("hello +14155551212")
        configure_logging("INFO", "auto", True, pipe)
        logging.getLogger("gateway.x").info("hello")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    line = tty.getvalue()
    assert "INFO" in line and "gateway.x: hello +1415***1212" in line and not line.startswith("{")
    assert json.loads(pipe.getvalue())["msg"] == "hello"
