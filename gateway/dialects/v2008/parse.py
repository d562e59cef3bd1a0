"""2008-08-01 requests -> canonical requests. Pure: pairs and path segments in, model out."""

from __future__ import annotations

from typing import Final

from gateway.config import Settings
from gateway.dialects import params
from gateway.model import ListQuery, SendRequest

PREFIX: Final = "/2008-08-01"
LIST_RESOURCE: Final = "Messages"
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000


def list_path(account_sid: str, fmt: str | None) -> str:
    """The gateway's 2008 URL path of an account's message list (suffix kept when given)."""
    return f"{PREFIX}/Accounts/{account_sid}/SMS/Messages" + (f".{fmt}" if fmt else "")


def instance_path(account_sid: str, sid: str, fmt: str | None) -> str:
    return f"{PREFIX}/Accounts/{account_sid}/SMS/Messages/{sid}" + (f".{fmt}" if fmt else "")


def parse_send(pairs: params.Pairs, settings: Settings) -> SendRequest:
    """POST .../SMS/Messages: From, To, Body, StatusCallback (2008 had no ApplicationSid)."""
    return params.parse_send(
        pairs, region=settings.default_region, body_limit=settings.body_limit
    )


def parse_list(pairs: params.Pairs, settings: Settings) -> ListQuery:
    """GET .../SMS/Messages: the filters plus ``Page`` (0-based) and ``num`` (default 50; over
    1000 is clamped to 1000)."""
    paging = params.parse_paging(
        pairs,
        page_name="Page",
        size_name="num",
        default_size=DEFAULT_PAGE_SIZE,
        max_size=MAX_PAGE_SIZE,
    )
    return ListQuery(
        filter=params.parse_list_filter(pairs, settings.default_region),
        page=paging.page,
        page_size=paging.page_size,
    )
