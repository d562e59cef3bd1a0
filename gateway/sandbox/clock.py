"""The sandbox's clock: what "now" is and how long each status step takes.

One instance per app, so tests can change it (``app[CLOCK].tick = 0``) without touching
settings; ``manual`` stops automatic progression until the test calls ``Lifecycle.advance``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class SandboxClock:
    def __init__(
        self, tick: float, *, manual: bool = False, now: Callable[[], datetime] = utcnow
    ) -> None:
        self.tick = tick
        self.manual = manual
        self._now = now

    def now(self) -> datetime:
        return self._now()

    def set_now(self, now: Callable[[], datetime]) -> None:
        self._now = now
