"""A start-up check for the easiest mistake when the gateway stands in for api.twilio.com: its
own upstream resolving to itself.

A hosts entry (``hostAliases`` in Kubernetes) that sends ``api.twilio.com`` to the gateway
applies to the gateway's own lookups too when it shares the host or the pod. With
``--upstream-url https://api.twilio.com`` every forwarded request would then come back to the
gateway and fail there, answered with 502s that say nothing of the cause. Nothing else can
listen on the gateway's own port on this machine, so an upstream on a loopback address and that
port is the gateway itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

log = logging.getLogger("gateway.server")


async def upstream_is_self(upstream_url: str, listen_port: int) -> bool:
    parts = urlsplit(upstream_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if port != listen_port or not parts.hostname:
        return False
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError:
        return False  # not resolvable now: the upstream checks report it when it matters
    return any(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


async def warn_if_upstream_is_self(upstream_url: str, listen_port: int) -> None:
    if await upstream_is_self(upstream_url, listen_port):
        log.warning(
            "the upstream %s resolves to this machine on the port the gateway listens on: "
            "requests would be forwarded to the gateway itself. A hosts entry for "
            "api.twilio.com applies to the gateway too; use --upstream-url "
            "https://api.us1.twilio.com (docs/deployment.md)",
            upstream_url,
        )
