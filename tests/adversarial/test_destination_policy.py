"""The SSRF address policy and its checking resolver (gateway/destination_policy.py), without I/O."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from gateway.callbacks.urls import UrlRefused, check_legacy_url
from gateway.destination_policy import CheckingResolver, DestinationRefused, check_host

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
