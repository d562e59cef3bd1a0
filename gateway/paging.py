"""Legacy page-number paging over the current API's forward-only cursors.

FIRST CUT: walks the cursor chain from the start on every request and counts totals the same
way, with no cache. The paging translator issue replaces it with cached cursors and totals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from gateway.config import Settings
from gateway.model import ListFilter, ListQuery, Message, Page

# fetch(filter, page_size, page_token) -> (messages, next page token or None)
FetchPage = Callable[[ListFilter, int, str | None], Awaitable[tuple[Sequence[Message], str | None]]]

MAX_UPSTREAM_PAGE = 1000


class Paginator:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def page(self, account_sid: str, query: ListQuery, fetch: FetchPage) -> Page:
        token: str | None = None
        index = 0
        while True:
            messages, token = await fetch(query.filter, query.page_size, token)
            if index == query.page:
                break
            if token is None:
                messages = ()
                break
            index += 1
        total: int | None = None
        if self._settings.total_mode != "off":
            total = 0
            count_token: str | None = None
            while True:
                chunk, count_token = await fetch(query.filter, MAX_UPSTREAM_PAGE, count_token)
                total += len(chunk)
                if count_token is None:
                    break
        num_pages = None if total is None else max(1, -(-total // query.page_size))
        return Page(
            messages=tuple(messages),
            page=query.page,
            page_size=query.page_size,
            total=total,
            num_pages=num_pages,
            has_next=token is not None and index == query.page,
        )
