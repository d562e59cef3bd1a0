"""How does Direction map to the 2008 Flags bit field?

2008-08-01 documented 1 = inbound, 2 = a reply to an incoming message, 4 = sent through the REST
API. The current API's ``outbound-call`` (sent from a call's TwiML) had no bit; its value is a
setting (``outbound_call_flags``, default 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

FLAGS_2008: Final[Mapping[str, int]] = MappingProxyType(
    {
        "inbound": 1,
        "outbound-reply": 2,
        "outbound-api": 4,
    }
)

OUTBOUND_CALL: Final = "outbound-call"

# A direction the table does not know claims no bit: every documented bit would be a lie.
UNKNOWN_FLAGS: Final = 0


def flags_2008(direction: str, outbound_call_flags: int = 0) -> int:
    """The 2008 Flags value for a current-API direction."""
    key = direction.strip().lower()
    if key == OUTBOUND_CALL:
        return outbound_call_flags
    return FLAGS_2008.get(key, UNKNOWN_FLAGS)
