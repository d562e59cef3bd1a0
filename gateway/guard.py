"""The last line of defence: whatever escapes a handler, an :class:`ApiError`, aiohttp's own
404/405/413 or a bug, is answered in the legacy error shape of the application that matched
the request (each dialect's sub-application names its renderer under
:data:`gateway.keys.ERROR_RENDERER`; elsewhere the 2008 shape), with the right status. Never a
traceback on the wire; the log names the request id and the exception type, never its message
(it could quote a body or a token). A client that left while its request was still being read
(a send runs on without it, :mod:`gateway.cancellation`) is no server error: one INFO line, and
the access log shows 499.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway import client_limits, errors, keys
from gateway.dialects.params import format_of_path
from gateway.dialects.v2008 import render as v2008_render
from gateway.model import ApiError
from gateway.observability.context import REQUEST_ID

log = logging.getLogger("gateway.guard")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INTERNAL_ERROR = "An internal error occurred"
CLIENT_CLOSED_MESSAGE = "The client closed the connection before the answer"


def renderer_for(request: web.BaseRequest) -> keys.ErrorRenderer:
    """The error renderer of the innermost application that matched ``request``. Paths outside
    every dialect get the 2008 shape: the gateway stands where api.twilio.com stood for
    2008-era clients."""
    if isinstance(request, web.Request):
        return request.match_info.apps[-1].get(keys.ERROR_RENDERER, v2008_render.render_error)
    return v2008_render.render_error


def error_response(request: web.BaseRequest, err: ApiError) -> web.Response:
    """``err`` rendered for ``request``: its dialect, the format of its path's suffix."""
    if isinstance(request, web.Request):
        request[keys.TWILIO_CODE] = err.code
    body, content_type = renderer_for(request)(format_of_path(request.path), err)
    headers = {**err.headers, "Content-Type": content_type}
    if err.status == 401:
        headers.setdefault("WWW-Authenticate", errors.BASIC_CHALLENGE)
    return web.Response(body=body, status=err.status, headers=headers)


def from_http_exception(request: web.BaseRequest, exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return errors.not_found()
    if exc.status == 405:
        err = errors.method_not_allowed(request.method)
        if "Allow" in exc.headers:
            err.headers["Allow"] = exc.headers["Allow"]
        return err
    if exc.status == 413:
        limit = request.client_max_size
        return ApiError(413, f"The request body is larger than the {limit} bytes allowed")
    return ApiError(exc.status, exc.reason)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    client_limits.request_started(request)
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(request, err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and other non-errors pass as they are
        return error_response(request, from_http_exception(request, exc))
    except ConnectionError as exc:
        if not _client_gone(request):
            return _unhandled(request, exc)
        # The message says only "Connection lost"; the type is enough.
        log.info(
            "client went away (%s) while %s %s was answered [request_id=%s]",
            type(exc).__name__, request.method, request.path, request.get(REQUEST_ID, "-"),
        )
        return error_response(request, ApiError(errors.CLIENT_CLOSED, CLIENT_CLOSED_MESSAGE))
    except Exception as exc:  # noqa: BLE001 -- the last line: no exception may reach the wire
        return _unhandled(request, exc)
    finally:
        client_limits.request_finished(request)


def _client_gone(request: web.Request) -> bool:
    # aiohttp drops the protocol's transport when the connection is lost, before it fails the
    # request's body with the error; a connection error with the client still there is ours.
    transport = request.transport
    return transport is None or transport.is_closing()


def _unhandled(request: web.Request, exc: Exception) -> web.Response:
    # Frames only: the exception's message could quote a body or a token.
    log.error(
        "unhandled %s answering %s %s [request_id=%s]:\n%s",
        type(exc).__name__, request.method, request.path, request.get(REQUEST_ID, "-"),
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    return error_response(request, ApiError(500, INTERNAL_ERROR))
