"""What the observability code knows about the request being served, across awaits.

The middleware opens a :class:`Observation` in a context variable; the upstream trace hooks add
to it (so upstream latency and counts are measured even where a handler forgets to set the
:mod:`gateway.keys` keys), and tasks a handler spawns inherit it.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from multidict import CIMultiDictProxy

if TYPE_CHECKING:
    from gateway.observability.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-Id"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
REQUEST_ID = web.RequestKey("request_id", str)

# Ids end up in logs and in headers sent upstream: accept only a short, plain token so that a
# client cannot inject log lines or header syntax through them.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


@dataclass(slots=True)
class Observation:
    request_id: str
    # The metrics of the app serving the request, as the middleware opened it.
    metrics: Metrics | None = None
    upstream_requests: int = 0
    upstream_seconds: float = 0.0
    upstream_status: int | None = None


# Seeded from os.urandom when the module loads: every process (worker) draws its own sequence.
_ids = random.Random()

current: ContextVar[Observation | None] = ContextVar("gateway_observation", default=None)


def choose_request_id(headers: CIMultiDictProxy[str]) -> str:
    """The client's X-Request-Id, else Twilio's I-Twilio-Idempotency-Token (set on webhooks), else
    a fresh one; an id that is not a plain token is replaced rather than trusted."""
    for name in (REQUEST_ID_HEADER, IDEMPOTENCY_HEADER):
        value = headers.get(name, "").strip()
        if value and _SAFE_ID.fullmatch(value):
            return value
    # 128 random bits as 32 hex digits, like a uuid4's hex: an id must be unique, not secret,
    # and the os.urandom behind uuid4 is a system call on every request.
    return f"{_ids.getrandbits(128):032x}"
