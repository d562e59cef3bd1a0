"""Sandbox-only: inject an inbound SMS (POST /sandbox/Accounts/{AccountSid}/Inbound)."""

from __future__ import annotations

from aiohttp import web

from gateway.sandbox.api.common import account, form_pairs, sandbox
from gateway.sandbox.render import message_json


async def inject(request: web.Request) -> web.Response:
    sid = account(request)
    result = await sandbox(request).receive(sid, dict(await form_pairs(request)))
    delivery = result.delivery
    return web.json_response(
        {
            "sid": result.message.sid,
            "message": message_json(result.message),
            "sms_url": delivery.url if delivery else None,
            "sms_url_method": delivery.method if delivery else None,
            "sms_url_status": delivery.status if delivery else None,
            "sms_url_error": delivery.error if delivery else None,
            "replies": [message_json(m) for m in result.replies],
            "reply_errors": [
                {"code": e.code, "message": e.message} for e in result.reply_errors
            ],
        },
        status=201,
    )


def setup(router: web.UrlDispatcher) -> None:
    router.add_post("/sandbox/Accounts/{AccountSid}/Inbound", inject)
