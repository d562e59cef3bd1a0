"""A provisional total for a list whose count is still running: the count's pace in time,
extrapolated down to the list's oldest day.

The list is newest first, so the count has covered the messages from the head's date down to
the date of the last message counted. The oldest day holding a message is found by probing
``DateSent<`` (on or before a day) with PageSize 1, a binary search of about 13 requests run
beside the count. The estimate doubles the extrapolation so that it errs high when traffic was
even or has grown; it is capped, so a burst at the head of an old account does not promise
billions of pages. Without the oldest day yet (or without dates) the estimate is twice what is
counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from gateway.model import ListFilter, Message

# The first day the probe considers: before Twilio's SMS API existed.
EARLIEST = date(2008, 1, 1)
# The most messages an estimate claims (the largest accounts hold ~10^7).
CAP = 10_000_000
# The shortest span of time the count's pace is measured over (a burst at the head).
MIN_SPAN = 3600.0

Exists = Callable[[date], Awaitable[bool]]


def when(message: Message) -> float:
    """The time the list is ordered by (sent, else created), as epoch seconds; 0 unknown."""
    moment = message.date_sent or message.date_created
    return moment.timestamp() if moment is not None else 0.0


def day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def probe_filter(flt: ListFilter, day: date) -> ListFilter:
    """The list's filter narrowed to messages sent on or before ``day``."""
    before = min(day, flt.date_sent_before) if flt.date_sent_before else day
    return replace(flt, date_sent_before=before)


async def oldest_day(flt: ListFilter, last: float, exists: Exists, fan: int = 1) -> date:
    """The first day on which the list holds a sent message, at or before the day of ``last``
    (the last message counted). ``fan`` days are probed at once each round (a search of
    ~6,900 days is 13 rounds one at a time, 5 rounds with ``fan`` 7)."""
    if flt.date_sent is not None:
        return flt.date_sent
    hi = datetime.fromtimestamp(last, UTC).date() if last else datetime.now(UTC).date()
    lo = flt.date_sent_after or EARLIEST
    if lo >= hi or not await exists(hi - timedelta(days=1)):
        return min(lo, hi)
    hi -= timedelta(days=1)
    # Invariant: a message was sent on or before ``hi``; none before ``lo``.
    while lo < hi:
        width = (hi - lo).days
        picks = sorted({lo + timedelta(days=width * k // (fan + 1)) for k in range(1, fan + 1)})
        picks = [d for d in picks if lo <= d < hi] or [lo + timedelta(days=width // 2)]
        found = await asyncio.gather(*(exists(d) for d in picks))
        below = [d for d, yes in zip(picks, found, strict=True) if yes]
        above = [d for d, yes in zip(picks, found, strict=True) if not yes]
        if below:
            hi = min(below)
        above = [d for d in above if d < hi]
        if above:
            lo = max(above) + timedelta(days=1)
    return lo


def provisional_total(
    counted: int, newest: float, last: float, oldest: float | None, chunk: int,
    ahead_span: float = 0.0, factor: float = 2.0,
) -> int:
    """``counted`` messages from ``newest`` down to ``last`` (epoch seconds), plus segments
    further down that have read ``ahead_span`` seconds of the list's time; the list's oldest
    day starts at ``oldest``. The rest of the time is extrapolated at the same density, times
    ``factor``."""
    floor = counted + chunk
    if oldest is None or not newest or not last:
        return max(2 * counted, floor)
    span = max(newest - last + ahead_span, MIN_SPAN)
    rest = max(last - oldest - ahead_span, 0.0)
    estimate = counted + factor * counted * rest / span
    return int(min(max(estimate, floor), max(CAP, floor)))


class Pace:
    """How fast a running count gets on, as a request waiting for it sees it: measured over a
    second at least; while the count's segments are not planned yet (``walkers`` 0) its pace
    is taken to grow by ``parallel``, so that a request does not give up on a deep page in the
    first second of a count that is about to read ``parallel`` times faster."""

    def __init__(self, parallel: int) -> None:
        self._parallel = parallel
        self._first: tuple[float, int, bool] | None = None  # (when, seen, planned)

    def seconds_to(self, seen: int, walkers: int, target: int, now: float) -> float | None:
        """Seconds until the count has seen ``target`` messages; None until measured."""
        planned = walkers > 0
        if self._first is None or self._first[2] != planned:
            self._first = (now, seen, planned)
            return None
        since, before, _ = self._first
        if now - since < 1.0 or seen <= before:
            return None
        pace = (seen - before) / (now - since)
        if not planned:
            pace *= self._parallel
        return max(target - seen, 0) / pace
