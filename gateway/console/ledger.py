"""The ledger of legacy clients: counted in the process, flushed to the state store.

Recording an answered request (:meth:`Ledger.observe`, called by the observability middleware)
is a few dictionary updates: no store round trip on the hot path. Every
``ledger_flush_interval`` seconds :meth:`Ledger.flush` adds the counts to the store, where every
replica adds its own, so the console of any replica shows them all.

In the store (each key expires ``ledger_retention_days`` after its last write):

- ``ledger:accounts``: set of the accounts seen; ``ledger:clients:{account}``: its clients;
- ``ledger:day:{YYYY-MM-DD}:{account}``: hash of that day's counts: ``n`` (requests),
  ``h|HH`` (requests in that UTC hour), ``r|client|dialect|operation|format`` and
  ``f|client|dialect|feature``;
- ``ledger:seen:{account}``: hash of ``first|client`` and ``last|client`` (epoch seconds).

Bounded: at most ``ledger_max_accounts`` accounts and ``ledger_max_clients`` clients per
account; the rest count under ``other``. Dialects, operations, formats and features are closed
sets. Page-number paging is told apart (followed link or jump) within this process only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Final

from aiohttp import web

from gateway import keys
from gateway.config import Settings
from gateway.console import features as feat
from gateway.console.clients import client_id, normalise_user_agent
from gateway.state.base import StateStore, StoreUnavailable

log = logging.getLogger("gateway.console.ledger")

OTHER: Final = "other"
SEP: Final = "|"
ACCOUNTS_KEY: Final = "ledger:accounts"
LEGACY_DIALECTS: Final = frozenset({"v2008", "sms2010", "callback", "inbound"})
# The formats a legacy path may name; callbacks and webhooks are forms ("-").
_FORMATS: Final = frozenset({"xml", "json", "csv", "html"})
_FORM: Final = "-"
# Lists being paged, per client, remembered for telling a followed link from a jump.
_PAGES_SIZE: Final = 10_000
_PAGES_TTL: Final = 600.0

# account, client, dialect, operation, format
RequestKey = tuple[str, str, str, str, str]
# account, client, dialect, feature
FeatureKey = tuple[str, str, str, str]
# Called after each successful flush with its feature counts {(dialect, feature): requests}
# and the number of clients it saw for the first time (first-seen written).
FlushObserver = Callable[[Mapping[tuple[str, str], int], int], None]


def day_key(day: date, account: str) -> str:
    return f"ledger:day:{day.isoformat()}:{account}"


def clients_key(account: str) -> str:
    return f"ledger:clients:{account}"


def seen_key(account: str) -> str:
    return f"ledger:seen:{account}"


# Paths repeat (pollers fetch the same messages and lists); bounded.
@lru_cache(maxsize=1024)
def format_of(path: str) -> str:
    tail = path.rstrip("/").rpartition("/")[2]
    suffix = tail.rpartition(".")[2].lower() if "." in tail else ""
    return suffix if suffix in _FORMATS else "xml"


class _Caps:
    """Accounts and clients admitted so far; beyond the caps, ``other``."""

    def __init__(self, max_accounts: int, max_clients: int) -> None:
        self.max_accounts = max_accounts
        self.max_clients = max_clients
        self.accounts: set[str] = set()
        self.clients: dict[str, set[str]] = {}

    def bucket(self, account: str, client: str) -> tuple[str, str]:
        accounts = self.accounts
        if account not in accounts:
            if account != OTHER and len(accounts - {OTHER}) >= self.max_accounts:
                account = OTHER
            accounts.add(account)
        clients = self.clients.get(account)
        if clients is None:
            clients = self.clients[account] = set()
        if client not in clients:
            if client != OTHER and len(clients - {OTHER}) >= self.max_clients:
                client = OTHER
            clients.add(client)
        return account, client

    def copy(self) -> _Caps:
        other = _Caps(self.max_accounts, self.max_clients)
        other.accounts = set(self.accounts)
        other.clients = {a: set(c) for a, c in self.clients.items()}
        return other


class Ledger:
    def __init__(
        self,
        store: StateStore | None,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        on_flush: FlushObserver | None = None,
    ) -> None:
        # Set when the app's store is open (the ledger exists before it).
        self.store = store
        self.clock = clock
        self.interval = settings.ledger_flush_interval
        self.ttl = settings.ledger_retention_days * 86400.0
        self.retention_days = settings.ledger_retention_days
        self._with_address = settings.ledger_client_address
        self._max_accounts = settings.ledger_max_accounts
        self._max_clients = settings.ledger_max_clients
        # What the store holds (as of this process's last flush), and what this process has
        # admitted since: the latter bounds the counts waiting for a flush.
        self._stored = _Caps(self._max_accounts, self._max_clients)
        self._local = self._stored.copy()
        self._requests: dict[RequestKey, int] = {}
        self._features: dict[FeatureKey, int] = {}
        # (account, client, dialect, filter, page size) -> (last page asked, when)
        self._pages: dict[tuple[Any, ...], tuple[int, float]] = {}
        self._first_written: set[tuple[str, str]] = set()
        self._synced_day: date | None = None
        self._flush_lock = asyncio.Lock()
        self._on_flush = on_flush
        self.failures = 0
        self._new_clients = 0

    # --- the hot path -----------------------------------------------------------------------

    def observe(
        self,
        request: web.Request,
        ctx: Mapping[Any, Any],
        status: int,
        response: web.StreamResponse | None,
    ) -> None:
        """Count one answered request (the observability middleware's answer hook)."""
        dialect = ctx.get(keys.DIALECT)
        if dialect not in LEGACY_DIALECTS:
            return
        account = ctx.get(keys.ACCOUNT_SID)
        # An unauthenticated try says nothing about a working client (httplib2-based clients
        # send every request once without credentials first).
        if not account or status == 401:
            return
        agent = request.headers.get("User-Agent", "")
        if self._with_address:
            client = client_id(agent, request.remote, True)
        else:
            client = normalise_user_agent(agent)
        account, client = self._local.bucket(account, client)
        operation = str(ctx.get(keys.OPERATION) or "none")
        fmt = format_of(request.path) if dialect in ("v2008", "sms2010") else _FORM
        key = (account, client, dialect, operation, fmt)
        self._requests[key] = self._requests.get(key, 0) + 1
        found: frozenset[str] | None = ctx.get(keys.LEGACY_FEATURES)
        position = ctx.get(keys.LIST_POSITION)
        if position is not None:
            found = self._paging(account, client, dialect, position, found or frozenset())
        if ctx.get(keys.TWILIO_CODE) == feat.BODY_TOO_LONG_CODE:
            found = (found or frozenset()) | {feat.BODY_OVER_160}
        if found:
            features = self._features
            for name in found:
                fkey = (account, client, dialect, name)
                features[fkey] = features.get(fkey, 0) + 1

    def _paging(
        self,
        account: str,
        client: str,
        dialect: str,
        position: tuple[Any, int, int],
        found: frozenset[str],
    ) -> frozenset[str]:
        """A page N > 0 right after N - 1 (or N, or N + 1) of the same list was followed from
        a link; any other is a jump, which the current API cannot serve."""
        filter_key, size, page = position
        ident = (account, client, dialect, filter_key, size)
        pages, now = self._pages, time.monotonic()
        # A plain dict kept in last-use order (cachetools' TTLCache costs ~5 µs a request).
        entry = pages.pop(ident, None)
        previous = entry[0] if entry is not None and now - entry[1] < _PAGES_TTL else None
        pages[ident] = (page, now)
        if len(pages) > _PAGES_SIZE:
            for stale in list(itertools.islice(pages, _PAGES_SIZE // 2)):
                del pages[stale]
        if feat.PAGE_NUMBER not in found:
            return found
        followed = previous is not None and abs(page - previous) <= 1
        return (found - {feat.PAGE_NUMBER}) | {feat.PAGE_FOLLOW if followed else feat.PAGE_JUMP}

    @property
    def pending(self) -> int:
        return len(self._requests) + len(self._features)

    # --- flushing ---------------------------------------------------------------------------

    async def flush(self) -> bool:
        """Add the counts since the last flush to the store. On a store failure they are kept
        (merged with newer ones, which the caps bound) for the next flush: False."""
        async with self._flush_lock:
            requests, features = self._requests, self._features
            store = self.store
            if store is None:  # the app has not started: nothing to flush to yet
                return False
            if not requests and not features:
                return True
            self._requests, self._features = {}, {}
            now = self.clock()
            try:
                await self._write(store, requests, features, now)
            except StoreUnavailable as exc:
                self._merge_back(requests, features)
                self._synced_day = None  # what the store holds is unknown now: re-read it
                self.failures += 1
                if self.failures == 1 or self.failures % 100 == 0:
                    log.warning("ledger flush failed (%d so far): %s", self.failures, exc)
                return False
            self.failures = 0
            if self._on_flush is not None:
                by_feature: dict[tuple[str, str], int] = {}
                for (_, _, dialect, name), count in features.items():
                    by_feature[(dialect, name)] = by_feature.get((dialect, name), 0) + count
                self._on_flush(by_feature, self._new_clients)
            return True

    def _merge_back(self, requests: dict[RequestKey, int], features: dict[FeatureKey, int]) -> None:
        for rkey, count in requests.items():
            self._requests[rkey] = self._requests.get(rkey, 0) + count
        for fkey, count in features.items():
            self._features[fkey] = self._features.get(fkey, 0) + count

    async def _sync_caps(
        self, store: StateStore, pending: dict[str, set[str]], today: date
    ) -> _Caps:
        """The caps as the store has them: re-read on a new day, or when this flush brings an
        account or a client this process has not seen in the store (another replica may have
        written it meanwhile)."""
        caps = self._stored
        if self._synced_day != today or not set(pending) <= caps.accounts:
            caps = _Caps(self._max_accounts, self._max_clients)
            caps.accounts = await store.set_members(ACCOUNTS_KEY)
            self._synced_day = today
        for account in (set(pending) | {OTHER}) & caps.accounts:
            known = caps.clients.get(account)
            if known is None or not pending.get(account, set()) <= known:
                caps.clients[account] = await store.set_members(clients_key(account))
        return caps

    async def _write(
        self,
        store: StateStore,
        requests: dict[RequestKey, int],
        features: dict[FeatureKey, int],
        now: float,
    ) -> None:
        moment = datetime.fromtimestamp(now, UTC)
        today, hour = moment.date(), f"h{SEP}{moment.hour:02d}"
        fresh_day = self._synced_day != today
        pending: dict[str, set[str]] = {}
        for key in (*requests, *features):
            pending.setdefault(key[0], set()).add(key[1])
        caps = await self._sync_caps(store, pending, today)
        self._new_clients = 0
        fields: dict[str, dict[str, int]] = {}
        seen: dict[str, set[str]] = {}

        def admit(account: str, client: str) -> tuple[str, str, dict[str, int]]:
            account, client = caps.bucket(account, client)
            seen.setdefault(account, set()).add(client)
            return account, client, fields.setdefault(account, {})

        before = caps.copy()
        for (account, client, dialect, operation, fmt), count in requests.items():
            account, client, f = admit(account, client)
            for name in ("n", hour, SEP.join(("r", client, dialect, operation, fmt))):
                f[name] = f.get(name, 0) + count
        for (account, client, dialect, name), count in features.items():
            account, client, f = admit(account, client)
            field = SEP.join(("f", client, dialect, name))
            f[field] = f.get(field, 0) + count
        new_accounts = caps.accounts - before.accounts
        new_clients = {a for a, c in caps.clients.items() if c != before.clients.get(a)}

        ttl = self.ttl
        if new_accounts or fresh_day:
            await store.set_add(ACCOUNTS_KEY, sorted(fields), ttl)
        stamp = str(int(now)).encode()
        for account, counts in fields.items():
            await store.hash_incr(day_key(today, account), counts, ttl)
            clients = seen[account]
            if account in new_clients or fresh_day:
                await store.set_add(clients_key(account), sorted(clients), ttl)
            stamps = {f"last{SEP}{c}": stamp for c in clients}
            first = [c for c in clients if (account, c) not in self._first_written]
            if first:
                stored = await store.hash_get(seen_key(account), [f"first{SEP}{c}" for c in first])
                for client, value in zip(first, stored, strict=True):
                    if value is None:
                        stamps[f"first{SEP}{client}"] = stamp
                        self._new_clients += 1
                    if len(self._first_written) < self._max_accounts * (self._max_clients + 1):
                        self._first_written.add((account, client))
            await store.hash_set(seen_key(account), stamps, ttl)
        self._stored = caps
        self._local = caps.copy()

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Flush every interval until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self.flush()
        finally:
            try:
                await asyncio.shield(self.flush())
            except Exception:  # shutting down: the counts are lost, the exit is not
                log.exception("last ledger flush failed")
