"""The gateway's outbound calls to legacy apps: signed, bounded, never redirected.

Only URLs taken from tokens the gateway signed reach this module, and each is checked against
the allow-list again at call time (the list may have shrunk since the token was issued).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from gateway import USER_AGENT
from gateway.callbacks.urls import UrlRefused, check_legacy_url
from gateway.destination_policy import refused_by_policy
from gateway.signing import compute_signature, with_query

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class LegacyAnswer:
    status: int
    body: bytes = b""
    content_type: str = ""
    oversized: bool = False


class LegacyCallFailed(Exception):
    """No usable answer from the legacy app: ``status`` is what Twilio should see (502/504)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_limited(stream: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Read a body of at most ``limit`` bytes: (body, False), or (b"", True) past the limit
    (stopping there, so an endless body costs nothing more)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_chunked(16384):
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


async def call_legacy(
    session: aiohttp.ClientSession,
    url: str,
    method: str,
    params: Sequence[tuple[str, str]],
    auth_token: str,
    *,
    allowed_hosts: Sequence[str],
    max_body: int,
    read_body: bool,
    allow_private: bool = False,
) -> LegacyAnswer:
    """Send ``params`` to the legacy ``url`` as Twilio would have, signed with the account's
    token for exactly that URL (for GET, the full URL with its query). The session's
    connector must be :func:`gateway.destination_policy.checked_connector` with the same
    ``allow_private``: it checks the addresses a name resolves to."""
    check_legacy_url(url, allowed_hosts, allow_private=allow_private)
    headers = {"User-Agent": USER_AGENT}
    data: str | None = None
    if method == "GET":
        url = with_query(url, params)
        headers["X-Twilio-Signature"] = compute_signature(auth_token, url)
    else:
        headers["X-Twilio-Signature"] = compute_signature(auth_token, url, params)
        headers["Content-Type"] = FORM
        data = urlencode(list(params))
    try:
        async with session.request(
            method, url, data=data, headers=headers, allow_redirects=False
        ) as resp:
            body, oversized = b"", False
            if read_body:
                body, oversized = await read_limited(resp.content, max_body)
            return LegacyAnswer(resp.status, body, resp.content_type, oversized)
    except TimeoutError:
        raise LegacyCallFailed(504, "legacy app did not answer in time") from None
    except aiohttp.ClientError as exc:
        refused = refused_by_policy(exc)
        if refused is not None:
            raise UrlRefused(
                f"callback URLs must not point at internal addresses ({refused})"
            ) from None
        raise LegacyCallFailed(502, f"legacy app unreachable ({exc.__class__.__name__})") from None
