"""Pure renderers: stored messages and errors -> the JSON shapes Twilio answers with.

Key order follows Twilio's OpenAPI description (current resource) and the recorded JSON of the
deprecated /SMS/Messages resource; Python dicts keep insertion order, so the wire does too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.mapping.dates import format_rfc2822
from gateway.mapping.status import status_2010_sms
from gateway.model import ApiError
from gateway.sandbox.store import StoredMessage

API_BASE = "/2010-04-01/Accounts"

def rfc2822(value: datetime | None) -> str | None:
    return format_rfc2822(value) if value is not None else None


def sms_message_uri(account_sid: str, sid: str) -> str:
    return f"{API_BASE}/{account_sid}/SMS/Messages/{sid}.json"


def message_json(m: StoredMessage) -> dict[str, Any]:
    base = f"{API_BASE}/{m.account_sid}/Messages/{m.sid}"
    return {
        "body": m.body,
        "num_segments": str(m.num_segments),
        "direction": m.direction,
        "from": m.from_,
        "to": m.to,
        "date_updated": rfc2822(m.date_updated),
        "price": m.price,
        "error_message": m.error_message,
        "uri": base + ".json",
        "account_sid": m.account_sid,
        "num_media": str(m.num_media),
        "status": m.status,
        "messaging_service_sid": m.messaging_service_sid,
        "sid": m.sid,
        "date_sent": rfc2822(m.date_sent),
        "date_created": rfc2822(m.date_created),
        "error_code": m.error_code,
        "price_unit": m.price_unit,
        "api_version": m.api_version,
        "subresource_uris": {
            "media": base + "/Media.json",
            "feedback": base + "/Feedback.json",
        },
    }


def sms_message_json(m: StoredMessage) -> dict[str, Any]:
    return {
        "sid": m.sid,
        "date_created": rfc2822(m.date_created),
        "date_updated": rfc2822(m.date_updated),
        "date_sent": rfc2822(m.date_sent),
        "account_sid": m.account_sid,
        "to": m.to,
        "from": m.from_,
        "body": m.body,
        "status": status_2010_sms(m.status),
        "direction": m.direction,
        "price": m.price,
        "api_version": m.api_version,
        "uri": sms_message_uri(m.account_sid, m.sid),
    }


def error_json(err: ApiError) -> dict[str, Any]:
    return {
        "code": err.code,
        "message": err.message,
        "more_info": err.more_info,
        "status": err.status,
    }
