"""The /2010-04-01 sub-application: the deprecated /SMS/Messages resource's handlers (thin glue
between aiohttp, the pure parse/render functions and the upstream adapter) and, beside them, the
current-API passthrough (:mod:`gateway.passthrough`), which shares the prefix. The whole prefix
answers errors in this dialect's shape; the request budget bounds the /SMS/ handlers (the
passthrough is exempt: its one upstream call has its own timeout).

Checks run in the 2008 dialect's order (the path names a resource, else 404; credentials, else
401 with the Basic challenge; the method, else 405 with Allow; the parameters, else 400; then
upstream). Handlers only raise: :mod:`gateway.guard` renders every error.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway import errors, keys, passthrough, request_budget
from gateway.config import Settings
from gateway.console import features
from gateway.dialects import params
from gateway.dialects import request as dialect_request
from gateway.dialects.sms2010 import parse, render
from gateway.model import Message

PREFIX: Final = parse.PREFIX
DIALECT: Final = "sms2010"


def _response(rendered: render.Rendered, status: int = 200, **headers: str) -> web.Response:
    body, content_type = rendered
    return web.Response(body=body, status=status, headers={"Content-Type": content_type, **headers})


def _start(request: web.Request, operation: str) -> str:
    """Record the request for logs and metrics; return its checked AccountSid."""
    request[keys.DIALECT] = DIALECT
    request[keys.OPERATION] = operation
    account_sid = params.check_account_sid(request.match_info["account_sid"])
    request[keys.ACCOUNT_SID] = account_sid
    return account_sid


def _record(request: web.Request, msg: Message, fmt: str) -> render.Record:
    uri = parse.instance_path(msg.account_sid or request[keys.ACCOUNT_SID], msg.sid, None)
    return render.message_record(
        msg, uri + render.uri_suffix(fmt), dialect_request.root_app(request)[keys.SETTINGS].legacy_timezone
    )


async def messages_list(request: web.Request) -> web.Response:
    """``/2010-04-01/Accounts/{AccountSid}/SMS/Messages[.fmt]``: GET lists, POST sends."""
    account_sid = _start(request, "list")
    name, fmt = parse.split_name(request.match_info["name"])
    if name != parse.LIST_RESOURCE:
        raise errors.not_found()
    creds = dialect_request.credentials(request)
    config = dialect_request.root_app(request)
    settings = config[keys.SETTINGS]
    out_fmt = fmt or params.DEFAULT_FORMAT

    if request.method == "POST":
        _, msg = await dialect_request.send_message(
            request, account_sid, creds, lambda pairs: parse.parse_send(pairs, settings), DIALECT
        )
        location = parse.instance_path(account_sid, msg.sid, fmt)
        return _response(
            render.render_message(out_fmt, _record(request, msg, out_fmt)), 201, Location=location
        )

    if request.method in ("GET", "HEAD"):
        pairs = dialect_request.query_pairs(request)
        query = parse.parse_list(pairs, settings)
        page = await config[keys.UPSTREAM].list(creds, account_sid, query)
        features.note_list(request, pairs, query, page)
        envelope = render.page_record(
            page,
            parse.list_path(account_sid, fmt),
            params.filter_pairs(query.filter),
            parse.explicit_paging(pairs, query),
        )
        records = [_record(request, m, out_fmt) for m in page.messages]
        return _response(render.render_list(out_fmt, envelope, records))

    raise errors.method_not_allowed(request.method, ("GET", "POST"))


async def message_instance(request: web.Request) -> web.Response:
    """``/2010-04-01/Accounts/{AccountSid}/SMS/Messages/{Sid}[.fmt]``: GET only."""
    account_sid = _start(request, "fetch")
    sid, fmt = parse.split_name(request.match_info["name"])
    msg = await dialect_request.fetch_instance(request, account_sid, sid)
    out_fmt = fmt or params.DEFAULT_FORMAT
    return _response(render.render_message(out_fmt, _record(request, msg, out_fmt)))


async def unknown(request: web.Request) -> web.Response:
    """Anything else under /2010-04-01/Accounts/{AccountSid}/SMS/ (ShortCodes, a deeper path,
    a suffix the resource never had): the dialect's 404 (code 20404)."""
    request[keys.DIALECT] = DIALECT
    request[keys.OPERATION] = "not_found"
    raise errors.not_found()


def create_app(settings: Settings) -> web.Application:
    """The /2010-04-01 sub-application: the /SMS/ routes first, then the passthrough's
    catch-all for every other current-API path."""
    app = web.Application(middlewares=[request_budget.make_middleware(settings.upstream_timeout)])
    app[keys.ERROR_RENDERER] = render.render_error
    base = "/Accounts/{account_sid}/SMS"
    app.router.add_route("*", base + "/{name}", messages_list)
    app.router.add_route("*", base + "/Messages/{name}", message_instance)
    app.router.add_route("*", base + "{tail:(/.*)?}", unknown)
    passthrough.setup(app)
    return app
