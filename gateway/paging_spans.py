"""Where a count's segments stand (pure): the spans of a list's time still to read, and the
days that cut them (:mod:`gateway.paging_segments` does the reading).

A count reads a list newest first. Its walk from the head (the *frontier*) and each
:class:`Segment` read down the list, each to where the next segment starts. A *span* is the
time between what a walk has read down to (``top``) and where the next segment starts
(``bottom``); for the last walk, the list's oldest day. A probe names a whole day: the newest
message sent on or before it. So a span can only be cut at the end of a day strictly inside
it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta


@dataclass(eq=False, slots=True)
class Segment:
    """A run of the list after message ``after`` down to the next segment's ``after``."""

    after: str
    after_when: float
    next: str | None  # cursor to read on from
    n: int = 0  # messages read
    last: float = 0.0  # when the last message read was sent (or ``after``'s)
    done: bool = False
    points: list[tuple[int, str]] = field(default_factory=list)  # (offset in segment, cursor)
    task: asyncio.Task[None] | None = None


def day_of(moment: float) -> date:
    return datetime.fromtimestamp(moment, UTC).date()


def plan_days(oldest: float, top: float, parts: int) -> list[date]:
    """Up to ``parts - 1`` days cutting [oldest, top) into spans of even length, newest first;
    only whole days strictly before ``top``'s day (a probe names a day)."""
    first = day_of(oldest)
    last = day_of(top) - timedelta(days=1)
    if parts < 2 or last < first:
        return []
    width = (last - first).days + 1
    days = {first + timedelta(days=width * k // parts) for k in range(1, parts)}
    return sorted((d for d in days if first <= d <= last), reverse=True)


def place(segments: Sequence[Segment], frontier_last: float, seg: Segment) -> int | None:
    """Where ``seg`` goes in ``segments``: inside the span of a walk that has not read down to
    its ``after`` yet; None when no walk still can meet it (or it starts where one already
    does)."""
    if any(s.after == seg.after for s in segments):
        return None
    for i in range(len(segments) + 1):
        holder = segments[i - 1] if i else None
        top = frontier_last if holder is None else holder.last
        bottom = segments[i].after_when if i < len(segments) else float("-inf")
        if bottom < seg.after_when < top:
            return None if holder is not None and holder.done else i
    return None


def widest_cut(
    segments: Sequence[Segment], frontier_last: float, oldest: float | None
) -> date | None:
    """The middle day of the widest span still to read that a day's end can cut: a day after
    the day of the message the span ends at (cutting at that day would find that very
    message) and before the day its walk has read down to."""
    best: tuple[float, date] | None = None
    for i in range(len(segments) + 1):
        holder = segments[i - 1] if i else None
        if holder is not None and holder.done:
            continue
        top = frontier_last if holder is None else holder.last
        end = segments[i] if i < len(segments) else None
        bottom = end.after_when if end is not None else (oldest or top)
        low = day_of(bottom) + timedelta(days=1 if end is not None else 0)
        high = day_of(top) - timedelta(days=1)
        if low <= high and (best is None or top - bottom > best[0]):
            best = (top - bottom, low + (high - low) // 2)
    return best[1] if best is not None else None
