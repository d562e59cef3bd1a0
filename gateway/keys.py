"""The gateway's application and request keys, in a module that imports nothing else from the
package (the way aiohttp keeps its own keys apart), so that any module can read or set them
without importing the code that fills them in.

App keys hold what :func:`gateway.app.create_app` builds once, on the root app (settings, the
upstream adapter, the passthrough's session). Handlers in the dialects' sub-applications read
them from :func:`gateway.dialects.request.root_app`.

Request keys are what a handler records about the request it served (``request[DIALECT] =
"v2008"``); the observability middleware reads them after the handler returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from aiohttp.web import AppKey, RequestKey

if TYPE_CHECKING:
    from gateway.callbacks.state import CallbackState
    from gateway.config import Settings
    from gateway.console.state import ConsoleState
    from gateway.model import ApiError
    from gateway.state.base import StateStore
    from gateway.state.monitor import StoreMonitor
    from gateway.upstream.base import Upstream

# --- application keys (set on the root app) -----------------------------------------------------

SETTINGS: AppKey[Settings] = AppKey("settings")
# The legacy dialects' upstream adapter, set when the app starts (its pool needs a loop).
UPSTREAM: AppKey[Upstream] = AppKey("upstream")
UPSTREAM_URL = AppKey("upstream_url", str)
# The upstream session for code that forwards raw HTTP (the current-API passthrough).
UPSTREAM_SESSION = AppKey("upstream_session", aiohttp.ClientSession)
CALLBACKS: AppKey[CallbackState] = AppKey("callbacks")
# The shared state store, opened when the app starts (gateway/state/service.py), and how it
# answers (for /readyz and the metrics; set when the app is built).
STATE_STORE: AppKey[StateStore] = AppKey("state_store")
STORE_MONITOR: AppKey[StoreMonitor] = AppKey("state_store_monitor")
# The migration console (gateway/console/): its settings, store, ledger and sandbox view.
CONSOLE: AppKey[ConsoleState] = AppKey("console")
# Called by the observability middleware after every answer with the request, its request-key
# figures, the status and the response (None when an HTTP exception is the answer); may add
# headers to the response. The console's ledger and sunset headers are such hooks.
AnswerHook = Callable[[web.Request, Mapping[Any, Any], int, web.StreamResponse | None], None]
ANSWER_HOOKS = AppKey("answer_hooks", list[AnswerHook])

# (format, error) -> (body, content type): how errors look in the application that matched.
ErrorRenderer = Callable[[str, "ApiError"], tuple[bytes, str]]
# Set on each dialect's sub-application; the guard renders every error with the innermost
# matched application's renderer (the 2008 shape outside every dialect).
ERROR_RENDERER: AppKey[ErrorRenderer] = AppKey("error_renderer")

# --- request keys (set by handlers, read by the observability middleware) ------------------------

# "v2008" | "sms2010" | "passthrough" | "callback" | "inbound" | "ops"
DIALECT = RequestKey("gw.dialect", str)
# "send" | "fetch" | "list" | "status_callback" | "inbound_sms" | ...
OPERATION = RequestKey("gw.operation", str)
ACCOUNT_SID = RequestKey("gw.account_sid", str)
# The Twilio error code of an error answer, if any.
TWILIO_CODE = RequestKey("gw.twilio_code", object)
# The legacy features the request used (names from gateway.console.features), for the ledger
# of legacy clients; handlers add to it with gateway.console.features.note().
LEGACY_FEATURES = RequestKey("gw.legacy_features", frozenset)
# A legacy list's position: (filter key, page size, page), for telling a client that follows
# nextpageuri from one that jumps to page N (gateway.console.features.note_list sets it).
LIST_POSITION = RequestKey("gw.list_position", tuple)
