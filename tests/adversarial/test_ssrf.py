"""Defect 3 of issue 15: callback and SMS URLs may not reach internal destinations by default,
neither by an address literal (in any spelling) nor by a name that resolves to one, and the
check holds at call time on the addresses actually connected to."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from gateway.callbacks import wrap_status_callback
from gateway.callbacks.tokens import STATUS, CallbackTarget, sign_token
from gateway.callbacks.urls import STATUS_PATH
from gateway.callbacks.wrap import inbound_webhook_url
from gateway.cli import main
from gateway.destination_policy import checked_connector
from gateway.model import ApiError
from gateway.sandbox.webhooks import WebhookSender
from tests.callbacks.conftest import (
    ACCOUNT,
    KEY,
    PUBLIC_URL,
    LegacyApp,
    gateway_settings,
    status_event,
    twilio_post,
)

MakeGateway = Callable[..., Awaitable[TestClient]]
SID = "SM" + "b" * 32

def test_a_send_with_an_internal_status_callback_is_refused() -> None:
    settings = gateway_settings(callback_allow_private_networks=False)
    for url in ("http://127.0.0.1:8080/cb", "http://localhost/cb", "http://0x7f.1/cb",
                "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(ApiError) as err:
            wrap_status_callback(settings, url, ACCOUNT, "v2008")
        assert (err.value.status, err.value.code) == (400, 21609)
    with pytest.raises(ValueError, match="internal"):
        inbound_webhook_url(settings, ACCOUNT, "http://127.0.0.1/sms")


def _status_url(target_url: str) -> str:
    token = sign_token(KEY, CallbackTarget(
        STATUS, target_url, ACCOUNT, "v2008", "POST", int(time.time())
    ))
    return PUBLIC_URL + STATUS_PATH + token


async def test_a_token_naming_an_internal_url_is_refused_at_call_time(
    make_gateway: MakeGateway, legacy: LegacyApp
) -> None:
    """A token minted while the policy allowed it (or before the policy existed) is checked
    again when the callback comes: the legacy app on 127.0.0.1 is never called."""
    gateway = await make_gateway(callback_allow_private_networks=False)
    url = _status_url(legacy.url("/status"))
    resp = await twilio_post(gateway, url, status_event(SID, "sent"))
    assert resp.status == 403
    assert legacy.seen == []


def _non_global_hostname() -> str | None:
    """This machine's own name, when it resolves only to internal addresses (as in containers
    and most hosts, through /etc/hosts): a real name that resolves to an internal address."""
    import ipaddress

    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)
    except OSError:
        return None
    addresses = {ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos}
    if not addresses or any(a.is_global for a in addresses):
        return None
    return name


async def test_a_real_name_resolving_internally_is_refused_at_call_time(
    make_gateway: MakeGateway, legacy: LegacyApp
) -> None:
    name = _non_global_hostname()
    if name is None:
        pytest.skip("this machine's name resolves to a public address")
    gateway = await make_gateway(callback_allow_private_networks=False)
    port = legacy.base.rsplit(":", 1)[1]
    url = _status_url(f"http://{name}:{port}/status")
    resp = await twilio_post(gateway, url, status_event(SID, "sent"))
    assert resp.status == 403
    assert legacy.seen == []


def test_the_inbound_url_command_follows_the_policy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CALLBACK_SIGNING_KEY", KEY)
    argv = ["inbound-url", "--account-sid", ACCOUNT, "--sms-url", "http://10.1.2.3/sms",
            "--public-url", "https://gw.example"]
    assert main(argv) == 2
    assert "internal" in capsys.readouterr().err
    assert main([*argv, "--callback-allow-private-networks"]) == 0
    assert capsys.readouterr().out.startswith("https://gw.example/callbacks/inbound/v1.")


async def test_the_embedded_sandbox_never_calls_a_metadata_address() -> None:
    """In ``serve --sandbox`` the sandbox's webhooks leave from the gateway's host: loopback
    (the gateway's relay) is its daily work, the metadata service never."""
    async with aiohttp.ClientSession(connector=checked_connector(True)) as session:
        sender = WebhookSender(session, retries=0)
        for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/"):
            delivery = await sender.send("status_callback", url, "POST", [("a", "b")], "t")
            assert delivery.status is None and delivery.error == "DestinationRefused"
