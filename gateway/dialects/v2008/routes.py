"""The 2008-08-01 dialect's HTTP handlers: thin glue between aiohttp, the pure parse/render
functions and the upstream adapter.

Checks run in this order, so a client learns no more than it is entitled to: the path names a
2008 resource (else 404), credentials are present (else 401 with the Basic challenge), the
method is supported (else 405 with Allow), the parameters are sound (else 400), then upstream.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from gateway import reqctx
from gateway.app import SETTINGS, UPSTREAM
from gateway.dialects import common
from gateway.dialects.v2008 import parse, render
from gateway.model import ApiError

log = logging.getLogger("gateway.v2008")

DIALECT: Final = "v2008"
RENDER_OPTIONS = web.AppKey("v2008_render_options", render.RenderOptions)

Action = Callable[[], Awaitable[web.Response]]


def _response(rendered: render.Rendered, status: int = 200, **headers: str) -> web.Response:
    body, content_type = rendered
    return web.Response(body=body, status=status, headers={"Content-Type": content_type, **headers})


def _error_response(request: web.Request, err: ApiError) -> web.Response:
    request[reqctx.TWILIO_CODE] = err.code
    headers = dict(err.headers)
    if err.status == 401:
        # An upstream 401 (wrong token) must carry the challenge too, or httplib2 clients stall.
        headers.setdefault("WWW-Authenticate", 'Basic realm="Twilio API"')
    fmt = common.format_of_path(request.path)
    return _response(render.render_error(fmt, err), err.status, **headers)


async def _answer(request: web.Request, operation: str, action: Action) -> web.Response:
    """Run one handler's action; every failure becomes a legacy-shaped error, never a
    traceback on the wire."""
    request[reqctx.DIALECT] = DIALECT
    request[reqctx.OPERATION] = operation
    try:
        return await action()
    except ApiError as err:
        return _error_response(request, err)
    except web.HTTPException as exc:  # e.g. 413 from aiohttp's body size limit
        return _error_response(request, ApiError(exc.status, exc.reason))
    except Exception as exc:  # noqa: BLE001 -- the last line of defence against a 500 trace
        # Frames only: an exception's message could quote a body or a token.
        log.error(
            "unhandled %s in %s %s:\n%s", type(exc).__name__, DIALECT, operation,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return _error_response(request, ApiError(500, "An internal error occurred"))


def _account(request: web.Request) -> str:
    account_sid = common.check_account_sid(request.match_info["account_sid"])
    request[reqctx.ACCOUNT_SID] = account_sid
    return account_sid


async def messages_list(request: web.Request) -> web.Response:
    """``/2008-08-01/Accounts/{AccountSid}/SMS/Messages[.fmt]``: GET lists, POST sends."""

    async def action() -> web.Response:
        name, fmt = common.split_format(request.match_info["name"])
        if name != parse.LIST_RESOURCE:
            raise common.not_found()
        account_sid = _account(request)
        creds = common.credentials(request)
        settings = request.app[SETTINGS]
        upstream = request.app[UPSTREAM]
        opts = request.app[RENDER_OPTIONS]
        out_fmt = fmt or common.DEFAULT_FORMAT

        if request.method == "POST":
            request[reqctx.OPERATION] = "send"
            send = parse.parse_send(await common.read_form(request), settings)
            send = dataclasses.replace(
                send, status_callback=common.upstream_status_callback(request, send.status_callback)
            )
            msg = await upstream.create(creds, account_sid, send)
            row = render.message_row(
                msg, opts, to_as_sent=send.to_as_sent, from_as_sent=send.from_as_sent
            )
            location = parse.instance_path(account_sid, msg.sid, fmt)
            return _response(render.render_message(out_fmt, row), 201, Location=location)

        if request.method in ("GET", "HEAD"):
            query = parse.parse_list(common.query_pairs(request), settings)
            page = await upstream.list(creds, account_sid, query)
            request[reqctx.UPSTREAM_REQUESTS] = page.upstream_requests
            attrs = render.page_attributes(
                page, parse.list_path(account_sid, fmt), common.filter_pairs(query.filter)
            )
            rows = [render.message_row(m, opts) for m in page.messages]
            return _response(render.render_list(out_fmt, attrs, rows))

        raise common.method_not_allowed(request.method, ("GET", "POST"))

    return await _answer(request, "list", action)


async def message_instance(request: web.Request) -> web.Response:
    """``/2008-08-01/Accounts/{AccountSid}/SMS/Messages/{Sid}[.fmt]``: GET only."""

    async def action() -> web.Response:
        sid, fmt = common.split_format(request.match_info["name"])
        account_sid = _account(request)
        common.check_resource_sid(sid)
        creds = common.credentials(request)
        if request.method not in ("GET", "HEAD"):
            raise common.method_not_allowed(request.method, ("GET",))
        try:
            msg = await request.app[UPSTREAM].fetch(creds, account_sid, sid)
        except ApiError as err:
            raise common.as_legacy_not_found(err, request.path) from None
        row = render.message_row(msg, request.app[RENDER_OPTIONS])
        return _response(render.render_message(fmt or common.DEFAULT_FORMAT, row))

    return await _answer(request, "fetch", action)


async def unknown(request: web.Request) -> web.Response:
    """Anything else under /2008-08-01: the legacy 404 (Status and Message only)."""

    async def action() -> web.Response:
        raise common.not_found()

    return await _answer(request, "not_found", action)


def setup(app: web.Application) -> None:
    """Register the 2008-08-01 routes on the gateway app (before it starts)."""
    app[RENDER_OPTIONS] = render.RenderOptions.from_settings(app[SETTINGS])
    prefix = parse.PREFIX
    app.router.add_route("*", prefix + "/Accounts/{account_sid}/SMS/{name}", messages_list)
    app.router.add_route(
        "*", prefix + "/Accounts/{account_sid}/SMS/Messages/{name}", message_instance
    )
    app.router.add_route("*", prefix + "{tail:(/.*)?}", unknown)
