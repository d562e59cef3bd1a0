"""An in-memory upstream with the current API's cursor semantics, for the paging tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.model import ListFilter, Message

ACCOUNT_A = "AC" + "a" * 32
ACCOUNT_B = "AC" + "b" * 32
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def make_message(n: int, account: str = ACCOUNT_A, to: str = "+14155550100", day: int = 0) -> Message:
    sent = _EPOCH + timedelta(days=day, seconds=n)
    return Message(
        sid=f"SM{n:032x}",
        account_sid=account,
        to=to,
        from_="+14155550199",
        body=f"message {n}",
        status="delivered",
        direction="outbound-api",
        date_created=sent,
        date_sent=sent,
    )


def _matches(m: Message, flt: ListFilter) -> bool:
    day: date | None = m.date_sent.date() if m.date_sent else None
    return (
        (not flt.to or m.to == flt.to)
        and (not flt.from_ or m.from_ == flt.from_)
        and (not flt.date_sent or day == flt.date_sent)
        and (not flt.date_sent_before or (day is not None and day <= flt.date_sent_before))
        and (not flt.date_sent_after or (day is not None and day >= flt.date_sent_after))
    )


@dataclass
class FakeUpstream:
    """Newest first; a cursor means 'after this sid', as the current API's PageToken does, so
    cursors stay valid when messages arrive. ``trailing_cursor`` hands out a cursor after a
    full last page (leading to an empty page), as some cursor APIs do."""

    messages: list[Message] = field(default_factory=list)
    trailing_cursor: bool = False
    calls: list[tuple[int, str | None]] = field(default_factory=list)

    def add(self, *items: Message) -> None:
        # New messages arrive at the head (newest first).
        self.messages[:0] = sorted(items, key=lambda m: m.date_sent or _EPOCH, reverse=True)

    def listing(self, flt: ListFilter) -> list[Message]:
        return [m for m in self.messages if _matches(m, flt)]

    async def fetch(
        self, flt: ListFilter, page_size: int, token: str | None
    ) -> tuple[Sequence[Message], str | None]:
        self.calls.append((page_size, token))
        rows = self.listing(flt)
        start = 0
        if token is not None:
            after = token.removeprefix("after:")
            start = next(i for i, m in enumerate(rows) if m.sid == after) + 1
        page = rows[start : start + page_size]
        more = start + page_size < len(rows) or (
            self.trailing_cursor and len(page) == page_size
        )
        return page, (f"after:{page[-1].sid}" if page and more else None)


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
