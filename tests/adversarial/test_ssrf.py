"""Defect 3 of issue 15: callback and SMS URLs may not reach internal destinations by default,
neither by an address literal (in any spelling) nor by a name that resolves to one, and the
check holds at call time on the addresses actually connected to."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestClient

from gateway.callbacks import wrap_status_callback
from gateway.callbacks.tokens import STATUS, CallbackTarget, sign_token
from gateway.callbacks.urls import STATUS_PATH, UrlRefused, check_legacy_url
from gateway.callbacks.wrap import inbound_webhook_url
from gateway.model import ApiError
from gateway.netpolicy import CheckingResolver, DestinationRefused, check_host
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

INTERNAL = [
    "127.0.0.1", "127.1", "0x7f.1", "0177.0.0.1", "2130706433", "[::1]",
    "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1", "172.16.3.4", "192.168.1.1",
    "100.64.0.1", "[fd00::1]", "[fe80::1]", "224.0.0.1", "0.0.0.0", "localhost",
    "LOCALHOST.", "app.localhost", "[fd00:ec2::254]", "[2002:7f00:1::]", "[64:ff9b::7f00:1]",
]
ALWAYS_REFUSED = ["169.254.169.254", "[fd00:ec2::254]", "224.0.0.1", "0.0.0.0", "240.0.0.1"]


@pytest.mark.parametrize("host", INTERNAL)
def test_internal_literals_are_refused_by_default(host: str) -> None:
    with pytest.raises(UrlRefused):
        check_legacy_url(f"http://{host}:8080/cb", [])


@pytest.mark.parametrize("host", ALWAYS_REFUSED)
def test_metadata_multicast_and_reserved_are_refused_even_when_private_is_allowed(
    host: str,
) -> None:
    with pytest.raises(UrlRefused):
        check_legacy_url(f"http://{host}/latest/meta-data/", [], allow_private=True)


def test_public_and_allowed_private_destinations_pass() -> None:
    check_legacy_url("https://8.8.8.8/cb", [])
    check_legacy_url("https://legacy.example.com/cb", [])  # a name: checked when resolved
    check_legacy_url("http://127.0.0.1:9/cb", [], allow_private=True)
    check_legacy_url("http://10.1.2.3/cb", [], allow_private=True)
    check_legacy_url("http://localhost/cb", [], allow_private=True)


def test_a_send_with_an_internal_status_callback_is_refused() -> None:
    settings = gateway_settings(callback_allow_private_networks=False)
    for url in ("http://127.0.0.1:8080/cb", "http://localhost/cb", "http://0x7f.1/cb",
                "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(ApiError) as err:
            wrap_status_callback(settings, url, ACCOUNT, "v2008")
        assert (err.value.status, err.value.code) == (400, 21609)
    with pytest.raises(ValueError, match="internal"):
        inbound_webhook_url(settings, ACCOUNT, "http://127.0.0.1/sms")


class _Fixed(AbstractResolver):
    """A DNS that answers every name with one address."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [{"hostname": host, "host": self.address, "port": port, "family": family,
                 "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


async def test_a_name_resolving_to_an_internal_address_is_refused() -> None:
    for address in ("127.0.0.1", "169.254.169.254", "::1", "10.9.8.7"):
        with pytest.raises(DestinationRefused):
            await CheckingResolver(False, _Fixed(address)).resolve("rebind.example", 80)
    public = await CheckingResolver(False, _Fixed("93.184.216.34")).resolve("ok.example", 80)
    assert public[0]["host"] == "93.184.216.34"
    # allowed when the deployment says so, except the metadata service
    await CheckingResolver(True, _Fixed("10.9.8.7")).resolve("corp.example", 80)
    with pytest.raises(DestinationRefused):
        await CheckingResolver(True, _Fixed("169.254.169.254")).resolve("md.example", 80)


def test_localhost_names_are_refused_without_a_lookup() -> None:
    with pytest.raises(DestinationRefused):
        check_host("localhost", False)
    check_host("localhost", True)


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
