"""The current Messages resource: /2010-04-01/Accounts/{AccountSid}/Messages[/{Sid}].json."""

from __future__ import annotations

from aiohttp import web

from gateway.sandbox.api.common import account, create_message, sandbox, stored_message
from gateway.sandbox.listing import cursor_page_json, parse_list_params
from gateway.sandbox.render import message_json

BASE = "/2010-04-01/Accounts/{AccountSid}"


async def create(request: web.Request) -> web.Response:
    message = await create_message(request, legacy=False)
    return web.json_response(message_json(message), status=201)


async def fetch(request: web.Request) -> web.Response:
    return web.json_response(message_json(stored_message(request)))


async def list_(request: web.Request) -> web.Response:
    sid = account(request)
    q = parse_list_params(request.query, cursors=True)
    store = sandbox(request).store
    cursor = q.cursor
    if cursor is not None and cursor.direction == "p":
        messages = store.newer_than(sid, q.filter, cursor.key, q.page_size)
    else:
        messages = store.older_than(sid, q.filter, cursor.key if cursor else None, q.page_size)
    has_older = has_newer = False
    if messages:
        has_older = bool(store.older_than(sid, q.filter, messages[-1].sort_key, 1))
        # The first page (no cursor) has no previous page, as with Twilio.
        if cursor is not None:
            has_newer = bool(store.newer_than(sid, q.filter, messages[0].sort_key, 1))
    body = cursor_page_json(sid, q, messages, has_older=has_older, has_newer=has_newer)
    return web.json_response(body)


def setup(router: web.UrlDispatcher) -> None:
    router.add_post(BASE + "/Messages.json", create)
    router.add_get(BASE + "/Messages.json", list_, allow_head=False)
    router.add_get(BASE + "/Messages/{Sid}.json", fetch, allow_head=False)
