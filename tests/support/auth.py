"""HTTP Basic credentials for test requests, as a header rather than aiohttp's ``auth=``
(whose BasicAuth argument aiohttp deprecates), so every test folder builds them one way."""

from __future__ import annotations

import aiohttp


def basic_header(user: str, password: str) -> str:
    """The ``Authorization`` header value for ``user:password``."""
    return aiohttp.encode_basic_auth(user, password)


def basic_auth(user: str, password: str) -> dict[str, str]:
    """Request headers carrying ``user:password`` as Basic credentials."""
    return {"Authorization": basic_header(user, password)}
