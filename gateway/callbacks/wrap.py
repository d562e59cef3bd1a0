"""Called by the dialects' send path: which StatusCallback URL to give upstream."""

from __future__ import annotations

import logging
import time

from gateway.callbacks.settings import allowed_hosts, signing_keys
from gateway.callbacks.tokens import ACTION, INBOUND, METHODS, STATUS, CallbackTarget, sign_token
from gateway.callbacks.urls import (
    ACTION_PATH,
    INBOUND_PATH,
    STATUS_PATH,
    UrlRefused,
    check_legacy_url,
    gateway_url,
)
from gateway.config.settings import Settings
from gateway.model import ACCOUNT_SID, ApiError

log = logging.getLogger("gateway.callbacks")

INVALID_CALLBACK_URL = 21609  # Twilio: invalid StatusCallback URL
_warned_unrelayed = False
_PATHS = {STATUS: STATUS_PATH, ACTION: ACTION_PATH, INBOUND: INBOUND_PATH}


def relay_url(
    public_url: str, key: str, kind: str, url: str, account_sid: str, dialect: str,
    method: str = "POST",
) -> str:
    """The gateway URL, under ``public_url``, that forwards ``kind`` requests to ``url``."""
    target = CallbackTarget(
        kind=kind, url=url, account_sid=account_sid, dialect=dialect, method=method,
        issued_at=int(time.time()),
    )
    return gateway_url(public_url, _PATHS[kind], sign_token(key, target))


def wrap_status_callback(
    settings: Settings, legacy_url: str, account_sid: str, dialect: str
) -> str:
    """The URL to send upstream as StatusCallback for a legacy send's ``legacy_url``.

    With a public URL configured: the gateway's relay URL with a signed token, so that the
    callback comes back in the legacy form. Without one: ``legacy_url`` unchanged (the legacy
    app then receives current-format callbacks; logged once). Raises ApiError 400/21609 for a
    URL the gateway would refuse to call."""
    global _warned_unrelayed
    try:
        check_legacy_url(
            legacy_url, allowed_hosts(settings),
            allow_private=settings.callback_allow_private_networks,
        )
    except UrlRefused as exc:
        raise ApiError(400, f"The StatusCallback URL is not valid: {exc}", INVALID_CALLBACK_URL)
    keys = signing_keys(settings)
    if not settings.public_url or not keys:
        if not _warned_unrelayed:
            _warned_unrelayed = True
            log.warning(
                "GATEWAY_PUBLIC_URL is not set: StatusCallback URLs go upstream unchanged and "
                "legacy apps will receive callbacks in the current format"
            )
        return legacy_url
    return relay_url(settings.public_url, keys[0], STATUS, legacy_url, account_sid, dialect)


def inbound_webhook_url(
    settings: Settings, account_sid: str, sms_url: str, method: str = "POST",
    dialect: str = "v2008",
) -> str:
    """The URL an operator sets as a Twilio number's SMS URL so that its inbound messages reach
    the legacy ``sms_url`` in the legacy form. Raises ValueError when that cannot work."""
    keys = signing_keys(settings)
    if not settings.public_url or not keys:
        raise ValueError(
            "inbound webhook URLs need GATEWAY_PUBLIC_URL and GATEWAY_CALLBACK_SIGNING_KEY"
        )
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise ValueError(f"{account_sid!r} is not an AccountSid (AC + 32 hex digits)")
    if method.upper() not in METHODS:
        raise ValueError("the SMS URL method must be GET or POST")
    try:
        check_legacy_url(
            sms_url, allowed_hosts(settings),
            allow_private=settings.callback_allow_private_networks,
        )
    except UrlRefused as exc:
        raise ValueError(str(exc)) from None
    return relay_url(
        settings.public_url, keys[0], INBOUND, sms_url, account_sid, dialect, method.upper()
    )
