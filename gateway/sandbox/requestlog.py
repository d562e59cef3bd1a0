"""A bounded log of the API requests the sandbox received, for golden tests ("the request the
sandbox received"). Never holds credentials: only method, path, query and form pairs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...]

    def form_dict(self) -> dict[str, str]:
        return dict(self.form)

    def query_dict(self) -> dict[str, str]:
        return dict(self.query)


class RequestLog:
    def __init__(self, maxlen: int = 1000) -> None:
        self._entries: deque[ReceivedRequest] = deque(maxlen=maxlen)

    def append(self, entry: ReceivedRequest) -> None:
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    def last(self, method: str | None = None, path_suffix: str = "") -> ReceivedRequest | None:
        for entry in reversed(self._entries):
            if (method is None or entry.method == method) and entry.path.endswith(path_suffix):
                return entry
        return None

    def __iter__(self) -> Iterator[ReceivedRequest]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
