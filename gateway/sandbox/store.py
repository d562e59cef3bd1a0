"""In-memory message storage: per account, bounded (oldest created evicted first), kept in
list order (newest first by date_sent, then date_created, then arrival) for cursor paging.

All methods are synchronous and never await, so each is atomic on the event loop; a lock also
makes them safe when a test seeds the store from another thread.
"""

from __future__ import annotations

import bisect
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from gateway.sandbox.segments import num_segments

# Sort key: ascending = oldest first; lists walk it backwards. Microseconds keep it exact.
SortKey = tuple[int, int, int]



def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _day_start(day: date, plus_days: int) -> int:
    """Microseconds of the start of ``day`` + ``plus_days`` (UTC)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=plus_days)
    return _micros(start)


def _micros(value: datetime) -> int:
    # Integer arithmetic: float timestamps can round two distinct instants together.
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


@dataclass(slots=True)
class StoredMessage:
    """One message as the sandbox keeps it (current API vocabulary)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    status: str
    direction: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    price: str | None = None
    price_unit: str = "USD"
    error_code: int | None = None
    error_message: str | None = None
    num_segments: int = 1
    num_media: int = 0
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    application_sid: str | None = None
    api_version: str = "2010-04-01"
    # Which resource created it: "messages" (current) or "sms2010" (deprecated /SMS/Messages);
    # decides the shape of its status callbacks.
    created_via: str = "messages"
    seq: int = 0

    @property
    def sort_key(self) -> SortKey:
        created = _micros(self.date_created)
        sent = _micros(self.date_sent) if self.date_sent else created
        return (sent, created, self.seq)

    @property
    def day_sent(self) -> date | None:
        return self.date_sent.astimezone(UTC).date() if self.date_sent else None


@dataclass(frozen=True, slots=True)
class Filter:
    to: str | None = None
    from_: str | None = None
    date_sent: date | None = None
    date_sent_before: date | None = None  # on or before
    date_sent_after: date | None = None  # on or after

    def matches(self, m: StoredMessage) -> bool:
        if self.to is not None and m.to != self.to:
            return False
        if self.from_ is not None and m.from_ != self.from_:
            return False
        if self.date_sent or self.date_sent_before or self.date_sent_after:
            day = m.day_sent
            if day is None:  # never sent: no date filter matches it
                return False
            if self.date_sent and day != self.date_sent:
                return False
            if self.date_sent_before and day > self.date_sent_before:
                return False
            if self.date_sent_after and day < self.date_sent_after:
                return False
        return True


@dataclass(slots=True)
class _Account:
    by_sid: OrderedDict[str, StoredMessage] = field(default_factory=OrderedDict)
    keys: list[SortKey] = field(default_factory=list)  # ascending
    by_key: dict[SortKey, StoredMessage] = field(default_factory=dict)


class MessageStore:
    def __init__(self, max_per_account: int, *, now: Callable[[], datetime] | None = None) -> None:
        if max_per_account < 1:
            raise ValueError("max_per_account must be >= 1")
        self.max_per_account = max_per_account
        self._now = now or (lambda: datetime.now(UTC))
        self._accounts: dict[str, _Account] = {}
        self._seq = count(1)
        self._lock = threading.RLock()
        self.evicted = 0

    # --- writing ---------------------------------------------------------------------------
    def add(self, message: StoredMessage) -> StoredMessage:
        """Store a message (assigning its arrival order), evicting the account's oldest."""
        with self._lock:
            acct = self._accounts.setdefault(message.account_sid, _Account())
            message.seq = next(self._seq)
            acct.by_sid[message.sid] = message
            self._index(acct, message)
            while len(acct.by_sid) > self.max_per_account:
                _, oldest = acct.by_sid.popitem(last=False)
                self._unindex(acct, oldest)
                self.evicted += 1
            return message

    def update(self, message: StoredMessage, **changes: Any) -> bool:
        """Change fields of a stored message, keeping the list order right. False when the
        message is no longer stored (evicted)."""
        with self._lock:
            acct = self._accounts.get(message.account_sid)
            if acct is None or acct.by_sid.get(message.sid) is not message:
                return False
            self._unindex(acct, message)
            for name, value in changes.items():
                setattr(message, name, value)
            self._index(acct, message)
            return True

    def seed(
        self,
        account_sid: str,
        count_: int = 1,
        *,
        start: datetime | None = None,
        step: timedelta = timedelta(seconds=1),
        **fields_: Any,
    ) -> list[StoredMessage]:
        """Insert ``count_`` messages quickly, for tests. Message ``i`` is created at
        ``start + i * step`` (default: now, one second apart); any StoredMessage field may be
        given as a value or as a function of ``i``. Defaults: outbound-api, delivered, sent at
        its creation time, To +15005550010 + ..., From +15005550006, body "Seed message i"."""
        start = start or self._now()
        out: list[StoredMessage] = []
        for i in range(count_):
            values = {k: (v(i) if callable(v) else v) for k, v in fields_.items()}
            created = values.pop("date_created", start + i * step)
            status = values.pop("status", "delivered")
            direction = values.pop("direction", "outbound-api")
            body = values.pop("body", f"Seed message {i}")
            sent_default = None if status in ("queued", "accepted", "failed") else created
            sid_prefix = "MM" if values.get("num_media") else "SM"
            message = StoredMessage(
                sid=values.pop("sid", new_sid(sid_prefix)),
                account_sid=account_sid,
                to=values.pop("to", "+15558675309"),
                from_=values.pop("from_", "+15005550006"),
                body=body,
                status=status,
                direction=direction,
                date_created=created,
                date_updated=values.pop("date_updated", values.get("date_sent") or created),
                date_sent=values.pop("date_sent", sent_default),
                num_segments=values.pop("num_segments", num_segments(body)),
                **values,
            )
            out.append(self.add(message))
        return out

    # --- reading ---------------------------------------------------------------------------
    def get(self, account_sid: str, sid: str) -> StoredMessage | None:
        with self._lock:
            acct = self._accounts.get(account_sid)
            return acct.by_sid.get(sid) if acct else None

    def count(self, account_sid: str | None = None) -> int:
        with self._lock:
            if account_sid is not None:
                acct = self._accounts.get(account_sid)
                return len(acct.by_sid) if acct else 0
            return sum(len(a.by_sid) for a in self._accounts.values())

    def accounts(self) -> list[str]:
        """The accounts holding messages (for the migration console's sandbox view)."""
        with self._lock:
            return sorted(self._accounts)

    def all(self, account_sid: str) -> list[StoredMessage]:
        """Every stored message of the account, newest first."""
        with self._lock:
            acct = self._accounts.get(account_sid)
            return [acct.by_key[k] for k in reversed(acct.keys)] if acct else []

    def older_than(
        self, account_sid: str, flt: Filter, before: SortKey | None, limit: int
    ) -> list[StoredMessage]:
        """Up to ``limit`` matching messages, newest first, strictly older than ``before``
        (from the newest when None)."""
        with self._lock:
            acct = self._accounts.get(account_sid)
            if acct is None:
                return []
            i = len(acct.keys) if before is None else bisect.bisect_left(acct.keys, before)
            # A date filter bounds the part of the list worth scanning (keys are ordered by
            # the sent time; a message never sent matches no date filter): a list of 10^6
            # messages probed for an old day is not scanned from its head.
            last_day = flt.date_sent or flt.date_sent_before
            if last_day is not None:
                i = min(i, bisect.bisect_left(acct.keys, (_day_start(last_day, 1), -1, -1)))
            first_day = flt.date_sent or flt.date_sent_after
            floor = _day_start(first_day, 0) if first_day is not None else None
            out: list[StoredMessage] = []
            while i > 0 and len(out) < limit:
                i -= 1
                key = acct.keys[i]
                if floor is not None and key[0] < floor:
                    break
                m = acct.by_key[key]
                if flt.matches(m):
                    out.append(m)
            return out

    def newer_than(
        self, account_sid: str, flt: Filter, after: SortKey, limit: int
    ) -> list[StoredMessage]:
        """Up to ``limit`` matching messages strictly newer than ``after``, the closest ones,
        returned newest first."""
        with self._lock:
            acct = self._accounts.get(account_sid)
            if acct is None:
                return []
            i = bisect.bisect_right(acct.keys, after)
            out: list[StoredMessage] = []
            while i < len(acct.keys) and len(out) < limit:
                m = acct.by_key[acct.keys[i]]
                if flt.matches(m):
                    out.append(m)
                i += 1
            out.reverse()
            return out

    def count_matching(self, account_sid: str, flt: Filter) -> int:
        with self._lock:
            acct = self._accounts.get(account_sid)
            return sum(1 for m in acct.by_sid.values() if flt.matches(m)) if acct else 0

    def slice_newest_first(
        self, account_sid: str, flt: Filter, offset: int, limit: int
    ) -> list[StoredMessage]:
        """Matching messages ``offset .. offset + limit - 1``, newest first (page numbers)."""
        with self._lock:
            acct = self._accounts.get(account_sid)
            if acct is None:
                return []
            out: list[StoredMessage] = []
            seen = 0
            for key in reversed(acct.keys):
                m = acct.by_key[key]
                if not flt.matches(m):
                    continue
                if seen >= offset:
                    out.append(m)
                    if len(out) >= limit:
                        break
                seen += 1
            return out

    # --- index -----------------------------------------------------------------------------
    @staticmethod
    def _index(acct: _Account, message: StoredMessage) -> None:
        key = message.sort_key
        bisect.insort(acct.keys, key)
        acct.by_key[key] = message

    @staticmethod
    def _unindex(acct: _Account, message: StoredMessage) -> None:
        key = message.sort_key
        i = bisect.bisect_left(acct.keys, key)
        if i < len(acct.keys) and acct.keys[i] == key:
            del acct.keys[i]
        acct.by_key.pop(key, None)
