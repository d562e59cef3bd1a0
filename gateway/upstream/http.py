"""The one place the legacy dialects talk to upstream: a JSON call with Basic auth under one total
time budget, retried by the rules in :mod:`gateway.upstream.retry`, every failure turned into an
:class:`ApiError` with a stable code. The bytes travel over :mod:`gateway.upstream.transport`."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self
from urllib.parse import quote, urlencode

from cachetools import LRUCache

from gateway import USER_AGENT, errors
from gateway.model import Credentials
from gateway.observability.context import REQUEST_ID_HEADER
from gateway.observability.context import current as current_observation
from gateway.upstream import transport
from gateway.upstream.deadline import budget_for, exhausted
from gateway.upstream.retry import (
    SAFE_METHODS,
    Failure,
    FailureKind,
    RetryPolicy,
    parse_retry_after,
    retry_delay,
    to_error,
)

log = logging.getLogger("gateway.upstream")

try:  # the `speed` extra: several times faster than json on upstream's pages
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the installation
    _loads = json.loads

Params = Sequence[tuple[str, str]]
Sleep = Callable[[float], Awaitable[None]]
# Told about every finished attempt: method, upstream status (None: no answer), seconds.
Observer = Callable[[str, int | None, float], None]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# A path of only these characters goes out as it is; anything else is percent-encoded first.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]*")


class _Failed(Exception):
    """One attempt failed; carries what went wrong for the retry rules."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind.value)
        self.failure = failure


class UpstreamClient:
    """JSON over HTTP to one upstream base URL. The base URL comes from configuration only: no
    request header or path can steer it (the gateway is not an open proxy)."""

    def __init__(
        self,
        base_url: str,
        policy: RetryPolicy | None = None,
        *,
        max_connections: int = 100,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._max_connections = max_connections
        self._pool: transport.Pool | None = None  # opened on the first call, in its loop
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._observer = observer

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(
        self,
        method: str,
        path: str,
        creds: Credentials,
        *,
        params: Params | None = None,
        form: Params | None = None,
    ) -> Any:
        """Send one request, retrying where the rules allow; return the decoded JSON object of
        a 2xx answer or raise ApiError. Never takes longer than the policy's budget, nor
        past the current request's deadline (:mod:`gateway.upstream.deadline`)."""
        loop = asyncio.get_running_loop()
        budget = budget_for(self.policy.budget)
        # A send started with less time than a connect needs could only end "unknown" (half
        # the total where the total is shorter than a connect timeout).
        if budget <= 0 or (
            method.upper() not in SAFE_METHODS
            and budget < min(self.policy.connect_timeout, self.policy.budget / 2)
        ):
            raise exhausted(method)
        deadline = loop.time() + budget
        call_id = ""  # named on the first failure: successful calls never need it
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - loop.time()
            try:
                return await self._attempt(method, path, creds, params, form, remaining)
            except _Failed as exc:
                failure = exc.failure
            delay = retry_delay(
                method, failure, attempt, deadline - loop.time(), self.policy, self._rng
            )
            call_id = call_id or uuid.uuid4().hex[:12]
            self._log(method, path, call_id, attempt, failure, delay)
            if delay is None:
                raise to_error(method, failure)
            await self._sleep(delay)

    async def _attempt(
        self,
        method: str,
        path: str,
        creds: Credentials,
        params: Params | None,
        form: Params | None,
        remaining: float,
    ) -> Any:
        if remaining <= 0:
            raise _Failed(Failure(FailureKind.TIMEOUT))
        policy = self.policy
        headers = [("Authorization", basic_auth_header(creds))]
        body = None
        if form is not None:
            # The bytes and type aiohttp's FormData writes for pairs.
            body = urlencode(form, doseq=True, encoding="utf-8").encode()
            headers.append(("Content-Type", FORM_CONTENT_TYPE))
        obs = current_observation.get()
        if obs is not None:
            headers.append((REQUEST_ID_HEADER, obs.request_id))
        pool = self._pool
        if pool is None:
            pool = self._pool = transport.Pool(
                self._base, max_connections=self._max_connections, user_agent=USER_AGENT
            )
        started = pool.loop.time()
        try:
            answer = await pool.request(
                method, _target(path, params), headers, body,
                deadline=started + remaining,
                connect_timeout=min(policy.connect_timeout, remaining),
                read_timeout=policy.read_timeout,
                max_body=policy.max_response_bytes,
            )
        except transport.TransportError as exc:
            # Timed to the answer's headers where they came, as the upstream histogram says.
            self._observe(method, exc.status, (exc.started or pool.loop.time()) - started)
            raise _Failed(Failure(_KIND_OF[type(exc)], exc.status)) from None
        status = answer.status
        self._observe(method, status, answer.started - started)
        data = decode_json(answer.body)
        if 200 <= status < 300:
            if not isinstance(data, dict):
                raise _Failed(Failure(FailureKind.UNDECODABLE, status))
            return data
        retry_after = parse_retry_after(answer.headers.get("retry-after"))
        raise _Failed(Failure(FailureKind.STATUS, status, data, retry_after))

    def _observe(self, method: str, status: int | None, seconds: float) -> None:
        obs = current_observation.get()
        if obs is not None:
            obs.upstream_requests += 1
            obs.upstream_seconds += seconds
            obs.upstream_status = status
        if self._observer is not None:
            self._observer(method, status, seconds)

    def _log(
        self,
        method: str,
        path: str,
        call_id: str,
        attempt: int,
        failure: Failure,
        delay: float | None,
    ) -> None:
        # Names the request and the call, never credentials or bodies (the path holds only the
        # account and message sids).
        what = failure.kind.value + (f" HTTP {failure.status}" if failure.status else "")
        ids = f"request_id={_request_id()} upstream_call={call_id}"
        if delay is not None:
            log.warning(
                "upstream %s %s attempt %d failed (%s); retrying in %.2fs [%s]",
                method, path, attempt, what, delay, ids,
            )
            return
        err = to_error(method, failure)
        if err.code == errors.OUTCOME_UNKNOWN:
            log.error(
                "upstream %s %s attempt %d failed (%s) after the request was sent: OUTCOME "
                "UNKNOWN, upstream may have processed it; not retried, client gets %d/%d [%s]",
                method, path, attempt, what, err.status, err.code, ids,
            )
        else:
            log.warning(
                "upstream %s %s attempt %d failed (%s); giving up, client gets %d/%s [%s]",
                method, path, attempt, what, err.status, err.code, ids,
            )


# The Authorization header per credentials: a handful of accounts make every request, and
# encoding it is per-request work. Bounded, so arbitrary credentials cannot grow it.
_AUTH_HEADERS: LRUCache[Credentials, str] = LRUCache(maxsize=256)


def basic_auth_header(creds: Credentials) -> str:
    """The Authorization header for ``creds``, built once per credentials."""
    header = _AUTH_HEADERS.get(creds)
    if header is None:
        pair = f"{creds.username}:{creds.password}".encode()
        header = _AUTH_HEADERS[creds] = "Basic " + base64.b64encode(pair).decode("ascii")
    return header


_KIND_OF: dict[type[transport.TransportError], FailureKind] = {
    transport.Unreachable: FailureKind.UNREACHABLE,
    transport.TimedOut: FailureKind.TIMEOUT,
    transport.Broken: FailureKind.BROKEN,
    transport.TooLarge: FailureKind.TOO_LARGE,
}


def _target(path: str, params: Params | None) -> str:
    """Path and query as they go on the request line, percent-encoded."""
    if not _PLAIN_PATH.fullmatch(path):
        path = quote(path, safe="/._~!$&'()*+,;=:@%-")
    if params:
        return f"{path}?{urlencode(params, encoding='utf-8')}"
    return path


def _request_id() -> str:
    # The observability middleware opens an observation, with the request id, per request.
    obs = current_observation.get()
    return obs.request_id if obs is not None else "-"


def decode_json(raw: bytes) -> Any:
    """An upstream body as JSON (orjson when installed, else json); None for an empty body."""
    if not raw:
        return None
    try:
        return _loads(raw)
    except ValueError:
        pass
    # What orjson refuses but json reads (lone surrogates, 1e999) reads exactly as before.
    try:
        return json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return None
