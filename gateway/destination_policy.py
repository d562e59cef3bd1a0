"""Where the gateway's outbound HTTP to legacy apps may go (SSRF policy), and an aiohttp
resolver that enforces it on the addresses actually connected to.

Legacy callback and SMS URLs come from clients (a StatusCallback parameter, a TwiML reply), so
a URL naming the gateway's own host, the cloud metadata service or an internal network would
make the gateway a proxy into places its clients cannot reach. By default every destination
that is not a public unicast address is refused: loopback, private (RFC 1918, 100.64/10),
link-local, unique-local, multicast, unspecified, reserved and the metadata addresses.
``callback_allow_private_networks`` lets deployments whose legacy apps live on an internal
network (or on the same host) reach loopback, private, link-local and unique-local addresses;
multicast, unspecified, reserved and metadata addresses stay refused even then.

Two checks, both on addresses rather than on names:

* a URL whose host is an address literal, in any spelling the C library accepts (``127.1``,
  ``0x7f.1``, ``2130706433``, ``[::ffff:127.0.0.1]``), is checked without any lookup
  (:func:`check_host`), when the URL is accepted and again at call time;
* a host name is resolved at call time by :class:`CheckingResolver`, which refuses the whole
  name when any of its addresses is refused, and hands aiohttp the checked addresses, which are
  the ones it connects to: a name that resolves to a public address when checked and to
  127.0.0.1 a moment later (DNS rebinding) is never looked up twice.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata endpoints (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS IPv6;
# Alibaba; Oracle's 192.0.0.192 is IANA special-purpose space anyway): refused in every mode.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# Shared address space (carrier-grade NAT), which ipaddress reports as neither private nor global.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# Names that mean this host whatever DNS says (RFC 6761).
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class DestinationRefused(OSError):
    """A destination the policy refuses. An OSError so that aiohttp's connector passes it on
    (as the ``os_error`` of a ``ClientConnectorError``) instead of masking it."""


def refusal(address: IpAddress, allow_private: bool) -> str | None:
    """Why ``address`` may not be connected to, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refusal(mapped, allow_private)
        if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 of an IPv4 address
            return refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), allow_private)
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_reserved:
        return "a reserved address"
    internal = (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address in _SHARED
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )
    if internal:
        if allow_private:
            return None
        return "a loopback, private or link-local address"
    if not address.is_global:
        return "a special-purpose address"
    return None


def literal_addresses(host: str) -> list[IpAddress] | None:
    """The addresses ``host`` spells if it is an address literal (in any spelling
    ``getaddrinfo`` reads without a lookup), else None for a name."""
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _looks_numeric(host: str) -> bool:
    # What aiohttp's connector takes for an address and connects to without its resolver.
    return ":" in host or host.replace(".", "").isdigit()


def check_host(host: str, allow_private: bool) -> None:
    """Refuse (DestinationRefused) a host that is a refused address literal or a name for this
    host; other names are checked when resolved (:class:`CheckingResolver`)."""
    name = host.lower().rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        if not allow_private:
            raise DestinationRefused("the host is this machine (localhost)")
        return
    addresses = literal_addresses(name)
    if addresses is None:
        if _looks_numeric(name):
            raise DestinationRefused("the host is not a valid address")
        return
    for address in addresses:
        why = refusal(address, allow_private)
        if why:
            raise DestinationRefused(f"the host is {why}")


class CheckingResolver(AbstractResolver):
    """Resolves with ``inner`` (a thread-pool getaddrinfo by default) and refuses a name any of
    whose addresses the policy refuses."""

    def __init__(self, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_private = allow_private
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        check_host(host, self._allow_private)
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(str(result["host"]).split("%", 1)[0])
            why = refusal(address, self._allow_private)
            if why:
                raise DestinationRefused(f"the host resolves to {why}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def checked_connector(allow_private: bool, **kwargs: Any) -> aiohttp.TCPConnector:
    """An aiohttp connector that connects only to destinations the policy allows (names through
    :class:`CheckingResolver`; address literals must be checked with :func:`check_host` before
    the request, as aiohttp does not resolve them)."""
    return aiohttp.TCPConnector(resolver=CheckingResolver(allow_private), **kwargs)


def refused_by_policy(exc: BaseException) -> DestinationRefused | None:
    """The policy's refusal inside an aiohttp connection error, if that is what it was."""
    if isinstance(exc, DestinationRefused):
        return exc
    inner = getattr(exc, "os_error", None)
    if isinstance(inner, DestinationRefused):
        return inner
    cause = exc.__cause__
    return cause if isinstance(cause, DestinationRefused) else None
