"""The gateway's caches, exposed as ``sms_gateway_cache_*{cache="..."}`` metrics.

Each function hands :func:`~gateway.observability.metrics.register_cache` cheap readers of one
cache's size and lookup counters; they run at scrape time only.

- ``paging_cursors``: upstream cursors remembered by list position (a hit is a walk that could
  start from a remembered cursor instead of the list's head);
- ``paging_totals``: list totals (a miss costs a total walk);
- ``callback_dedup``: messages already reported to their legacy StatusCallback (a hit is a
  suppressed duplicate);
- ``phone_numbers``: parsed legacy phone numbers (``functools.lru_cache``, per process);
- ``messages``: current-API messages read again with the same values (``lru_cache``);
- ``v2008_rows``: 2008 field rows by message and render options (``lru_cache``);
- ``v2008_message_xml``: serialised 2008 ``<SMSMessage>`` elements by row (``lru_cache``).
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from gateway.callbacks.dedup import ReportedMessages
from gateway.cursor_cache import CursorCache
from gateway.dialects.v2008.render import message_row, message_xml
from gateway.mapping.numbers import normalise
from gateway.observability.logs import mask_path
from gateway.observability.metrics import register_cache
from gateway.upstream.messages_json import message_of


class _CacheInfo(Protocol):
    @property
    def currsize(self) -> int: ...
    @property
    def hits(self) -> int: ...
    @property
    def misses(self) -> int: ...


class _LruCached(Protocol):
    """A ``functools.lru_cache``-wrapped function, as far as the metrics read it."""

    def cache_info(self) -> _CacheInfo: ...


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


def _register_lru(app: web.Application, name: str, cached: _LruCached) -> None:
    register_cache(
        app, name, lambda: cached.cache_info().currsize,
        lambda: cached.cache_info().hits, lambda: cached.cache_info().misses,
    )


def register_translation_caches(app: web.Application) -> None:
    """The process-wide translation caches (``functools.lru_cache``): parsed legacy numbers,
    current-API messages read again, 2008 rows, serialised 2008 messages, masked paths for the
    access line."""
    _register_lru(app, "phone_numbers", normalise)
    _register_lru(app, "messages", message_of)
    _register_lru(app, "v2008_rows", message_row)
    _register_lru(app, "v2008_message_xml", message_xml)
    _register_lru(app, "access_log_paths", mask_path)
