"""Reading and validating a create request (pure): the checks and error codes Twilio applies
before it accepts a message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.model import ApiError
from gateway.sandbox.numbers_rules import normalize_number
from gateway.sandbox.outcomes import check_magic

CURRENT_BODY_LIMIT = 1600
SMS2010_BODY_LIMIT = 160
_MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class CreateRequest:
    to: str
    from_: str | None
    body: str
    media_urls: tuple[str, ...] = ()
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    application_sid: str | None = None


def _first(form: Sequence[tuple[str, str]], name: str) -> str:
    for key, value in form:
        if key == name:
            return value
    return ""


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:  # e.g. an unclosed IPv6 bracket: a client's bad input, not a 500
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def parse_create(
    form: Sequence[tuple[str, str]], *, legacy: bool = False
) -> CreateRequest:
    """Validate create parameters. ``legacy`` applies the deprecated /SMS/Messages resource's
    rules (Body required, 160 characters, 21605; no media or Messaging Service)."""
    to_raw = _first(form, "To").strip()
    from_raw = _first(form, "From").strip()
    service = "" if legacy else _first(form, "MessagingServiceSid").strip()
    body = _first(form, "Body")
    media = () if legacy else tuple(v for k, v in form if k == "MediaUrl" and v)
    callback = _first(form, "StatusCallback").strip()
    application = _first(form, "ApplicationSid").strip()

    if not to_raw:
        raise ApiError(400, "A 'To' phone number is required.", 21604)
    if not from_raw and not service:
        raise ApiError(400, "A 'From' phone number is required.", 21603)
    if not body and not media:
        raise ApiError(400, "A text message body or media urls must be specified.", 21602)
    if legacy and len(body) > SMS2010_BODY_LIMIT:
        raise ApiError(
            400,
            f"The message body exceeds the {SMS2010_BODY_LIMIT} character limit.",
            21605,
        )
    if len(body) > CURRENT_BODY_LIMIT:
        raise ApiError(
            400,
            f"The concatenated message body exceeds the {CURRENT_BODY_LIMIT} character limit.",
            21617,
        )
    to = normalize_number(to_raw)
    if to is None:
        raise ApiError(400, f"The 'To' number {to_raw} is not a valid phone number.", 21211)
    from_: str | None = None
    if from_raw:
        from_ = normalize_number(from_raw, allow_alphanumeric=True)
        if from_ is None:
            raise ApiError(
                400,
                f"The 'From' number {from_raw} is not a valid phone number, shortcode, or "
                "alphanumeric sender ID.",
                21212,
            )
    if service and not _MESSAGING_SERVICE_SID.fullmatch(service):
        raise ApiError(400, f"The Messaging Service Sid {service} is invalid.", 21701)
    if callback and not is_http_url(callback):
        raise ApiError(400, "The StatusCallback URL is not a valid URL.", 21609)
    for url in media:
        if not is_http_url(url):
            raise ApiError(400, f"The MediaUrl {url} is invalid.", 21620)
    check_magic(to, from_)
    return CreateRequest(
        to=to,
        from_=from_,
        body=body,
        media_urls=media,
        messaging_service_sid=service or None,
        status_callback=callback or None,
        application_sid=application or None,
    )
