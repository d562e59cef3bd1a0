"""Outgoing HTTP from the sandbox to applications: status callbacks and inbound-SMS webhooks,
each signed with X-Twilio-Signature as Twilio signs them, with a short retry on failure.

A failed delivery is logged and recorded, never raised: an application that is down must not
stop the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from gateway.destination_policy import DestinationRefused, check_host
from gateway.signing import compute_signature, with_query

log = logging.getLogger("gateway.sandbox.webhooks")

Pairs = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook or callback the sandbox made (its last attempt)."""

    kind: str  # "status_callback" | "inbound"
    url: str  # the URL requested (for GET: with the parameters in its query)
    method: str
    params: tuple[tuple[str, str], ...]
    signature: str
    status: int | None  # HTTP status, None when no answer came
    attempts: int
    body: str = ""
    content_type: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def param_dict(self) -> dict[str, str]:
        return dict(self.params)


def safe_url(url: str) -> str:
    """The URL for logs: no userinfo, no query (either may carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class WebhookSender:
    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        retries: int = 1,
        retry_delay: float = 0.2,
        log_size: int = 1000,
    ) -> None:
        # Opened and closed with the app (cleanup_ctx); None outside its lifetime.
        self.session = session
        self.retries = retries
        self.retry_delay = retry_delay
        self._log: deque[Delivery] = deque(maxlen=log_size)

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self._log)

    def __iter__(self) -> Iterator[Delivery]:
        return iter(list(self._log))

    async def send(
        self, kind: str, url: str, method: str, params: Pairs, auth_token: str
    ) -> Delivery:
        method = method.upper()
        pairs = tuple((str(k), str(v)) for k, v in params)
        if method == "GET":
            # GET webhooks carry the parameters in the URL, which is what gets signed.
            target, signed_params, data = with_query(url, pairs), (), None
        else:
            target, signed_params, data = url, pairs, list(pairs)
        signature = compute_signature(auth_token, target, signed_params)
        headers = {
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1 (sms-gateway sandbox)",
            "Accept": "*/*",
        }
        status: int | None = None
        body = ctype = ""
        error: str | None = None
        attempts = 0
        while attempts <= self.retries:
            attempts += 1
            try:
                if self.session is None or self.session.closed:
                    raise RuntimeError("the sandbox is not running")
                # Address literals bypass the session's checking resolver.
                check_host(urlsplit(target).hostname or "", allow_private=True)
                async with self.session.request(
                    method, target, data=data, headers=headers, allow_redirects=False
                ) as resp:
                    status = resp.status
                    ctype = resp.headers.get("Content-Type", "")
                    body = (await resp.content.read(64 * 1024)).decode("utf-8", "replace")
                error = None
                if status < 500:
                    break
                error = f"HTTP {status}"
            except (
                TimeoutError, aiohttp.ClientError, ValueError, RuntimeError, DestinationRefused
            ) as exc:
                status, error = None, exc.__class__.__name__
            log.warning(
                "%s to %s failed (attempt %d): %s", kind, safe_url(url), attempts, error
            )
            if attempts <= self.retries:
                await asyncio.sleep(self.retry_delay)
        delivery = Delivery(kind, target, method, pairs, signature, status, attempts, body,
                            ctype, error)
        self._log.append(delivery)
        log.info("%s %s %s -> %s", kind, method, safe_url(url), status)
        return delivery
