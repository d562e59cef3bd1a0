"""The 2008-08-01 dialect's sub-application: its handlers (thin glue between aiohttp, the pure
parse/render functions and the upstream adapter), its error renderer and its request budget.

Checks run in this order, so a client learns no more than it is entitled to: the path names a
2008 resource (else 404), credentials are present (else 401 with the Basic challenge), the
method is supported (else 405 with Allow), the parameters are sound (else 400), then upstream.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway import errors, keys, request_budget
from gateway.config import Settings
from gateway.console import features
from gateway.dialects import params
from gateway.dialects import request as dialect_request
from gateway.dialects.v2008 import parse, render

PREFIX: Final = parse.PREFIX
DIALECT: Final = "v2008"
RENDER_OPTIONS = web.AppKey("v2008_render_options", render.RenderOptions)

def _response(rendered: render.Rendered, status: int = 200, **headers: str) -> web.Response:
    body, content_type = rendered
    return web.Response(body=body, status=status, headers={"Content-Type": content_type, **headers})


def _start(request: web.Request, operation: str) -> None:
    """Record dialect and operation for logs and metrics. Handlers raise errors rather than
    render them: gateway/guard.py answers every one in the shape this sub-app names."""
    request[keys.DIALECT] = DIALECT
    request[keys.OPERATION] = operation


def _account(request: web.Request) -> str:
    account_sid = params.check_account_sid(request.match_info["account_sid"])
    request[keys.ACCOUNT_SID] = account_sid
    return account_sid


async def messages_list(request: web.Request) -> web.Response:
    """``/2008-08-01/Accounts/{AccountSid}/SMS/Messages[.fmt]``: GET lists, POST sends."""
    _start(request, "list")
    name, fmt = params.split_format(request.match_info["name"])
    if name != parse.LIST_RESOURCE:
        raise errors.not_found()
    account_sid = _account(request)
    creds = dialect_request.credentials(request)
    config = dialect_request.root_app(request)
    settings = config[keys.SETTINGS]
    opts = request.app[RENDER_OPTIONS]
    out_fmt = fmt or params.DEFAULT_FORMAT

    if request.method == "POST":
        send, msg = await dialect_request.send_message(
            request, account_sid, creds, lambda pairs: parse.parse_send(pairs, settings), DIALECT
        )
        row = render.message_row(
            msg, opts, to_as_sent=send.to_as_sent, from_as_sent=send.from_as_sent
        )
        location = parse.instance_path(account_sid, msg.sid, fmt)
        return _response(render.render_message(out_fmt, row), 201, Location=location)

    if request.method in ("GET", "HEAD"):
        pairs = dialect_request.query_pairs(request)
        query = parse.parse_list(pairs, settings)
        page = await config[keys.UPSTREAM].list(creds, account_sid, query)
        features.note_list(request, pairs, query, page)
        attrs = render.page_attributes(
            page, parse.list_path(account_sid, fmt), params.filter_pairs(query.filter)
        )
        rows = [render.message_row(m, opts) for m in page.messages]
        return _response(render.render_list(out_fmt, attrs, rows))

    raise errors.method_not_allowed(request.method, ("GET", "POST"))


async def message_instance(request: web.Request) -> web.Response:
    """``/2008-08-01/Accounts/{AccountSid}/SMS/Messages/{Sid}[.fmt]``: GET only."""
    _start(request, "fetch")
    sid, fmt = params.split_format(request.match_info["name"])
    msg = await dialect_request.fetch_instance(request, _account(request), sid)
    row = render.message_row(msg, request.app[RENDER_OPTIONS])
    return _response(render.render_message(fmt or params.DEFAULT_FORMAT, row))


async def unknown(request: web.Request) -> web.Response:
    """Anything else under /2008-08-01: the legacy 404 (Status and Message only)."""
    _start(request, "not_found")
    raise errors.not_found()


def create_app(settings: Settings) -> web.Application:
    """The /2008-08-01 sub-application: every path under the prefix is this dialect's, so its
    errors take the 2008 shape and all its upstream work shares one request budget."""
    app = web.Application(middlewares=[request_budget.make_middleware(settings.upstream_timeout)])
    app[keys.ERROR_RENDERER] = render.render_error
    app[RENDER_OPTIONS] = render.RenderOptions.from_settings(settings)
    app.router.add_route("*", "/Accounts/{account_sid}/SMS/{name}", messages_list)
    app.router.add_route("*", "/Accounts/{account_sid}/SMS/Messages/{name}", message_instance)
    app.router.add_route("*", "", unknown)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app
