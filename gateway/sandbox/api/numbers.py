"""A minimal IncomingPhoneNumbers resource, so that a number can have an SMS URL."""

from __future__ import annotations

from aiohttp import web

from gateway.model import ApiError
from gateway.sandbox.api.common import account, form_pairs, not_found, sandbox
from gateway.sandbox.numbers_rules import normalize_number
from gateway.sandbox.outbound import is_http_url
from gateway.sandbox.phone_numbers import PhoneNumber, phone_number_json
from gateway.sandbox.render import API_BASE
from gateway.sandbox.store import new_sid

BASE = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers"


async def create(request: web.Request) -> web.Response:
    sid = account(request)
    form = dict(await form_pairs(request))
    raw = form.get("PhoneNumber", "").strip()
    if not raw:
        raise ApiError(400, "A 'PhoneNumber' or 'AreaCode' is required.", 21452)
    number = normalize_number(raw)
    if number is None:
        raise ApiError(400, f"The phone number {raw} is not a valid phone number.", 21421)
    sms_url = form.get("SmsUrl", "").strip()
    if sms_url and not is_http_url(sms_url):
        raise ApiError(400, "SmsUrl is not valid.", 21502)
    method = (form.get("SmsMethod") or "POST").upper()
    if method not in ("GET", "POST"):
        raise ApiError(400, "SmsMethod must be GET or POST.", 21501)
    sb = sandbox(request)
    now = sb.clock.now()
    created = sb.numbers.add(
        PhoneNumber(
            sid=new_sid("PN"),
            account_sid=sid,
            phone_number=number,
            friendly_name=form.get("FriendlyName") or number,
            sms_url=sms_url,
            sms_method=method,
            date_created=now,
            date_updated=now,
        )
    )
    return web.json_response(phone_number_json(created), status=201)


async def list_(request: web.Request) -> web.Response:
    sid = account(request)
    numbers = [phone_number_json(n) for n in reversed(sandbox(request).numbers.list(sid))]
    uri = f"{API_BASE}/{sid}/IncomingPhoneNumbers.json"
    return web.json_response(
        {
            "first_page_uri": uri + "?PageSize=50&Page=0",
            "end": max(len(numbers) - 1, 0),
            "incoming_phone_numbers": numbers,
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri + "?PageSize=50&Page=0",
        }
    )


async def fetch(request: web.Request) -> web.Response:
    sid = account(request)
    number = sandbox(request).numbers.get(sid, request.match_info["Sid"])
    if number is None:
        raise not_found(request)
    return web.json_response(phone_number_json(number))


def setup(router: web.UrlDispatcher) -> None:
    router.add_post(BASE + ".json", create)
    router.add_get(BASE + ".json", list_, allow_head=False)
    router.add_get(BASE + "/{Sid}.json", fetch, allow_head=False)
