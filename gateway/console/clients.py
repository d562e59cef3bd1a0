"""Telling legacy clients apart: a User-Agent reduced to its product and major.minor version.

The ledger is keyed by it, so it must be short, bounded and free of anything that identifies a
person or an installation (full versions, host names, comments).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from gateway.observability.logs import mask_text

NO_USER_AGENT: Final = "(none)"
MAX_LENGTH: Final = 48

# The first product token: name, then an optional version of dotted numbers.
_PRODUCT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._+-]*)(?:/v?(\d+)(?:\.(\d+))?)?")


@lru_cache(maxsize=1024)
def normalise_user_agent(header: str) -> str:
    """``twilio-python/5.6.0 (Python 2.7.18)`` -> ``twilio-python/5.6``; nothing usable ->
    ``(none)``. Bounded cache: clients repeat their header on every request."""
    match = _PRODUCT.match(header)
    if not match:
        return NO_USER_AGENT
    name, major, minor = match.groups()
    name = name[:MAX_LENGTH]
    if major is not None:
        name += f"/{major[:6]}" + (f".{minor[:6]}" if minor is not None else "")
    # A number in a header is masked as the logs mask it.
    return mask_text(name)


def client_id(user_agent: str, remote: str | None, with_address: bool) -> str:
    client = normalise_user_agent(user_agent)
    if with_address and remote:
        # Only what an address is made of: the ledger's keys use '|' as a separator.
        address = "".join(c for c in remote if c.isalnum() or c in ".:")[:45]
        return f"{client} @ {address}"
    return client
