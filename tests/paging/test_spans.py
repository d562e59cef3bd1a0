"""Where a count's segments stand (gateway/paging_spans.py): the days that cut a list's time,
where a probed segment fits, and which span a free walk cuts next."""

from __future__ import annotations

from datetime import date

from gateway.paging_estimate import day_start
from gateway.paging_spans import Segment, place, plan_days, widest_cut

HOUR = 3600.0


def at(day: int, hour: float = 0.0) -> float:
    """Epoch seconds on 2024-01-``day`` at ``hour``."""
    return day_start(date(2024, 1, day)) + hour * HOUR


def seg(after_day: int, read_to: float | None = None, done: bool = False) -> Segment:
    """A segment starting after the last message of day ``after_day``, read down to
    ``read_to`` (or not read yet)."""
    after = at(after_day, 23.99)
    return Segment(f"SM{after_day}", after, "tok", last=read_to or after, done=done)


def test_plan_days_cut_the_span_into_even_days() -> None:
    oldest, top = at(1), at(31, 1)
    assert plan_days(oldest, top, 4) == [date(2024, 1, 23), date(2024, 1, 16), date(2024, 1, 8)]
    assert plan_days(oldest, top, 1) == []
    # Nothing to cut before the top's own day.
    assert plan_days(at(31), top, 8) == []


def test_a_probed_segment_goes_inside_the_span_not_read_yet() -> None:
    segments = [seg(20, read_to=at(18, 12)), seg(10)]
    frontier = at(28, 6)
    # Between the frontier and the first segment's start: first.
    assert place(segments, frontier, seg(24)) == 0
    # Day 15 lies below what the first segment has read (day 18): inside its span.
    assert place(segments, frontier, seg(15)) == 1
    # Day 19 has already been read by the first segment: nobody can meet it any more.
    assert place(segments, frontier, seg(19)) is None
    # Below the last segment, which has not read anything yet: after it.
    assert place(segments, frontier, seg(5)) == 2
    # A start already known, or a span whose walk is done, takes nothing.
    assert place(segments, frontier, seg(10)) is None
    assert place([seg(20, read_to=at(18), done=True), seg(10)], frontier, seg(15)) is None


def test_the_widest_span_is_cut_at_a_day_strictly_inside_it() -> None:
    # The frontier read down to day 28; segments start after days 20 and 10, and the second
    # has read down to day 8: spans 28->20 (8 days), 20->10 (not read: 10 days), 8->1.
    segments = [seg(20), seg(10, read_to=at(8, 6))]
    assert widest_cut(segments, at(28, 6), oldest=at(1)) == date(2024, 1, 15)
    # Never the day of the message a span ends at (that probe would find that very message).
    assert widest_cut([seg(20)], at(21, 12), oldest=at(20)) is None
    # Nothing to cut when every span is within a day, or done.
    assert widest_cut([seg(20, read_to=at(20, 23.995))], at(21, 5), oldest=at(20)) is None
    assert widest_cut([], at(21, 5), oldest=at(1)) == date(2024, 1, 10)
