"""How does Status map? The current API's message status -> each legacy dialect's status.

The tables are data, in one place: docs/mapping.md lists every row and the tests walk them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# Current status -> 2008-08-01 status (queued|sending|sent|failed).
STATUS_2008: Final[Mapping[str, str]] = MappingProxyType(
    {
        "accepted": "queued",
        "scheduled": "queued",
        "queued": "queued",
        "sending": "sending",
        "sent": "sent",
        "delivered": "sent",
        "read": "sent",
        "partially_delivered": "sent",
        "failed": "failed",
        "undelivered": "failed",
        "canceled": "failed",
        "receiving": "sending",
        "received": "sent",
    }
)

# Current status -> 2010-04-01 /SMS/Messages status (queued|sending|sent|failed|received):
# the 2008 table, except that an inbound message stays "received" as that resource showed it.
STATUS_2010_SMS: Final[Mapping[str, str]] = MappingProxyType(
    {**STATUS_2008, "received": "received"}
)

# A status this gateway has never heard of (Twilio adds statuses from time to time) is shown as
# "sending": neither success ("sent") nor failure ("failed"), both of which legacy apps act on
# (mark done, alert, re-send -> a duplicate SMS). A non-final status makes them poll again.
UNKNOWN_STATUS: Final = "sending"


def _lookup(table: Mapping[str, str], status: str) -> str:
    return table.get(status.strip().lower(), UNKNOWN_STATUS)


def status_2008(status: str) -> str:
    """The 2008-08-01 Status for a current-API status."""
    return _lookup(STATUS_2008, status)


def status_2010_sms(status: str) -> str:
    """The 2010-04-01 /SMS/Messages status for a current-API status."""
    return _lookup(STATUS_2010_SMS, status)
