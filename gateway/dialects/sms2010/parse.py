"""2010-04-01 /SMS/Messages requests -> canonical requests. Pure: pairs and names in, model out.

Everything a legacy dialect shares (suffixes, tolerant forms, filters, send checks) is
:mod:`gateway.dialects.params`; this module holds only what the 2010 resource does differently:
``ApplicationSid`` on sends, ``PageSize`` instead of ``num``, and its own URLs.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from gateway.config import Settings
from gateway.dialects import params
from gateway.model import ListQuery, SendRequest

PREFIX: Final = "/2010-04-01"
LIST_RESOURCE: Final = "Messages"
# The 2010 resource answered .json, .xml and .csv (FACTS section 2); .html was 2008 only.
FORMATS: Final = ("xml", "json", "csv")
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
PAGE: Final = "Page"
PAGE_SIZE: Final = "PageSize"


def split_name(name: str) -> tuple[str, str | None]:
    """``Messages.Xml`` -> (``Messages``, ``xml``). A suffix the 2010 resource did not have
    (``.html``) stays part of the name, so the resource does not exist."""
    stem, fmt = params.split_format(name)
    if fmt is not None and fmt not in FORMATS:
        return name, None
    return stem, fmt


def list_path(account_sid: str, fmt: str | None) -> str:
    """The gateway's URL path of an account's /SMS/Messages list (suffix kept when given)."""
    return f"{PREFIX}/Accounts/{account_sid}/SMS/Messages" + (f".{fmt}" if fmt else "")


def instance_path(account_sid: str, sid: str, fmt: str | None) -> str:
    return f"{PREFIX}/Accounts/{account_sid}/SMS/Messages/{sid}" + (f".{fmt}" if fmt else "")


def parse_send(pairs: params.Pairs, settings: Settings) -> SendRequest:
    """POST .../SMS/Messages: To, From, Body, StatusCallback and ApplicationSid (forwarded as
    it is; the current API accepts it and upstream judges it)."""
    send = params.parse_send(
        pairs, region=settings.default_region, body_limit=settings.body_limit
    )
    application_sid = (params.first(pairs, "ApplicationSid") or "").strip()
    return dataclasses.replace(send, application_sid=application_sid or None)


def parse_list(pairs: params.Pairs, settings: Settings) -> ListQuery:
    """GET .../SMS/Messages: the filters plus ``Page`` (0-based) and ``PageSize`` (default 50;
    over 1000 is clamped to 1000, as the 2008 dialect clamps ``num``)."""
    return params.parse_list_query(
        pairs,
        settings.default_region,
        page_name=PAGE,
        size_name=PAGE_SIZE,
        default_size=DEFAULT_PAGE_SIZE,
        max_size=MAX_PAGE_SIZE,
    )


def explicit_paging(pairs: params.Pairs, query: ListQuery) -> list[tuple[str, str]]:
    """The paging parameters the client itself gave, normalised, for the list's own ``uri``
    (the recorded answers echo the request: no ``?Page=0&PageSize=50`` when none was sent)."""
    given = {name for name, value in pairs if value.strip()}
    out: list[tuple[str, str]] = []
    if PAGE in given:
        out.append((PAGE, str(query.page)))
    if PAGE_SIZE in given:
        out.append((PAGE_SIZE, str(query.page_size)))
    return out
