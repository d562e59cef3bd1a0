"""The gateway's caches, exposed as ``sms_gateway_cache_*{cache="..."}`` metrics.

Each function hands :func:`~gateway.observability.metrics.register_cache` cheap readers of one
cache's size and lookup counters; they run at scrape time only.

- ``paging_cursors``: checkpoints of the paging index (entries: filed by this process; a hit
  is a deep page that found a checkpoint near its offset, a miss one that found none);
- ``paging_totals``: lists whose paging index this process started; a hit is a page answered
  with an exact total known beforehand, a miss one that had to count (or wait for a count) or
  was answered with a provisional total. The paging index's own counters are
  ``sms_gateway_paging_*`` (reads by purpose, walks cut, rate-cap waits, store fallbacks);
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
from gateway.dialects.v2008.render import message_row, message_xml
from gateway.mapping.numbers import normalise
from gateway.observability.logs import mask_path
from gateway.observability.metrics import METRICS, PREFIX, register_cache
from gateway.paging import Paginator
from gateway.paging_walk import PagingCollector
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


def register_paging_caches(app: web.Application, paginator: Paginator) -> None:
    index, stats = paginator.shared, paginator.stats
    register_cache(
        app, "paging_cursors", lambda: index.filed, lambda: index.hits, lambda: index.misses
    )
    register_cache(
        app, "paging_totals", lambda: index.lists, lambda: stats.answers.get("exact", 0),
        lambda: stats.answers.get("counted", 0) + stats.answers.get("provisional", 0),
    )
    metrics = app.get(METRICS)
    if metrics is not None:
        metrics.registry.register(PagingCollector(stats, PREFIX))


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
