"""The checks every callback endpoint makes before a legacy app may be called (the gateway's
token, the body size, the account, Twilio's signature), and the refusal they raise."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

from aiohttp import web
from lxml import etree

from gateway import keys
from gateway.callbacks.relay import read_limited
from gateway.callbacks.state import OPERATIONS, CallbackState
from gateway.callbacks.tokens import INBOUND, CallbackTarget, TokenError, verify_token
from gateway.config.settings import Settings
from gateway.errors import PERMISSION_DENIED, RESOURCE_NOT_FOUND
from gateway.signing import validate_signature

log = logging.getLogger("gateway.callbacks")

SIGNATURE_HEADER = "X-Twilio-Signature"

Pairs = list[tuple[str, str]]


class Refused(Exception):
    """A callback request the gateway will not act on; answered with ``status``."""

    def __init__(
        self, status: int, message: str, code: int | None = None, outcome: str = "refused"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.outcome = outcome  # the metrics label


def error_response(exc: Refused) -> web.Response:
    # Twilio only looks at the status; the body uses the legacy error shape for humans.
    root = etree.Element("TwilioResponse")
    rest = etree.SubElement(root, "RestException")
    etree.SubElement(rest, "Status").text = str(exc.status)
    etree.SubElement(rest, "Message").text = exc.message
    if exc.code is not None:
        etree.SubElement(rest, "Code").text = str(exc.code)
        etree.SubElement(rest, "MoreInfo").text = f"https://www.twilio.com/docs/errors/{exc.code}"
    return web.Response(
        status=exc.status,
        body=etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
        content_type="application/xml",
    )


def check_token(state: CallbackState, token: str, kind: str) -> CallbackTarget:
    try:
        return verify_token(
            state.keys,
            token,
            kind,
            now=time.time(),
            max_age=0.0 if kind == INBOUND else state.settings.callback_token_max_age,
        )
    except TokenError as exc:
        log.warning("callback refused: %s", exc)
        raise Refused(
            404, "The requested resource was not found", RESOURCE_NOT_FOUND, "bad_token"
        ) from None


async def read_params(request: web.Request, limit: int) -> Pairs:
    """The form (POST) or query (GET) parameters Twilio sent, within the size limit."""
    if request.method == "GET":
        raw = request.query_string.encode("utf-8")
    else:
        if request.content_length is not None and request.content_length > limit:
            raise Refused(413, "Request body too large", outcome="too_large")
        raw, oversized = await read_limited(request.content, limit)
        if oversized:
            raise Refused(413, "Request body too large", outcome="too_large")
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise Refused(400, "Parameters are not UTF-8") from None


def _twilio_url(request: web.Request, settings: Settings) -> str:
    """The URL Twilio requested, as it signed it: behind a proxy, the configured public URL
    (the request's own Host and scheme are the proxy's view, not Twilio's)."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + request.raw_path
    return str(request.url)


def check_signature(
    state: CallbackState, request: web.Request, target: CallbackTarget, params: Pairs
) -> str:
    """Check the request is Twilio's for the token's account; the account's auth token."""
    sent_account = dict(params).get("AccountSid", "")
    if sent_account != target.account_sid:
        log.warning("callback refused: token for another account than the request's")
        raise Refused(
            403, "The token belongs to another account", PERMISSION_DENIED, "bad_signature"
        )
    auth_token = state.accounts.get(target.account_sid)
    if auth_token is None:
        log.warning("callback refused: no auth token configured for %s", target.account_sid)
        raise Refused(403, "Unknown account", PERMISSION_DENIED)
    signed = None if request.method == "GET" else params
    if not validate_signature(
        auth_token, _twilio_url(request, state.settings), signed,
        request.headers.get(SIGNATURE_HEADER),
    ):
        log.warning("callback refused: invalid X-Twilio-Signature")
        raise Refused(403, "Invalid X-Twilio-Signature", PERMISSION_DENIED, "bad_signature")
    return auth_token


async def admit(
    request: web.Request, kind: str
) -> tuple[CallbackState, CallbackTarget, Pairs, str]:
    """Every check before a legacy app may be called: the gateway's token, the body size,
    the account, Twilio's signature. Returns the target, the parameters and the auth token."""
    state = request.app[keys.CALLBACKS]
    request[keys.DIALECT] = "inbound" if kind == INBOUND else "callback"
    request[keys.OPERATION] = OPERATIONS[kind]
    target = check_token(state, request.match_info["token"], kind)
    request[keys.ACCOUNT_SID] = target.account_sid
    params = await read_params(request, state.settings.callback_max_body)
    return state, target, params, check_signature(state, request, target, params)
