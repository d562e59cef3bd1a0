"""Sandbox knobs for reproducing the real API's scale locally: a per-request latency (the
round trip to api.twilio.com) and bulk seeding of accounts with many messages."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.config import ConfigError
from gateway.model import ACCOUNT_SID
from gateway.sandbox.store import MessageStore

TO_NUMBERS = ("+14155550100", "+14155550111", "+447700900123", "+15558675309")
FROM_NUMBERS = ("+15005550006", "+14155550199")


@dataclass(slots=True)
class Latency:
    """Seconds every API request waits before it is handled; changeable while running."""

    seconds: float = 0.0


LATENCY = web.AppKey("sandbox_latency", Latency)


@web.middleware
async def latency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    seconds = request.app[LATENCY].seconds
    if seconds > 0 and request.path != "/healthz":
        await asyncio.sleep(seconds)
    return await handler(request)


def parse_seed(spec: str) -> list[tuple[str, int]]:
    """'AC...:250000,AC...:10' -> [(sid, count), ...]."""
    out: list[tuple[str, int]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        sid, _, raw = part.partition(":")
        if not ACCOUNT_SID.fullmatch(sid) or not raw.isdigit():
            raise ConfigError(
                f"setting 'sandbox_seed' (SANDBOX_SEED): {part[:40]!r} is not AccountSid:count"
            )
        out.append((sid, int(raw)))
    return out


def seed_account(
    store: MessageStore, account_sid: str, count: int, *, end: datetime, days: int = 30,
    seed: int = 1,
) -> None:
    """``count`` messages spread evenly over the ``days`` before ``end``, oldest first, with
    mixed To/From numbers (so filters select parts of the list) and a few never sent."""
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    step = timedelta(seconds=days * 86400 / max(count, 1))
    store.seed(
        account_sid,
        count,
        start=start,
        step=step,
        to=lambda _i: rng.choice(TO_NUMBERS),
        from_=lambda _i: rng.choice(FROM_NUMBERS),
        status=lambda _i: "queued" if rng.random() < 0.02 else "delivered",
        body="Seeded",
    )
