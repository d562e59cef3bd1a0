"""A legacy page from what a walk saw: offsets of page numbers, page counts, the provisional
total of a list still being counted, and the page's attributes (total, numpages, has_next).
Pure functions; docs/paging.md describes the rules."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.cursor_cache import Total
from gateway.model import ListQuery, Message, Page

MAX_UPSTREAM_PAGE = 1000


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    """Offsets [start, stop) of legacy page ``page``."""
    start = page * page_size
    return start, start + page_size


def num_pages(total: int, page_size: int) -> int:
    # An empty list still has its page 0 (empty), so first and last page links stay valid.
    return max(1, -(-total // page_size))


def provisional(counted: int, chunk: int = MAX_UPSTREAM_PAGE) -> int:
    """A running count's stand-in total: twice what is counted, at least one upstream page
    more. Meant to err high (docs/paging.md): a client looping ``Page < numpages`` then reads
    empty trailing pages rather than stopping early."""
    return max(2 * counted, counted + chunk)


@dataclass(frozen=True, slots=True)
class Window:
    """What one walk found for offsets [start, stop)."""

    messages: tuple[Message, ...]
    # Whether messages exist at or after ``stop``: True/False when the walk saw it, None when
    # the read ended exactly at ``stop`` with a cursor.
    more: bool | None
    # Offset just past the list's last message, when the walk reached the end of the list.
    end_of_list: int | None = None


def compose_page(query: ListQuery, window: Window, total: Total | None, requests: int) -> Page:
    """The legacy page from what the walk saw and what is known about the list's size."""
    start, stop = page_bounds(query.page, query.page_size)
    shown = len(window.messages)
    if window.more is not None:
        has_next = window.more
    elif total is not None and total.exact:
        has_next = stop < total.count
    else:
        has_next = True
    if total is None:
        return Page(
            messages=window.messages, page=query.page, page_size=query.page_size,
            total_is_exact=False, has_next=has_next, upstream_requests=requests,
        )
    # What this page proves is a lower bound: a provisional total must not claim fewer
    # messages than the client is shown, and while there is a next page numpages stays at
    # least one page ahead, so `while page < numpages` loops never stop early.
    proven = start + shown + int(has_next) if shown else 0
    count = max(total.count, proven)
    return Page(
        messages=window.messages, page=query.page, page_size=query.page_size, total=count,
        num_pages=num_pages(count, query.page_size), total_is_exact=total.exact,
        has_next=has_next, upstream_requests=requests,
    )
