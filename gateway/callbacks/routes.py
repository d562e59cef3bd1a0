"""The gateway's endpoints for Twilio's requests: status/action callbacks and inbound SMS.

Each endpoint trusts nothing but a token the gateway signed (which names the legacy URL) and a
request Twilio signed with the token's account: everything else is refused before any legacy
app is called.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from lxml import etree

from gateway import reqctx
from gateway.app import SETTINGS
from gateway.callbacks.accounts import AccountTokens, load_accounts
from gateway.callbacks.dedup import Key, ReportedMessages
from gateway.callbacks.once import HeldElsewhere, ReportOnce, StoreDown, Turn
from gateway.callbacks.relay import LegacyAnswer, LegacyCallFailed, call_legacy, read_limited
from gateway.callbacks.settings import allowed_hosts, signing_keys
from gateway.callbacks.tokens import (
    ACTION,
    INBOUND,
    STATUS,
    CallbackTarget,
    TokenError,
    verify_token,
)
from gateway.callbacks.translate import (
    SMS2010,
    current_status,
    decided_status,
    legacy_inbound_params,
    legacy_status_params,
    message_sid,
)
from gateway.callbacks.twiml import EMPTY_RESPONSE, TwimlError, UrlWrapper, rewrite_reply
from gateway.callbacks.urls import (
    ACTION_PATH,
    INBOUND_PATH,
    STATUS_PATH,
    UrlRefused,
    check_legacy_url,
)
from gateway.callbacks.wrap import relay_url
from gateway.config import Settings
from gateway.mapping.numbers import render_2008
from gateway.observability.metrics import callback_outcome
from gateway.signing import validate_signature
from gateway.state.service import STATE_STORE

log = logging.getLogger("gateway.callbacks")

PERMISSION_DENIED = 20003
NOT_FOUND = 20404
SIGNATURE_HEADER = "X-Twilio-Signature"
TWIML = "application/xml"

Pairs = list[tuple[str, str]]
_OPERATIONS = {STATUS: "status_callback", ACTION: "action_callback", INBOUND: "inbound_sms"}


@dataclass(slots=True)
class CallbackState:
    settings: Settings
    keys: tuple[str, ...]
    accounts: AccountTokens
    allowed: tuple[str, ...]
    reported: ReportedMessages
    once: ReportOnce
    app: web.Application
    session: aiohttp.ClientSession | None = field(default=None)

    def count(self, kind: str, outcome: str) -> None:
        callback_outcome(_OPERATIONS[kind], outcome, self.app)


CALLBACKS = web.AppKey("callbacks", CallbackState)


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


def _error_response(exc: Refused) -> web.Response:
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


# --- the checks every endpoint makes ---------------------------------------------------------


def _target(state: CallbackState, token: str, kind: str) -> CallbackTarget:
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
            404, "The requested resource was not found", NOT_FOUND, "bad_token"
        ) from None


async def _params(request: web.Request, limit: int) -> Pairs:
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


def _auth_token(
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


# --- wrapping URLs found in a legacy TwiML reply ---------------------------------------------


def _wrapper(state: CallbackState, source: CallbackTarget) -> UrlWrapper:
    def wrap(kind: str, url: str, method: str) -> str | None:
        try:
            check_legacy_url(url, state.allowed)
        except UrlRefused as exc:
            log.warning("dropped a URL from the legacy TwiML reply: %s", exc)
            return None
        if not state.settings.public_url or not state.keys:
            return url
        return relay_url(
            state.settings.public_url, state.keys[0], kind, url, source.account_sid,
            source.dialect, method,
        )

    return wrap


def _twiml_reply(
    state: CallbackState, target: CallbackTarget, answer: LegacyAnswer
) -> tuple[bytes, bool]:
    """The legacy app's answer as current TwiML, and whether it was usable; anything unusable
    becomes an empty ``<Response/>`` (Twilio then sends nothing) and an error log."""
    if answer.oversized:
        log.error("legacy app's TwiML reply exceeds %d bytes", state.settings.callback_max_body)
        return EMPTY_RESPONSE, False
    if not 200 <= answer.status < 300:
        log.error("legacy app answered HTTP %d to a webhook", answer.status)
        return EMPTY_RESPONSE, False
    try:
        return rewrite_reply(answer.body, target.url, _wrapper(state, target)), True
    except TwimlError as exc:
        log.error("legacy app's TwiML reply is unusable: %s", exc)
        return EMPTY_RESPONSE, False


def _render_number(state: CallbackState, dialect: str) -> Callable[[str], str]:
    if dialect == SMS2010:
        return lambda number: number  # the 2010 API showed E.164 already
    fmt = state.settings.number_format
    return lambda number: render_2008(number, fmt) if number else number


# --- handlers ---------------------------------------------------------------------------------


async def _admit(
    request: web.Request, kind: str
) -> tuple[CallbackState, CallbackTarget, Pairs, str]:
    """Every check before a legacy app may be called: the gateway's token, the body size,
    the account, Twilio's signature. Returns the target, the parameters and the auth token."""
    state = request.app[CALLBACKS]
    request[reqctx.DIALECT] = "inbound" if kind == INBOUND else "callback"
    request[reqctx.OPERATION] = _OPERATIONS[kind]
    target = _target(state, request.match_info["token"], kind)
    request[reqctx.ACCOUNT_SID] = target.account_sid
    params = await _params(request, state.settings.callback_max_body)
    return state, target, params, _auth_token(state, request, target, params)


async def _relay_status(request: web.Request, kind: str) -> web.StreamResponse:
    state, target, params, auth_token = await _admit(request, kind)
    fields = dict(params)
    sid = message_sid(fields)
    if not sid:
        raise Refused(400, "No MessageSid in the callback")
    legacy_status = decided_status(kind, current_status(fields))
    if legacy_status is None:
        state.count(kind, "pending")
        return web.Response(status=204)
    key = (target.account_sid, sid, kind)
    # Exactly once across processes and replicas: see gateway/callbacks/once.py.
    async with _turn(state, key) as turn:
        if turn.reported:
            state.count(kind, "duplicate")
            return web.Response(status=204)
        legacy_params = legacy_status_params(kind, target.dialect, fields, legacy_status)
        answer = await _call(state, target, legacy_params, auth_token, read_body=kind == ACTION)
        if answer.status >= 500 or 300 <= answer.status < 400:
            # Not marked as reported: Twilio's retry of this event must reach the app.
            log.error("legacy %s callback answered HTTP %d", kind, answer.status)
            raise Refused(
                502, f"The legacy application answered HTTP {answer.status}",
                outcome="legacy_error",
            )
        await turn.mark()
    state.count(kind, "delivered")
    if kind == ACTION:
        reply, _ = _twiml_reply(state, target, answer)
        return web.Response(body=reply, content_type=TWIML)
    return web.Response(status=answer.status)


@asynccontextmanager
async def _turn(state: CallbackState, key: Key) -> AsyncIterator[Turn]:
    """This event's turn at its message, or a 503 that has Twilio send the event again later
    (the store is down under ``retry-later``, or another process is still calling the app)."""
    try:
        async with state.once.turn(key) as turn:
            yield turn
    except StoreDown:
        raise Refused(
            503, "Callback state is unavailable; retry later", outcome="store_down"
        ) from None
    except HeldElsewhere:
        raise Refused(
            503, "This message's callback is in progress elsewhere; retry later",
            outcome="in_progress",
        ) from None


async def _call(
    state: CallbackState, target: CallbackTarget, params: Pairs, auth_token: str, *,
    read_body: bool,
) -> LegacyAnswer:
    assert state.session is not None  # set by the cleanup context before serving
    try:
        return await call_legacy(
            state.session, target.url, target.method, params, auth_token,
            allowed_hosts=state.allowed, max_body=state.settings.callback_max_body,
            read_body=read_body,
        )
    except UrlRefused as exc:
        log.warning("callback refused: %s", exc)
        raise Refused(403, "The callback URL is not allowed", PERMISSION_DENIED) from None
    except LegacyCallFailed as exc:
        log.error("legacy %s callback failed: %s", target.kind, exc.reason)
        raise Refused(
            exc.status, "The legacy application did not answer", outcome="legacy_error"
        ) from None


async def status_callback(request: web.Request) -> web.StreamResponse:
    return await _guarded(request, STATUS)


async def action_callback(request: web.Request) -> web.StreamResponse:
    return await _guarded(request, ACTION)


async def inbound_sms(request: web.Request) -> web.StreamResponse:
    return await _guarded(request, INBOUND)


async def _inbound(request: web.Request) -> web.StreamResponse:
    state, target, params, auth_token = await _admit(request, INBOUND)
    legacy_params = legacy_inbound_params(dict(params), _render_number(state, target.dialect))
    try:
        answer = await _call(state, target, legacy_params, auth_token, read_body=True)
    except Refused as exc:
        # Twilio gets a reply it can act on (nothing to send) rather than an error page.
        state.count(INBOUND, exc.outcome)
        return web.Response(body=EMPTY_RESPONSE, content_type=TWIML)
    reply, usable = _twiml_reply(state, target, answer)
    state.count(INBOUND, "delivered" if usable else "legacy_error")
    return web.Response(body=reply, content_type=TWIML)


async def _guarded(request: web.Request, kind: str) -> web.StreamResponse:
    try:
        if kind == INBOUND:
            return await _inbound(request)
        return await _relay_status(request, kind)
    except Refused as exc:
        request[reqctx.TWILIO_CODE] = exc.code
        request.app[CALLBACKS].count(kind, exc.outcome)
        return _error_response(exc)


# --- wiring -------------------------------------------------------------------------------------


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[CALLBACKS]
    timeout = aiohttp.ClientTimeout(total=state.settings.callback_timeout)
    async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session:
        state.session = session
        yield
        state.session = None


def setup(app: web.Application) -> None:
    """Register the callback endpoints on the gateway app."""
    settings = app[SETTINGS]
    reported = ReportedMessages(settings.callback_dedup_size, settings.callback_dedup_ttl)
    app[CALLBACKS] = CallbackState(
        settings=settings,
        keys=signing_keys(settings),
        accounts=load_accounts(settings.accounts_file, settings.accounts),
        allowed=allowed_hosts(settings),
        reported=reported,
        once=ReportOnce(reported, lambda: app[STATE_STORE], settings),
        app=app,
    )
    app.cleanup_ctx.append(_session_ctx)
    app.router.add_post(STATUS_PATH + "{token}", status_callback)
    app.router.add_post(ACTION_PATH + "{token}", action_callback)
    app.router.add_route("POST", INBOUND_PATH + "{token}", inbound_sms)
    app.router.add_route("GET", INBOUND_PATH + "{token}", inbound_sms)
