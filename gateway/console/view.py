"""The ledger read back from the store: per account, the last day by hour, the last week by
day, who called how, which legacy features they used, and when each client was first and last
seen. :func:`as_json` is the shape of ``/console/api/ledger``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from gateway.console.ledger import ACCOUNTS_KEY, SEP, day_key, seen_key
from gateway.state.base import StateStore

WEEK: Final = 7
HOURS: Final = 24
_CONCURRENT_ACCOUNTS: Final = 16


@dataclass(frozen=True, slots=True)
class Usage:
    client: str
    dialect: str
    operation: str
    format: str
    requests: int


@dataclass(frozen=True, slots=True)
class FeatureUse:
    feature: str
    client: str
    dialect: str
    requests: int


@dataclass(frozen=True, slots=True)
class ClientSeen:
    client: str
    requests: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class AccountView:
    account: str
    requests_week: int
    requests_day: int
    hourly: tuple[int, ...]  # the last 24 hours, oldest first, the current hour last
    daily: tuple[tuple[date, int], ...]  # the last 7 days, oldest first, today last
    usage: tuple[Usage, ...]
    features: tuple[FeatureUse, ...]
    clients: tuple[ClientSeen, ...]

    @property
    def dialects(self) -> tuple[str, ...]:
        return tuple(sorted({u.dialect for u in self.usage}))

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(sorted({u.format for u in self.usage if u.format != "-"}))

    def feature_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for use in self.features:
            totals[use.feature] = totals.get(use.feature, 0) + use.requests
        return totals

    @property
    def first_seen(self) -> datetime | None:
        times = [c.first_seen for c in self.clients if c.first_seen]
        return min(times) if times else None

    @property
    def last_seen(self) -> datetime | None:
        times = [c.last_seen for c in self.clients if c.last_seen]
        return max(times) if times else None


@dataclass(frozen=True, slots=True)
class LedgerView:
    generated: datetime
    accounts: tuple[AccountView, ...]

    def account(self, sid: str) -> AccountView | None:
        return next((a for a in self.accounts if a.account == sid), None)


def _stamp(raw: bytes | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _count(raw: bytes) -> int:
    try:
        return int(raw)
    except ValueError:
        return 0


async def load_account(store: StateStore, account: str, now: datetime) -> AccountView:
    today = now.date()
    days = [today - timedelta(days=back) for back in range(WEEK - 1, -1, -1)]
    # Concurrent reads: on Redis each is a round trip.
    hashes = await asyncio.gather(*(store.hash_get_all(day_key(day, account)) for day in days))
    daily = tuple((day, _count(h.get("n", b"0"))) for day, h in zip(days, hashes, strict=True))
    # The last 24 hours: yesterday's hours after this one, then today's up to this one.
    hourly = tuple(
        _count(hashes[-2].get(f"h{SEP}{h:02d}", b"0")) for h in range(now.hour + 1, HOURS)
    ) + tuple(_count(hashes[-1].get(f"h{SEP}{h:02d}", b"0")) for h in range(now.hour + 1))
    usage: dict[tuple[str, ...], int] = {}
    features: dict[tuple[str, ...], int] = {}
    per_client: dict[str, int] = {}
    for fields in hashes:
        for name, raw in fields.items():
            kind, _, rest = name.partition(SEP)
            parts = tuple(rest.split(SEP))
            if kind == "r" and len(parts) == 4:
                usage[parts] = usage.get(parts, 0) + _count(raw)
                per_client[parts[0]] = per_client.get(parts[0], 0) + _count(raw)
            elif kind == "f" and len(parts) == 3:
                features[parts] = features.get(parts, 0) + _count(raw)
    seen = await store.hash_get_all(seen_key(account))
    clients = sorted(set(per_client) | {n.partition(SEP)[2] for n in seen})
    return AccountView(
        account=account,
        requests_week=sum(n for _, n in daily),
        requests_day=sum(hourly),
        hourly=hourly,
        daily=daily,
        usage=tuple(
            Usage(c, d, o, f, n) for (c, d, o, f), n in sorted(usage.items(), key=_by_count)
        ),
        features=tuple(
            FeatureUse(name, c, d, n)
            for (c, d, name), n in sorted(features.items(), key=_by_count)
        ),
        clients=tuple(
            ClientSeen(
                c, per_client.get(c, 0), _stamp(seen.get(f"first{SEP}{c}")),
                _stamp(seen.get(f"last{SEP}{c}")),
            )
            for c in clients
        ),
    )


def _by_count(item: tuple[tuple[str, ...], int]) -> tuple[int, tuple[str, ...]]:
    return (-item[1], item[0])


async def load(store: StateStore, now: float, only: str | None = None) -> LedgerView:
    moment = datetime.fromtimestamp(now, UTC)
    accounts = [only] if only else sorted(await store.set_members(ACCOUNTS_KEY))
    # A few accounts at a time: up to ledger_max_accounts of them, 8 reads each.
    limit = asyncio.Semaphore(_CONCURRENT_ACCOUNTS)

    async def one(account: str) -> AccountView:
        async with limit:
            return await load_account(store, account, moment)

    views = list(await asyncio.gather(*(one(account) for account in accounts)))
    views.sort(key=lambda v: (-v.requests_week, v.account))
    return LedgerView(moment, tuple(v for v in views if v.requests_week or v.clients))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def account_json(view: AccountView) -> dict[str, Any]:
    return {
        "account_sid": view.account,
        "requests_last_day": view.requests_day,
        "requests_last_week": view.requests_week,
        "first_seen": _iso(view.first_seen),
        "last_seen": _iso(view.last_seen),
        "dialects": list(view.dialects),
        "formats": list(view.formats),
        "features": view.feature_totals(),
        "hourly": list(view.hourly),
        "daily": [{"day": d.isoformat(), "requests": n} for d, n in view.daily],
        "clients": [
            {
                "client": c.client, "requests": c.requests,
                "first_seen": _iso(c.first_seen), "last_seen": _iso(c.last_seen),
            }
            for c in view.clients
        ],
        "usage": [
            {
                "client": u.client, "dialect": u.dialect, "operation": u.operation,
                "format": u.format, "requests": u.requests,
            }
            for u in view.usage
        ],
        "feature_use": [
            {"feature": f.feature, "client": f.client, "dialect": f.dialect,
             "requests": f.requests}
            for f in view.features
        ],
    }


def as_json(view: LedgerView) -> dict[str, Any]:
    return {
        "generated": _iso(view.generated),
        "window_days": WEEK,
        "accounts": [account_json(a) for a in view.accounts],
    }
