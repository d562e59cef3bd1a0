"""The paging index: what the gateway remembers about a legacy list, kept in the state store
so every replica shares it.

A *list* is one account's messages under one filter; every key starts with the account sid, so
one account's cursors and counts are never offered to another. Per list and *generation* (a
fresh one after a recount) the store holds:

- ``head``: the first sids of the list as last read and ``added``, how many messages arrived at
  the head since the generation began. Offsets are kept in the generation's own coordinates:
  a message at stored offset ``s`` is now at offset ``s + added``. Updated by compare-and-set,
  so two replicas that see the same arrivals count them once.
- ``count``: how far the count has gone (``n`` messages from the generation's head, the cursor
  to continue from), whether it reached the end (``done``) and when. Written by the one
  process that holds the list's count claim.
- ``cp``: sparse checkpoints, upstream cursors by stored offset, in a hash by bucket
  (``offset // BUCKET``, up to ``PER_BUCKET`` a bucket); a count files one per upstream page of
  ``COUNT_STEP``, so any offset has one at most ``COUNT_STEP - 1`` before it: a legacy page of
  up to 50 (and the one message more that tells whether more follow) is one read from there.

Upstream cursors are positions *after a given message* (Twilio's PageToken and the sandbox's
alike): they stay valid when messages arrive at the head, which only shifts offsets by
``added``. Nothing here decodes a cursor.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from gateway.state.base import StateStore

Clock = Callable[[], float]
# (account sid, ListFilter.cache_key())
ListKey = tuple[str, tuple[str, ...]]

# Counts read this many messages a page: 1000 (the most upstream gives) less the default legacy
# page of 50 and its look-ahead, so a default page is always one read from a checkpoint.
COUNT_STEP = 949
BUCKET = COUNT_STEP
# Checkpoints kept per bucket (counts, walks and segment starts may each file one).
PER_BUCKET = 4
# Lists whose generation a process remembers (a miss costs one more store round trip).
GENERATIONS_KEPT = 10_000
# How many of the list's first sids the head state keeps: finding any of them in a fresh head
# read tells how many messages arrived (or, rarely, vanished) above it.
HEAD_SIDS = 4


@dataclass(frozen=True, slots=True)
class Total:
    """A list's size as a page reports it: exact, or provisional while a count runs."""

    count: int
    exact: bool


@dataclass(frozen=True, slots=True)
class Head:
    sids: tuple[str, ...]
    added: int

    def encode(self) -> bytes:
        return json.dumps({"s": list(self.sids), "a": self.added}).encode()

    @staticmethod
    def decode(raw: bytes | None) -> Head | None:
        data = _json(raw)
        if not isinstance(data, dict):
            return None
        sids, added = data.get("s"), data.get("a")
        if not isinstance(sids, list) or not isinstance(added, int):
            return None
        return Head(tuple(str(s) for s in sids), added)

    def arrivals(self, sids: Sequence[str]) -> int | None:
        """How many messages now stand above the old head, from a fresh read of the list's
        first ``sids``; None when none of the old head's sids is among them."""
        where = {sid: i for i, sid in enumerate(sids)}
        for j, sid in enumerate(self.sids):
            if sid in where:
                return where[sid] - j
        return None


@dataclass(frozen=True, slots=True)
class Count:
    n: int  # messages counted from the generation's head (stored offsets 0..n-1)
    next: str | None  # cursor that reads stored offset n onwards
    done: bool
    finished_at: float = 0.0  # wall time the count reached the end (0: not yet)
    capped: bool = False  # stopped at total_bound (bounded mode), not at the end
    # When the list's first message and the last one counted were sent (epoch seconds; 0
    # unknown): the count's pace, for a provisional total (gateway.paging_estimate).
    newest: float = 0.0
    last: float = 0.0
    # Messages counted further down the list by segments not joined yet
    # (gateway.paging_segments): with ``n``, how far the count has got.
    ahead: int = 0
    ahead_span: float = 0.0  # seconds of the list's time those segments have read
    walkers: int = 0  # walks reading now (0: segments not planned yet)

    @property
    def seen(self) -> int:
        return self.n + self.ahead

    def encode(self) -> bytes:
        return json.dumps(
            # Floats as floats: the stored bytes are compared on every compare-and-set.
            {"n": self.n, "t": self.next, "d": self.done, "f": float(self.finished_at),
             "c": self.capped, "h": float(self.newest), "l": float(self.last),
             "a": self.ahead, "s": float(self.ahead_span), "w": self.walkers}
        ).encode()

    @staticmethod
    def decode(raw: bytes | None) -> Count | None:
        data = _json(raw)
        if not isinstance(data, dict) or not isinstance(data.get("n"), int):
            return None
        token = data.get("t")
        return Count(
            data["n"], token if isinstance(token, str) else None, bool(data.get("d")),
            float(data.get("f") or 0.0), bool(data.get("c")), float(data.get("h") or 0.0),
            float(data.get("l") or 0.0), data["a"] if isinstance(data.get("a"), int) else 0,
            float(data.get("s") or 0.0), data["w"] if isinstance(data.get("w"), int) else 0,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One read of a list's index: its generation and what is known in it."""

    generation: str
    head: Head | None
    count: Count | None
    oldest: float | None = None  # start of the list's oldest day (epoch seconds), once probed


def _json(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _points(raw: bytes) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for line in raw.decode().split("\n"):
        offset, _, token = line.partition("\t")
        try:
            out.append((int(offset), token))
        except ValueError:
            continue
    return out


def thin(points: list[tuple[int, str]], end: int, most: int) -> list[tuple[int, str]]:
    """At most ``most`` of a bucket's checkpoints (sorted by offset; the bucket ends before
    ``end``): the lowest is always kept (it covers the bucket's start), then whichever removal
    leaves the smallest gap goes first, so no offset ends up further from a checkpoint than it
    must."""
    points = list(points)
    while len(points) > most:
        def gap(i: int) -> int:
            after = points[i + 1][0] if i + 1 < len(points) else end
            return after - points[i - 1][0]

        del points[min(range(1, len(points)), key=gap)]
    return points


def list_prefix(key: ListKey) -> str:
    account, flt = key
    # Filters hold phone numbers: the store sees a digest, never the number.
    digest = hashlib.sha256("\x1f".join(flt).encode()).hexdigest()[:20]
    return f"pg:{account}:{digest}"


class PagingIndex:
    """The index's store operations for one store (the shared one, or the local fallback)."""

    def __init__(self, store: StateStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        # For the cache metrics: checkpoints this process filed, lookups that found one or
        # not, lists it started indexing.
        self.filed = self.hits = self.misses = self.lists = 0
        # The generation each list was last served in, so a snapshot is one round trip.
        self._generations: LRUCache[ListKey, str] = LRUCache(maxsize=GENERATIONS_KEPT)

    @staticmethod
    def _k(key: ListKey, generation: str, part: str) -> str:
        return f"{list_prefix(key)}:{generation}:{part}"

    async def snapshot(self, key: ListKey) -> Snapshot:
        """The list's current generation (created when the list has none) with its state: one
        store round trip when this process has seen the list's generation before (the pointer
        is read with the state and checked)."""
        pointer = f"{list_prefix(key)}:gen"
        known = self._generations.get(key)
        if known is not None:
            raws = await self.store.get_many([pointer, *self._parts(key, known)])
            if raws[0] == known.encode():
                return self._snapshot(known, raws[1:])
            raw = raws[0]
        else:
            raw = await self.store.get(pointer)
        if raw is None:
            fresh = self.new_generation().encode()
            if not await self.store.compare_and_set(pointer, None, fresh, self.ttl):
                raw = await self.store.get(pointer)
            else:
                self.lists += 1
            raw = raw or fresh
        generation = raw.decode()
        self._generations[key] = generation
        return await self.load(key, generation)

    def _parts(self, key: ListKey, generation: str) -> list[str]:
        return [self._k(key, generation, part) for part in ("head", "count", "oldest")]

    async def load(self, key: ListKey, generation: str) -> Snapshot:
        return self._snapshot(generation, await self.store.get_many(self._parts(key, generation)))

    @staticmethod
    def _snapshot(generation: str, raws: Sequence[bytes | None]) -> Snapshot:
        head_raw, count_raw, oldest_raw = raws
        oldest = _json(oldest_raw)
        return Snapshot(
            generation, Head.decode(head_raw), Count.decode(count_raw),
            float(oldest) if isinstance(oldest, int | float) else None,
        )

    async def set_oldest(self, key: ListKey, generation: str, oldest: float) -> None:
        await self.store.set(self._k(key, generation, "oldest"), json.dumps(oldest).encode(), self.ttl)

    async def replace_head(
        self, key: ListKey, generation: str, old: Head | None, new: Head
    ) -> bool:
        return await self.store.compare_and_set(
            self._k(key, generation, "head"), old.encode() if old else None, new.encode(),
            self.ttl,
        )

    async def start_count(self, key: ListKey, generation: str, count: Count) -> bool:
        """Record the count's first step, unless another process already did."""
        return await self.store.compare_and_set(
            self._k(key, generation, "count"), None, count.encode(), self.ttl
        )

    async def save_count(self, key: ListKey, generation: str, old: Count, new: Count) -> bool:
        return await self.store.compare_and_set(
            self._k(key, generation, "count"), old.encode(), new.encode(), self.ttl
        )

    async def promote(self, key: ListKey, old: str, new: str) -> bool:
        """Serve generation ``new`` (a finished recount) instead of ``old``."""
        return await self.store.compare_and_set(
            f"{list_prefix(key)}:gen", old.encode(), new.encode(), self.ttl
        )

    @staticmethod
    def new_generation() -> str:
        return secrets.token_hex(6)

    async def checkpoints(
        self, key: ListKey, generation: str, buckets: Sequence[int]
    ) -> list[tuple[int, str]]:
        raws = await self.store.hash_get(
            self._k(key, generation, "cp"), [str(b) for b in buckets]
        )
        return [cp for raw in raws if raw is not None for cp in _points(raw)]

    async def nearest(
        self, key: ListKey, generation: str, stored: int
    ) -> tuple[int, str] | None:
        """The checkpoint with the greatest stored offset at or before ``stored``."""
        bucket = stored // BUCKET
        found = [
            cp for cp in await self.checkpoints(key, generation, (bucket, bucket - 1))
            if cp[0] <= stored
        ]
        if found:
            self.hits += 1
            return max(found)
        self.misses += 1
        return None

    async def file(self, key: ListKey, generation: str, points: Sequence[tuple[int, str]]) -> None:
        """Remember cursors by stored offset, up to ``PER_BUCKET`` a bucket, keeping those
        that leave the smallest gaps."""
        if not points:
            return
        fresh: dict[int, dict[int, str]] = {}
        for offset, token in points:
            fresh.setdefault(offset // BUCKET, {}).setdefault(offset, token)
        buckets = list(fresh)
        raws = await self.store.hash_get(
            self._k(key, generation, "cp"), [str(b) for b in buckets]
        )
        values: dict[str, bytes] = {}
        for bucket, raw in zip(buckets, raws, strict=True):
            known = dict(_points(raw)) if raw is not None else {}
            merged = {**fresh[bucket], **known}
            if len(merged) == len(known):
                continue  # nothing new
            kept = thin(sorted(merged.items()), (bucket + 1) * BUCKET, PER_BUCKET)
            if [o for o, _ in kept] != sorted(known):
                values[str(bucket)] = "\n".join(f"{o}\t{t}" for o, t in kept).encode()
        if values:
            await self.store.hash_set(self._k(key, generation, "cp"), values, self.ttl)
            self.filed += len(values)

    async def claim(self, key: ListKey, generation: str, ttl: float) -> str | None:
        return await self.store.claim(self._k(key, generation, "claim"), ttl)

    async def extend(self, key: ListKey, generation: str, token: str, ttl: float) -> bool:
        return await self.store.extend(self._k(key, generation, "claim"), token, ttl)

    async def release(self, key: ListKey, generation: str, token: str) -> None:
        await self.store.release(self._k(key, generation, "claim"), token)
