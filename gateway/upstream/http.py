"""The one place that talks HTTP to upstream: a JSON call with Basic auth, every transport
failure turned into an :class:`ApiError` with a stable code."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from gateway import errors
from gateway.model import ApiError, Credentials
from gateway.upstream.wire import error_from_json

log = logging.getLogger("gateway.upstream")

Params = Sequence[tuple[str, str]]


class UpstreamClient:
    """JSON over HTTP to one upstream base URL. The base URL comes from configuration only: no
    request header or path can steer it (the gateway is not an open proxy)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    async def call(
        self,
        method: str,
        path: str,
        creds: Credentials,
        *,
        params: Params | None = None,
        form: Params | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON of a 2xx answer or raise ApiError."""
        url = self._base + path
        auth = aiohttp.BasicAuth(creds.username, creds.password)
        sent = False
        try:
            async with self._session.request(
                method, url, params=params, data=form, auth=auth, allow_redirects=False
            ) as resp:
                sent = True
                raw = await resp.read()
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            log.warning("upstream unreachable: %s %s: %s", method, path, exc.__class__.__name__)
            raise ApiError(
                503,
                "The upstream Twilio API could not be reached; the request was not sent",
                errors.UPSTREAM_UNAVAILABLE,
            ) from None
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            log.warning("upstream timed out: %s %s (request sent: %s)", method, path, sent)
            raise ApiError(
                504,
                "The upstream Twilio API did not answer in time"
                + ("; the outcome of this request is unknown" if method == "POST" else ""),
                errors.OUTCOME_UNKNOWN if method == "POST" else errors.UPSTREAM_TIMEOUT,
            ) from None
        except aiohttp.ClientError as exc:
            log.warning("upstream connection failed: %s %s: %s", method, path, exc.__class__.__name__)
            raise ApiError(
                502,
                "The connection to the upstream Twilio API failed"
                + ("; the outcome of this request is unknown" if method == "POST" else ""),
                errors.OUTCOME_UNKNOWN if method == "POST" else errors.UPSTREAM_BAD_RESPONSE,
            ) from None

        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
            if 200 <= status < 300:
                raise ApiError(
                    502,
                    "The upstream Twilio API answered with something that is not JSON",
                    errors.UPSTREAM_BAD_RESPONSE,
                ) from None
        if 200 <= status < 300:
            if data is None:
                raise ApiError(
                    502, "The upstream Twilio API answered with an empty body",
                    errors.UPSTREAM_BAD_RESPONSE,
                )
            return data
        if status >= 500 and not isinstance(data, dict):
            raise ApiError(
                502 if status != 503 else 503,
                f"The upstream Twilio API failed with HTTP {status}",
                errors.UPSTREAM_BAD_RESPONSE,
            )
        return_error = error_from_json(status, data)
        raise return_error
