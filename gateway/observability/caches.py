"""The gateway's caches, exposed as ``sms_gateway_cache_*{cache="..."}`` metrics.

Each function hands :func:`~gateway.observability.metrics.register_cache` cheap readers of one
cache's size and lookup counters; they run at scrape time only.

- ``paging_cursors``: upstream cursors remembered by list position (a hit is a walk that could
  start from a remembered cursor instead of the list's head);
- ``paging_totals``: list totals (a miss costs a total walk);
- ``callback_dedup``: messages already reported to their legacy StatusCallback (a hit is a
  suppressed duplicate);
- ``phone_numbers``: parsed legacy phone numbers (``functools.lru_cache``, per process).
"""

from __future__ import annotations

from aiohttp import web

from gateway.callbacks.dedup import ReportedMessages
from gateway.cursor_cache import CursorCache
from gateway.mapping.numbers import normalise
from gateway.observability.metrics import register_cache


def register_paging_caches(app: web.Application, cache: CursorCache) -> None:
    register_cache(
        app, "paging_cursors", lambda: cache.cursor_count,
        lambda: cache.cursor_hits, lambda: cache.cursor_misses,
    )
    register_cache(
        app, "paging_totals", lambda: cache.total_count,
        lambda: cache.total_hits, lambda: cache.total_misses,
    )


def register_callback_dedup(app: web.Application, reported: ReportedMessages) -> None:
    register_cache(
        app, "callback_dedup", lambda: len(reported), lambda: reported.hits,
        lambda: reported.misses,
    )


def register_number_cache(app: web.Application) -> None:
    register_cache(
        app, "phone_numbers", lambda: normalise.cache_info().currsize,
        lambda: normalise.cache_info().hits, lambda: normalise.cache_info().misses,
    )
