"""What every sandbox handler needs: the app's Sandbox, the caller's account, the form."""

from __future__ import annotations

from aiohttp import web

from gateway.model import ApiError
from gateway.sandbox.keys import SANDBOX
from gateway.sandbox.outbound import parse_create
from gateway.sandbox.service import Sandbox
from gateway.sandbox.store import StoredMessage


def sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX]


def account(request: web.Request) -> str:
    """Authenticate the request for the AccountSid in its path."""
    sid = sandbox(request).accounts.authenticate(request, request.match_info.get("AccountSid"))
    return sid


async def form_pairs(request: web.Request) -> list[tuple[str, str]]:
    try:
        data = await request.post()
    except (ValueError, LookupError):  # LookupError: a charset Python does not know
        raise ApiError(400, "The request body is not a valid form", 20001) from None
    return [(k, v) for k, v in data.items() if isinstance(v, str)]


def not_found(request: web.Request) -> ApiError:
    return ApiError(404, f"The requested resource {request.path} was not found", 20404)


async def create_message(request: web.Request, *, legacy: bool) -> StoredMessage:
    """Authenticate, validate and store a message sent through either resource."""
    sid = account(request)
    req = parse_create(await form_pairs(request), legacy=legacy)
    return sandbox(request).send(sid, req, via="sms2010" if legacy else "messages")


def stored_message(request: web.Request) -> StoredMessage:
    """The caller's message named by the path; another account's sid is simply not found."""
    sid = account(request)
    message = sandbox(request).store.get(sid, request.match_info["Sid"])
    if message is None:
        raise not_found(request)
    return message
