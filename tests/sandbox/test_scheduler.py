"""The sandbox's Scheduler: many delayed calls behind one loop timer, on the default loop and on
uvloop (which `sms-gateway sandbox` runs on when installed)."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from gateway.sandbox.scheduler import Scheduler

Run = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    if request.param == "uvloop":
        factory = pytest.importorskip("uvloop").new_event_loop
    else:
        factory = asyncio.new_event_loop

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coro)

    return run


class Recorder:
    """The ``run`` of a Scheduler: records each key with the loop time it ran at."""

    def __init__(self) -> None:
        self.ran: list[tuple[object, float]] = []
        self._changed = asyncio.Event()

    def __call__(self, key: object) -> None:
        self.ran.append((key, asyncio.get_running_loop().time()))
        self._changed.set()

    @property
    def keys(self) -> list[object]:
        return [key for key, _ in self.ran]

    async def until(self, count: int) -> None:
        while len(self.ran) < count:
            self._changed.clear()
            await self._changed.wait()


def test_each_call_runs_once_in_due_order_and_not_before_its_time(run: Run) -> None:
    async def scenario() -> tuple[Recorder, dict[int, tuple[float, float, float]]]:
        loop = asyncio.get_running_loop()
        rec = Recorder()
        scheduler = Scheduler(rec)
        rng = random.Random(2010)
        # key: its delay, and the earliest and latest its due time can be
        calls: dict[int, tuple[float, float, float]] = {}
        for key in range(300):
            delay = rng.choice((0, 0.01, 0.02, 0.03))
            before = loop.time()
            scheduler.call_later(delay, key)
            calls[key] = (delay, before + delay, loop.time() + delay)
        await rec.until(len(calls))
        assert len(scheduler) == 0
        return rec, calls

    rec, calls = run(scenario())
    assert sorted(rec.keys) == sorted(calls)  # each exactly once
    # A timer may fire up to the clock's resolution early (uvloop's clock counts milliseconds).
    assert all(at >= calls[key][1] - 0.002 for key, at in rec.ran)
    # None runs after a call that was certainly due later.
    due_before = float("-inf")
    for key in rec.keys:
        _, earliest, latest = calls[key]
        assert latest >= due_before
        due_before = max(due_before, earliest)
    # Equal delays keep the order they were scheduled in.
    for delay in {delay for delay, _, _ in calls.values()}:
        same = [key for key in rec.keys if calls[key][0] == delay]
        assert same == sorted(same)


def test_pending_calls_cost_the_collector_nothing(run: Run) -> None:
    async def scenario() -> int:
        scheduler: Scheduler[tuple[str, int]] = Scheduler(Recorder())
        gc.collect()
        before = len(gc.get_objects())
        for i in range(10_000):
            scheduler.call_later(3600 + i, (f"SM{i:032x}", i))
        # A collection untracks a tuple whose items are untracked by then; a nested one can
        # be seen before its items and is left to the next.
        gc.collect()
        gc.collect()
        tracked = len(gc.get_objects()) - before
        scheduler.clear()
        return tracked

    # 10,000 loop.call_later timers would leave 30,000 (handle, arguments, context).
    assert run(scenario()) < 10


def test_a_call_due_sooner_than_the_armed_timer_runs_first(run: Run) -> None:
    async def scenario() -> tuple[list[object], int]:
        rec = Recorder()
        scheduler = Scheduler(rec)
        scheduler.call_later(3600, "in an hour")
        scheduler.call_later(0.01, "soon")
        await rec.until(1)
        waiting = len(scheduler)
        scheduler.clear()
        return rec.keys, waiting

    assert run(scenario()) == (["soon"], 1)


def test_a_zero_delay_waits_for_a_later_loop_iteration(run: Run) -> None:
    async def scenario() -> tuple[list[object], list[object]]:
        rec = Recorder()
        scheduler = Scheduler(rec)
        scheduler.call_later(0, "next")
        right_after = rec.keys
        await rec.until(1)
        return right_after, rec.keys

    assert run(scenario()) == ([], ["next"])


def test_clear_drops_every_pending_call(run: Run) -> None:
    async def scenario() -> list[object]:
        rec = Recorder()
        scheduler = Scheduler(rec)
        for i in range(20):
            scheduler.call_later(i * 0.001, i)
        scheduler.clear()
        assert len(scheduler) == 0
        # Due after every dropped call would have been: had any run, it would be seen first.
        scheduler.call_later(0.03, "after")
        await rec.until(1)
        return rec.keys

    assert run(scenario()) == ["after"]


def test_a_call_may_schedule_the_next_one(run: Run) -> None:
    async def scenario() -> list[object]:
        rec = Recorder()
        scheduler: Scheduler[int] = Scheduler(lambda key: chain(key))

        def chain(key: int) -> None:
            rec(key)
            if key < 5:
                scheduler.call_later(0, key + 1)

        scheduler.call_later(3600, -1)  # a later timer must not hide the chain's
        scheduler.call_later(0, 0)
        await rec.until(6)
        scheduler.clear()
        return rec.keys

    assert run(scenario()) == [0, 1, 2, 3, 4, 5]


def test_a_failing_call_is_logged_and_the_others_due_still_run(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> list[object]:
        rec = Recorder()

        def call(key: str) -> None:
            if key == "bad":
                raise RuntimeError("a bug")
            rec(key)

        scheduler = Scheduler(call)
        for key in ("first", "bad", "last"):
            scheduler.call_later(0, key)
        await rec.until(2)
        return rec.keys

    with caplog.at_level(logging.ERROR, "gateway.sandbox.scheduler"):
        assert run(scenario()) == ["first", "last"]
    assert "scheduled call 'bad' failed" in caplog.text
