"""The gateway's endpoints for Twilio's requests: status/action callbacks and inbound SMS.

Each endpoint trusts nothing but a token the gateway signed (which names the legacy URL) and a
request Twilio signed with the token's account: everything else is refused before any legacy
app is called.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from gateway import keys
from gateway.callbacks.checks import Pairs, Refused, admit, error_response
from gateway.callbacks.dedup import Key
from gateway.callbacks.once import HeldElsewhere, StoreDown, Turn
from gateway.callbacks.relay import LegacyAnswer, LegacyCallFailed, call_legacy
from gateway.callbacks.state import CallbackState, create_state, session_ctx
from gateway.callbacks.tokens import ACTION, INBOUND, STATUS, CallbackTarget
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
from gateway.errors import PERMISSION_DENIED
from gateway.mapping.numbers import render_2008

log = logging.getLogger("gateway.callbacks")

TWIML = "application/xml"


# --- wrapping URLs found in a legacy TwiML reply ---------------------------------------------


def _wrapper(state: CallbackState, source: CallbackTarget) -> UrlWrapper:
    def wrap(kind: str, url: str, method: str) -> str | None:
        try:
            check_legacy_url(
                url, state.allowed, allow_private=state.settings.callback_allow_private_networks
            )
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


async def _relay_status(request: web.Request, kind: str) -> web.StreamResponse:
    state, target, params, auth_token = await admit(request, kind)
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
            allow_private=state.settings.callback_allow_private_networks,
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
    state, target, params, auth_token = await admit(request, INBOUND)
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
        request[keys.TWILIO_CODE] = exc.code
        request.app[keys.CALLBACKS].count(kind, exc.outcome)
        return error_response(exc)


def setup(app: web.Application) -> None:
    """Register the callback endpoints on the gateway app."""
    app[keys.CALLBACKS] = create_state(app, app[keys.SETTINGS])
    app.cleanup_ctx.append(session_ctx)
    app.router.add_post(STATUS_PATH + "{token}", status_callback)
    app.router.add_post(ACTION_PATH + "{token}", action_callback)
    app.router.add_route("POST", INBOUND_PATH + "{token}", inbound_sms)
    app.router.add_route("GET", INBOUND_PATH + "{token}", inbound_sms)
