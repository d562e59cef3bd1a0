"""The aiohttp side every legacy dialect shares: reading credentials, query and form from the
request, and the two upstream calls whose checks do not depend on the wire shape (a send, a
fetch). The parsing itself is pure and lives in :mod:`gateway.dialects.params`.

Handlers run in a dialect's sub-application; what the root app built (settings, the upstream
adapter) is read from :func:`root_app`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from aiohttp import hdrs, web

from gateway import errors, keys
from gateway.callbacks.wrap import wrap_status_callback
from gateway.dialects.params import Pairs, check_resource_sid, decode_basic, decode_pairs
from gateway.errors import INVALID_PARAMETER
from gateway.model import ApiError, Credentials, Message, SendRequest


def root_app(request: web.Request) -> web.Application:
    """The gateway's root application, whichever sub-application serves ``request``: it holds
    what :mod:`gateway.keys` names. (``request.config_dict`` finds the same values through a
    chain map, at ~10k instructions a request, a KeyError from the sub-app included.)"""
    return request.match_info.apps[0]


def credentials(request: web.Request) -> Credentials:
    """The request's Basic credentials, passed through to upstream as they are.

    Missing or garbled credentials are a 401 with ``WWW-Authenticate: Basic realm="Twilio API"``:
    httplib2-based clients (twilio-python up to 5.x) send every request without credentials
    first and only retry with them after exactly this challenge."""
    creds = decode_basic(request.headers.get(hdrs.AUTHORIZATION, ""))
    if creds is None:
        raise errors.unauthenticated()
    return creds


def query_pairs(request: web.Request) -> list[tuple[str, str]]:
    """The request's query as pairs, from the raw query string: aiohttp's decoded view would
    lose the difference between ``DateSent>=`` and ``DateSent%3E%3D``."""
    return decode_pairs(request.rel_url.raw_query_string.encode("utf-8", "surrogateescape"))


async def read_form(request: web.Request) -> list[tuple[str, str]]:
    """A POST body as pairs, whatever the client declared: urlencoded with or without a
    Content-Type, with any charset, or multipart (file parts are ignored)."""
    if request.content_type.startswith("multipart/"):
        try:
            form = await request.post()
        except (ValueError, LookupError):  # no boundary, a broken body, an unknown charset
            raise errors.bad_request(
                "The request body is not the multipart form it declares", INVALID_PARAMETER
            ) from None
        return [(k, v) for k, v in form.items() if isinstance(v, str)]
    return decode_pairs(await request.read(), request.charset)


async def send_message(
    request: web.Request,
    account_sid: str,
    creds: Credentials,
    parse: Callable[[Pairs], SendRequest],
    dialect: str,
) -> tuple[SendRequest, Message]:
    """The send every dialect does: the form read and parsed (:func:`read_send`), then the
    message created upstream. Returns both: a dialect's answer may show what the client sent."""
    request[keys.OPERATION] = "send"
    send = await read_send(request, parse, dialect)
    return send, await root_app(request)[keys.UPSTREAM].create(creds, account_sid, send)


async def read_send(
    request: web.Request, parse: Callable[[Pairs], SendRequest], dialect: str
) -> SendRequest:
    """A legacy send from the request's form: parsed by the dialect's ``parse``, its
    StatusCallback replaced by the one to forward upstream (:func:`upstream_status_callback`)."""
    send = parse(await read_form(request))
    if not send.status_callback:
        return send
    return dataclasses.replace(
        send, status_callback=upstream_status_callback(request, send.status_callback, dialect)
    )


def upstream_status_callback(
    request: web.Request, legacy_url: str | None, dialect: str = "v2008"
) -> str | None:
    """The StatusCallback a send forwards upstream for the legacy app's URL.

    The single place the send path decides it: the callback relay's gateway URL, which relays
    (and translates) to ``legacy_url`` (see gateway/callbacks/wrap.py)."""
    if not legacy_url:
        return None
    return wrap_status_callback(
        root_app(request)[keys.SETTINGS], legacy_url,
        request.match_info.get("account_sid", ""), dialect,
    )


async def fetch_instance(request: web.Request, account_sid: str, sid: str) -> Message:
    """The fetch every dialect does: a well-formed sid, credentials, GET only, then upstream's
    message, its 404 worded for the legacy path the client asked for."""
    check_resource_sid(sid)
    creds = credentials(request)
    if request.method not in ("GET", "HEAD"):
        raise errors.method_not_allowed(request.method, ("GET",))
    try:
        return await root_app(request)[keys.UPSTREAM].fetch(creds, account_sid, sid)
    except ApiError as err:
        raise errors.as_legacy_not_found(err, request.path) from None
