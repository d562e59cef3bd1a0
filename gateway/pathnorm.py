"""Twilio's tolerance of sloppy paths, for the API paths the gateway answers.

api.twilio.com accepted repeated slashes anywhere in a path and a trailing slash, and 2010-era
clients relied on it: one library of the 2008 API builds ``endpoint + "/" + path`` with a path
that starts with ``/``, so every request arrives as ``//2008-08-01/Accounts/...``. The gateway
rewrites such a request target to its canonical form before routing, so the dialects, the
passthrough, logs and metrics all see one path.

Only slashes are touched: no dot segment is resolved and nothing is decoded, so a ``..`` or an
encoded slash reaches the routes (and their 404) exactly as before. Paths outside the API
versions (health, metrics, callbacks) are left as they came.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web
from yarl import URL

API_PREFIXES: Final = ("/2008-08-01", "/2010-04-01")
_SLASHES: Final = re.compile(r"/{2,}")

RequestFactory = Callable[..., web.BaseRequest]


def canonical(path: str) -> str | None:
    """The canonical form of ``path`` (the raw path, no query) if it is an API path written
    with repeated or trailing slashes; None if it needs no rewrite or is not an API path."""
    if not path.startswith("/"):
        return None  # absolute-form targets and '*' are not ours to fix
    merged = _SLASHES.sub("/", path)
    if len(merged) > 1 and merged.endswith("/"):
        merged = merged[:-1]
    if merged == path:
        return None
    if not any(merged == p or merged.startswith(p + "/") for p in API_PREFIXES):
        return None
    return merged


def rewrite_target(target: str) -> str | None:
    """``target`` (a request target: raw path and query) with its path made canonical, or None
    if it is fine as it is."""
    path, sep, query = target.partition("?")
    fixed = canonical(path)
    return None if fixed is None else fixed + sep + query


def canonical_requests(factory: RequestFactory) -> RequestFactory:
    """Wrap an aiohttp server's request factory so that requests are built with the canonical
    target: before routing, so the route that matches is the one the clean path names."""

    def make(message: Any, *args: Any, **kwargs: Any) -> web.BaseRequest:
        target = rewrite_target(message.path)
        if target is not None:
            path, _, query = target.partition("?")
            message = message._replace(
                path=target, url=URL.build(path=path, query_string=query, encoded=True)
            )
        return factory(message, *args, **kwargs)

    return make


def install(server: web.Server) -> None:
    """Make ``server`` (an AppRunner's, after setup and before any site starts) build every
    request with the canonical target."""
    server.request_factory = canonical_requests(server.request_factory)
