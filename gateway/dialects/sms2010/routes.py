"""The 2010-04-01 /SMS/Messages dialect's HTTP handlers: thin glue between aiohttp, the pure
parse/render functions and the upstream adapter.

Checks run in the 2008 dialect's order (the path names a resource, else 404; credentials, else
401 with the Basic challenge; the method, else 405 with Allow; the parameters, else 400; then
upstream). Handlers only raise: :mod:`gateway.guard` renders every error in this dialect's
shape, because it renders all of ``/2010-04-01/`` with :func:`render.render_error`.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway import keys
from gateway.app import SETTINGS, UPSTREAM
from gateway.dialects import common
from gateway.dialects.sms2010 import parse, render
from gateway.model import Message

DIALECT: Final = "sms2010"


def _response(rendered: render.Rendered, status: int = 200, **headers: str) -> web.Response:
    body, content_type = rendered
    return web.Response(body=body, status=status, headers={"Content-Type": content_type, **headers})


def _start(request: web.Request, operation: str) -> str:
    """Record the request for logs and metrics; return its checked AccountSid."""
    request[keys.DIALECT] = DIALECT
    request[keys.OPERATION] = operation
    account_sid = common.check_account_sid(request.match_info["account_sid"])
    request[keys.ACCOUNT_SID] = account_sid
    return account_sid


def _record(request: web.Request, msg: Message, fmt: str) -> render.Record:
    uri = parse.instance_path(msg.account_sid or request[keys.ACCOUNT_SID], msg.sid, None)
    return render.message_record(
        msg, uri + render.uri_suffix(fmt), request.app[SETTINGS].legacy_timezone
    )


async def messages_list(request: web.Request) -> web.Response:
    """``/2010-04-01/Accounts/{AccountSid}/SMS/Messages[.fmt]``: GET lists, POST sends."""
    account_sid = _start(request, "list")
    name, fmt = parse.split_name(request.match_info["name"])
    if name != parse.LIST_RESOURCE:
        raise common.not_found()
    creds = common.credentials(request)
    settings = request.app[SETTINGS]
    upstream = request.app[UPSTREAM]
    out_fmt = fmt or common.DEFAULT_FORMAT

    if request.method == "POST":
        _, msg = await common.send_message(
            request, account_sid, creds, lambda pairs: parse.parse_send(pairs, settings), DIALECT
        )
        location = parse.instance_path(account_sid, msg.sid, fmt)
        return _response(
            render.render_message(out_fmt, _record(request, msg, out_fmt)), 201, Location=location
        )

    if request.method in ("GET", "HEAD"):
        pairs = common.query_pairs(request)
        query = parse.parse_list(pairs, settings)
        page = await upstream.list(creds, account_sid, query)
        request[keys.UPSTREAM_REQUESTS] = page.upstream_requests
        envelope = render.page_record(
            page,
            parse.list_path(account_sid, fmt),
            common.filter_pairs(query.filter),
            parse.explicit_paging(pairs, query),
        )
        records = [_record(request, m, out_fmt) for m in page.messages]
        return _response(render.render_list(out_fmt, envelope, records))

    raise common.method_not_allowed(request.method, ("GET", "POST"))


async def message_instance(request: web.Request) -> web.Response:
    """``/2010-04-01/Accounts/{AccountSid}/SMS/Messages/{Sid}[.fmt]``: GET only."""
    account_sid = _start(request, "fetch")
    sid, fmt = parse.split_name(request.match_info["name"])
    msg = await common.fetch_instance(request, account_sid, sid)
    out_fmt = fmt or common.DEFAULT_FORMAT
    return _response(render.render_message(out_fmt, _record(request, msg, out_fmt)))


async def unknown(request: web.Request) -> web.Response:
    """Anything else under /2010-04-01/Accounts/{AccountSid}/SMS/ (ShortCodes, a deeper path,
    a suffix the resource never had): the dialect's 404 (code 20404)."""
    request[keys.DIALECT] = DIALECT
    request[keys.OPERATION] = "not_found"
    raise common.not_found()


def setup(app: web.Application) -> None:
    """Register the /SMS/ routes on the gateway app (before the passthrough's catch-all)."""
    base = parse.PREFIX + "/Accounts/{account_sid}/SMS"
    app.router.add_route("*", base + "/{name}", messages_list)
    app.router.add_route("*", base + "/Messages/{name}", message_instance)
    app.router.add_route("*", base + "{tail:(/.*)?}", unknown)
