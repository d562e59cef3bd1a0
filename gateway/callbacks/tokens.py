"""Signed, URL-safe tokens naming where a callback goes (pure; no I/O).

A token carries everything the gateway needs to forward one kind of Twilio request to a legacy
app: the legacy URL, the account it belongs to, the legacy dialect and the HTTP method the app
expects. Because the gateway signs it, any replica can serve the callback without shared
state, and the gateway can never be steered to a URL it did not put into a token itself.

Format: ``v1.<base64url(JSON payload)>.<base64url(HMAC-SHA256(key, "v1." + payload))>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

VERSION = "v1"
# Seconds a token's issue time may lie ahead of this replica's clock (replicas' clocks differ a
# little); further ahead, it was not issued by a gateway with a sane clock.
CLOCK_SKEW = 300.0

# What a token is for; a token minted for one purpose is refused by the others' endpoints.
STATUS = "status"  # a StatusCallback of a legacy send (or of an <Sms statusCallback>)
ACTION = "action"  # the action URL of an <Sms> verb
INBOUND = "inbound"  # a legacy app's SMS URL (inbound messages and <Redirect>)
METHODS = ("GET", "POST")


class TokenError(ValueError):
    """The token is not one this gateway signed, or not for this use."""


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    kind: str
    url: str
    account_sid: str
    dialect: str
    method: str = "POST"
    issued_at: int = 0  # Unix seconds; lets status tokens expire


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, signed: str) -> bytes:
    return hmac.new(key.encode("utf-8"), signed.encode("ascii"), hashlib.sha256).digest()


def sign_token(key: str, target: CallbackTarget) -> str:
    if not key:
        raise ValueError("a signing key is required")
    payload = {
        "k": target.kind,
        "u": target.url,
        "a": target.account_sid,
        "d": target.dialect,
        "m": target.method,
        "t": target.issued_at,
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed = f"{VERSION}.{body}"
    return f"{signed}.{_b64(_mac(key, signed))}"


def verify_token(
    keys: Sequence[str], token: str, kind: str, *, now: float = 0.0, max_age: float = 0.0
) -> CallbackTarget:
    """The target inside ``token`` if one of ``keys`` signed it for ``kind``; else TokenError.

    Several keys allow rotation: sign with the new key while the old one still verifies.
    ``max_age`` > 0 refuses tokens issued more than that many seconds before ``now``; with a
    ``now``, a token issued more than :data:`CLOCK_SKEW` seconds after it is refused too."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise TokenError("malformed token")
    signed = f"{parts[0]}.{parts[1]}"
    try:
        mac = _unb64(parts[2])
        raw = _unb64(parts[1])
    except (binascii.Error, ValueError):
        raise TokenError("malformed token") from None
    if not any(k and hmac.compare_digest(_mac(k, signed), mac) for k in keys):
        raise TokenError("token not signed by this gateway")
    try:
        data = json.loads(raw)
        target = CallbackTarget(
            kind=str(data["k"]),
            url=str(data["u"]),
            account_sid=str(data["a"]),
            dialect=str(data["d"]),
            method=str(data["m"]),
            issued_at=int(data["t"]),
        )
    except (ValueError, KeyError, TypeError):
        raise TokenError("malformed token payload") from None
    if target.kind != kind:
        raise TokenError(f"token is for {target.kind!r}, not {kind!r}")
    if target.method not in METHODS:
        raise TokenError("token names an unsupported method")
    if max_age > 0 and now - target.issued_at > max_age:
        raise TokenError("token expired")
    if now and target.issued_at > now + CLOCK_SKEW:
        raise TokenError("token issued in the future")
    return target
