"""A minimal IncomingPhoneNumbers resource: numbers an account owns and the SMS URL each
one's inbound messages are posted to."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.sandbox.render import API_BASE, rfc2822


@dataclass(slots=True)
class PhoneNumber:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    sms_url: str
    sms_method: str
    date_created: datetime
    date_updated: datetime


class PhoneNumbers:
    def __init__(self) -> None:
        self._by_account: dict[str, dict[str, PhoneNumber]] = {}
        self._lock = threading.Lock()

    def add(self, number: PhoneNumber) -> PhoneNumber:
        with self._lock:
            self._by_account.setdefault(number.account_sid, {})[number.sid] = number
        return number

    def list(self, account_sid: str) -> list[PhoneNumber]:
        with self._lock:
            return list(self._by_account.get(account_sid, {}).values())

    def get(self, account_sid: str, sid: str) -> PhoneNumber | None:
        with self._lock:
            return self._by_account.get(account_sid, {}).get(sid)

    def find(self, account_sid: str, phone_number: str) -> PhoneNumber | None:
        """The newest number of the account with this E.164 value."""
        for number in reversed(self.list(account_sid)):
            if number.phone_number == phone_number:
                return number
        return None


def phone_number_json(n: PhoneNumber) -> dict[str, Any]:
    # A subset of api.v2010.account.incoming_phone_number, in its property order.
    return {
        "account_sid": n.account_sid,
        "api_version": "2010-04-01",
        "capabilities": {"voice": False, "sms": True, "mms": False, "fax": False},
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "friendly_name": n.friendly_name,
        "phone_number": n.phone_number,
        "sid": n.sid,
        "sms_method": n.sms_method,
        "sms_url": n.sms_url,
        "uri": f"{API_BASE}/{n.account_sid}/IncomingPhoneNumbers/{n.sid}.json",
    }
