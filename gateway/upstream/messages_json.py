"""Pure conversions between the current API's JSON and the canonical model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any, Final

from gateway import errors
from gateway.mapping.dates import parse_rfc2822
from gateway.model import ApiError, ListFilter, Message, SendRequest


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


# The fields a Message is made of: one read again with the same values is the same Message.
_FIELDS: Final = (
    "sid", "account_sid", "to", "from", "body", "status", "direction", "date_created",
    "date_updated", "date_sent", "price", "price_unit", "api_version", "error_code",
    "error_message", "num_segments", "messaging_service_sid",
)


def message_from_json(data: Mapping[str, Any]) -> Message:
    """A current-API message JSON object -> Message. Missing optional fields are tolerated;
    a missing sid is not (the answer is not a message)."""
    try:
        values = tuple(map(data.get, _FIELDS))
        # With the types: 1, 1.0 and True are equal keys but different messages.
        return message_of(values, tuple(map(type, values)))
    except (AttributeError, TypeError):  # not a mapping, or a field holds a list or object
        return build_message(data)


# Pollers read the same messages again and again (page 0 of a list, the status of one send);
# building a Message costs three date parses and seventeen checked fields, looking one up a
# tuple of the raw values. Bounded; Messages are immutable, so sharing one is safe. An answer
# that is no message raises, and is not cached.
@lru_cache(maxsize=2048)
def message_of(values: tuple[Any, ...], types: tuple[type, ...]) -> Message:
    return build_message(dict(zip(_FIELDS, values, strict=True)))


def build_message(data: Mapping[str, Any]) -> Message:
    """A :class:`Message` from one current-API message object, checked, without the memo."""
    try:
        sid = data["sid"]
    except (KeyError, TypeError):
        sid = None
    if sid is None or sid == "":  # a null sid names no message either
        raise ApiError(502, "Upstream answered without a message", errors.UPSTREAM_BAD_RESPONSE)
    code = data.get("error_code")
    try:
        error_code = int(code) if code not in (None, "") else None
    except (TypeError, ValueError):
        error_code = None
    return Message(
        sid=str(sid),
        account_sid=str(data.get("account_sid") or ""),
        to=str(data.get("to") or ""),
        from_=str(data.get("from") or ""),
        body=str(data.get("body") or ""),
        status=str(data.get("status") or ""),
        direction=str(data.get("direction") or ""),
        date_created=parse_rfc2822(data.get("date_created")),
        date_updated=parse_rfc2822(data.get("date_updated")),
        date_sent=parse_rfc2822(data.get("date_sent")),
        price=_opt_str(data.get("price")),
        price_unit=_opt_str(data.get("price_unit")),
        api_version=str(data.get("api_version") or "2010-04-01"),
        error_code=error_code,
        error_message=_opt_str(data.get("error_message")),
        num_segments=_opt_str(data.get("num_segments")),
        messaging_service_sid=_opt_str(data.get("messaging_service_sid")),
    )


def error_from_json(status: int, data: Any) -> ApiError:
    """A current-API error answer -> ApiError, keeping its status, code and message."""
    if isinstance(data, Mapping):
        code = data.get("code")
        try:
            code = int(code) if code is not None else None
        except (TypeError, ValueError):
            code = None
        message = str(data.get("message") or f"Upstream error {status}")
        more_info = data.get("more_info")
        return ApiError(status, message, code, str(more_info) if more_info else None)
    return ApiError(status, f"Upstream error {status}", None)


def send_form(req: SendRequest) -> list[tuple[str, str]]:
    """The current API's create parameters for a legacy send."""
    form = [("To", req.to), ("From", req.from_), ("Body", req.body)]
    if req.status_callback:
        form.append(("StatusCallback", req.status_callback))
    if req.application_sid:
        form.append(("ApplicationSid", req.application_sid))
    return form


def _day(d: date) -> str:
    return d.isoformat()


def list_params(flt: ListFilter, page_size: int) -> list[tuple[str, str]]:
    """The current API's list query for a filter. Its date filters are inclusive calendar days:
    ``DateSent<`` means on or before, ``DateSent>`` on or after."""
    params: list[tuple[str, str]] = []
    if flt.to:
        params.append(("To", flt.to))
    if flt.from_:
        params.append(("From", flt.from_))
    if flt.date_sent:
        params.append(("DateSent", _day(flt.date_sent)))
    if flt.date_sent_before:
        params.append(("DateSent<", _day(flt.date_sent_before)))
    if flt.date_sent_after:
        params.append(("DateSent>", _day(flt.date_sent_after)))
    params.append(("PageSize", str(page_size)))
    return params
