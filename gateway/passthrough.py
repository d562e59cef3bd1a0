"""Requests to the *current* API (``/2010-04-01/Accounts/{sid}/Messages.json`` and every other
``/2010-04-01/`` path that is not ``/SMS/``) go to upstream untouched: method, path, query, body
and credentials out; status, body and content type back. An application migrating one call at a
time can then point all its traffic at the gateway.

It is not an open proxy: the target is always the configured upstream base URL plus the
request's own path, which must stay under ``/2010-04-01/`` (no dot segments, no encoded slashes
or dots that upstream might decode into a different path). Bodies are bounded both ways
(``max_request_body`` in, ``upstream_max_response_bytes`` back); hop-by-hop headers are dropped.
A request is forwarded once: retrying is the client's choice, as it would be against Twilio,
because the gateway cannot know which calls of the current API are safe to repeat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import aiohttp
from aiohttp import hdrs, web
from multidict import CIMultiDict
from yarl import URL

from gateway import errors, keys, request_budget
from gateway.dialects.request import root_app
from gateway.dialects.sms2010.parse import PREFIX
from gateway.model import ACCOUNT_SID
from gateway.upstream.retry import Failure, FailureKind, to_error

DIALECT: Final = "passthrough"

# RFC 9110 section 7.6.1, plus the proxy headers of older practice.
HOP_BY_HOP: Final = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
# Request headers the gateway sets itself for the upstream hop: Host names upstream, the body's
# length is recomputed, compression is negotiated by the upstream session, and 100-continue was
# answered by the gateway's own server.
_NOT_FORWARDED: Final = HOP_BY_HOP | {"host", "content-length", "accept-encoding", "expect"}
# Response headers describing the upstream hop's bytes, not the (decompressed) body sent back.
_NOT_RETURNED: Final = HOP_BY_HOP | {"content-length", "content-encoding"}

_CHUNK: Final = 64 * 1024
# Encoded '/', '.' and '\' could turn into path structure once upstream decodes them.
_ENCODED_STRUCTURE: Final = re.compile(r"%(2f|2e|5c)", re.IGNORECASE)
_ACCOUNT: Final = re.compile(rf"^{PREFIX}/Accounts/({ACCOUNT_SID.pattern})(?:[/.]|$)")


def forwardable_path(raw_path: str) -> bool:
    """Whether ``raw_path`` (as received, still percent-encoded) may be forwarded: under
    ``/2010-04-01/``, not the legacy ``/SMS/`` resource, no dot segments, no backslashes, no
    encoded structure characters. (The router already sends /SMS/ paths to the dialect; the
    check stays so that this function alone decides what may leave for upstream.)"""
    if not raw_path.startswith(PREFIX + "/") or "\\" in raw_path:
        return False
    if _ENCODED_STRUCTURE.search(raw_path):
        return False
    segments = raw_path.split("/")
    if any(s in (".", "..") for s in segments):
        return False
    return "SMS" not in segments[4:5]  # /2010-04-01/Accounts/{sid}/SMS/... is the dialect's


def _connection_tokens(headers: Mapping[str, str]) -> set[str]:
    # Headers named in Connection are hop-by-hop too (RFC 9110 section 7.6.1).
    return {t.strip().lower() for t in headers.get(hdrs.CONNECTION, "").split(",") if t.strip()}


def request_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The client's headers as upstream gets them (Authorization included, untouched)."""
    drop = _NOT_FORWARDED | _connection_tokens(headers)
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


def response_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """Upstream's headers as the client gets them (WWW-Authenticate, Retry-After, Location and
    Content-Type included)."""
    drop = _NOT_RETURNED | _connection_tokens(headers)
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


async def _read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        resp.close()
        raise to_error(resp.method, Failure(FailureKind.TOO_LARGE, resp.status))
    body = bytearray()
    async for chunk in resp.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            resp.close()
            raise to_error(resp.method, Failure(FailureKind.TOO_LARGE, resp.status))
    return bytes(body)


@request_budget.exempt
async def forward(request: web.Request) -> web.StreamResponse:
    """Any method on any current-API path under /2010-04-01/ (see the module docs)."""
    request[keys.DIALECT] = DIALECT
    request[keys.OPERATION] = request.method.lower()
    # The request line as the client wrote it: aiohttp's URL would re-normalise the escapes.
    raw_path, _, query = request.raw_path.partition("?")
    if not forwardable_path(raw_path):
        raise errors.not_found()
    account = _ACCOUNT.match(raw_path)
    if account:
        request[keys.ACCOUNT_SID] = account.group(1)

    config = root_app(request)
    settings = config[keys.SETTINGS]
    url = URL(config[keys.UPSTREAM_URL].rstrip("/") + raw_path + ("?" + query if query else ""),
              encoded=True)
    body = await request.read()  # bounded by the app's client_max_size: 413 beyond it
    timeout = aiohttp.ClientTimeout(
        total=settings.upstream_timeout,
        sock_connect=settings.upstream_connect_timeout,
        sock_read=settings.upstream_read_timeout or None,
    )
    method = request.method
    try:
        async with config[keys.UPSTREAM_SESSION].request(
            method, url, headers=request_headers(request.headers), data=body or None,
            allow_redirects=False, timeout=timeout,
        ) as resp:
            payload = await _read_bounded(resp, settings.upstream_max_response_bytes)
            status, headers = resp.status, response_headers(resp.headers)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        raise to_error(method, Failure(FailureKind.UNREACHABLE)) from None
    except TimeoutError:
        raise to_error(method, Failure(FailureKind.TIMEOUT)) from None
    except (aiohttp.ClientError, OSError):
        raise to_error(method, Failure(FailureKind.BROKEN)) from None
    return web.Response(body=payload, status=status, headers=headers)


def setup(app: web.Application) -> None:
    """Register the catch-all on the /2010-04-01 sub-application, after the /SMS/ dialect's
    routes, which are matched first."""
    app.router.add_route("*", "", forward)
    app.router.add_route("*", "/{tail:.*}", forward)
