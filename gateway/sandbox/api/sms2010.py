"""The deprecated 2010-04-01 /SMS/Messages resource, served from the same store (JSON only)."""

from __future__ import annotations

from aiohttp import web

from gateway.sandbox.api.common import account, create_message, sandbox, stored_message
from gateway.sandbox.listing import numbered_page_json, parse_list_params
from gateway.sandbox.render import sms_message_json

BASE = "/2010-04-01/Accounts/{AccountSid}/SMS/Messages"


async def create(request: web.Request) -> web.Response:
    message = await create_message(request, legacy=True)
    return web.json_response(sms_message_json(message), status=201)


async def fetch(request: web.Request) -> web.Response:
    return web.json_response(sms_message_json(stored_message(request)))


async def list_(request: web.Request) -> web.Response:
    sid = account(request)
    q = parse_list_params(request.query, cursors=False)
    store = sandbox(request).store
    total = store.count_matching(sid, q.filter)
    messages = store.slice_newest_first(sid, q.filter, q.page * q.page_size, q.page_size)
    return web.json_response(numbered_page_json(sid, q, messages, total, request.query_string))


def setup(router: web.UrlDispatcher) -> None:
    router.add_post(BASE + ".json", create)
    router.add_get(BASE + ".json", list_, allow_head=False)
    router.add_get(BASE + "/{Sid}.json", fetch, allow_head=False)
