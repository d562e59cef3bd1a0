"""What every legacy dialect parses, whatever its wire shape: Basic credentials, path sids,
format suffixes, tolerant form and query decoding, list filters, paging parameters and send
validation.

Pure functions over strings and pairs: the aiohttp side (reading the request, calling upstream)
is :mod:`gateway.dialects.request`. Everything here raises :class:`ApiError` for bad input, so a
dialect only has to render the error in its own shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import unquote_to_bytes

from aiohttp import BasicAuth

from gateway import errors
from gateway.errors import (
    BODY_REQUIRED,
    BODY_TOO_LONG,
    FROM_REQUIRED,
    INVALID_PARAMETER,
    TO_REQUIRED,
)
from gateway.mapping.dates import parse_day
from gateway.mapping.numbers import parse_number
from gateway.model import ACCOUNT_SID, RESOURCE_SID, Credentials, ListFilter, ListQuery, SendRequest

Pairs = Sequence[tuple[str, str]]

FORMATS: Final = ("xml", "json", "csv", "html")
DEFAULT_FORMAT: Final = "xml"


# --- auth and paths ----------------------------------------------------------------------------


# A handful of legacy apps make every request, each with its one header: decoding it is
# per-request work. Bounded, so arbitrary headers cannot grow it; it holds what the
# upstream client's Authorization cache (gateway/upstream/http.py) holds.
@lru_cache(maxsize=256)
def decode_basic(header: str) -> Credentials | None:
    if not header:
        return None
    try:
        auth = BasicAuth.decode(header, encoding="utf-8")
    except ValueError:
        try:
            auth = BasicAuth.decode(header, encoding="latin-1")
        except ValueError:
            return None
    if not auth.login or not auth.password:
        return None
    return Credentials(auth.login, auth.password)


def check_account_sid(account_sid: str) -> str:
    """The path's AccountSid must look like one (``AC`` + 32 hex) or the resource does not exist.

    It is not compared with the credentials' username: a parent account may act on its
    subaccounts, and API keys are not account sids; upstream decides (20003)."""
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise errors.not_found()
    return account_sid


def check_resource_sid(sid: str) -> str:
    """A message Sid in a path: two capitals and 32 hex, or a 404 without calling upstream
    (which also keeps path tricks such as ``..`` out of the upstream URL)."""
    if not RESOURCE_SID.fullmatch(sid):
        raise errors.not_found()
    return sid


def split_format(name: str) -> tuple[str, str | None]:
    """``Messages.Xml`` -> (``Messages``, ``xml``); no suffix -> (name, None). Suffixes are
    case-insensitive (the 2010 docs themselves write ``Messages.Xml``); an unknown suffix is
    part of the name, so the resource is unknown."""
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix.lower() in FORMATS:
        return stem, suffix.lower()
    return name, None


def format_of_path(path: str) -> str:
    """The format an answer on ``path`` should use, errors included: its last segment's
    suffix, else XML."""
    return split_format(path.rstrip("/").rpartition("/")[2])[1] or DEFAULT_FORMAT


# --- form and query parsing --------------------------------------------------------------------


def decode_pairs(raw: bytes, charset: str | None = None) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` bytes -> (name, value) pairs, tolerantly.

    ``+`` and ``%20`` both mean a space; empty segments (a trailing bare ``?`` or ``&``) are
    skipped; a segment without ``=`` is a name with an empty value. Text is decoded with the
    declared charset; bytes that are not valid in it are read as ISO-8859-1, which 2008-era
    clients often sent without saying so."""
    encoding = charset or "utf-8"
    pairs: list[tuple[str, str]] = []
    for segment in raw.split(b"&"):
        if not segment:
            continue
        name, _, value = segment.partition(b"=")
        pairs.append((_decode(name, encoding), _decode(value, encoding)))
    return pairs


def _decode(part: bytes, encoding: str) -> str:
    data = unquote_to_bytes(part.replace(b"+", b" "))
    try:
        return data.decode(encoding)
    except (UnicodeError, LookupError):
        # UnicodeError, not just UnicodeDecodeError: codecs Python knows but cannot decode
        # with (charset=undefined, idna on a bad label) raise the base class.
        return data.decode("latin-1")


def first(pairs: Pairs, name: str) -> str | None:
    """The first value of ``name``. Repeated parameters: the first one wins, everywhere, so a
    client cannot smuggle a second To past a check that read the first."""
    for key, value in pairs:
        if key == name:
            return value
    return None


# --- list filters and paging -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageParams:
    page: int
    page_size: int


def parse_paging(
    pairs: Pairs,
    *,
    page_name: str = "Page",
    size_name: str = "num",
    default_size: int = 50,
    max_size: int = 1000,
) -> PageParams:
    """Legacy page-number paging parameters. A page size over the maximum is clamped to it (the
    client still gets a full page); a size below 1, a negative page or anything that is not a
    number is a 400 (20001). Empty values count as absent."""
    page = _int_param(pairs, page_name, 0)
    size = _int_param(pairs, size_name, default_size)
    if page < 0:
        raise errors.bad_request(f"{page_name} must be 0 or more", INVALID_PARAMETER)
    if size < 1:
        raise errors.bad_request(f"{size_name} must be 1 or more", INVALID_PARAMETER)
    return PageParams(page=page, page_size=min(size, max_size))


def parse_list_query(
    pairs: Pairs,
    region: str,
    *,
    page_name: str = "Page",
    size_name: str = "num",
    default_size: int = 50,
    max_size: int = 1000,
) -> ListQuery:
    """A legacy list request: its filters (:func:`parse_list_filter`) and its page-number
    paging (:func:`parse_paging`), under the dialect's parameter names."""
    paging = parse_paging(
        pairs,
        page_name=page_name,
        size_name=size_name,
        default_size=default_size,
        max_size=max_size,
    )
    return ListQuery(
        filter=parse_list_filter(pairs, region), page=paging.page, page_size=paging.page_size
    )


def _int_param(pairs: Pairs, name: str, default: int) -> int:
    raw = first(pairs, name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 12:
        raise errors.bad_request(f"{name} must be a whole number", INVALID_PARAMETER)
    return int(text)


_DATE_OPS: Final = {"": "on", "=": "on", "<": "before", "<=": "before", ">": "after", ">=": "after"}


def parse_list_filter(pairs: Pairs, region: str) -> ListFilter:
    """To, From and the DateSent filters of a legacy list.

    A raw ``DateSent>=2009-07-06`` arrives as name ``DateSent>``, value ``2009-07-06``; an
    encoded ``DateSent%3E%3D2009-07-06`` as name ``DateSent>=2009-07-06`` with no value: both
    are read, as are the 2010 spellings ``DateSent<``/``DateSent>`` (all inclusive of the day).
    Numbers are normalised like a send's; one that cannot be a number is 21211 (To) or 21212
    (From) rather than an empty list, so a client's typo is not mistaken for "no messages"."""
    to = first(pairs, "To")
    from_ = first(pairs, "From")
    days: dict[str, object] = {}
    for name, value in pairs:
        if not name.startswith("DateSent"):
            continue
        rest, day_text = name[len("DateSent"):], value
        if not value and rest.lstrip("<>="):
            op_len = len(rest) - len(rest.lstrip("<>="))
            rest, day_text = rest[:op_len], rest[op_len:]
        kind = _DATE_OPS.get(rest)
        if not day_text.strip():
            continue  # an empty filter filters nothing
        if kind is None or kind in days:
            continue
        day = parse_day(day_text)
        if day is None:
            raise errors.bad_request(
                f"DateSent{rest} must be a day written YYYY-MM-DD", INVALID_PARAMETER
            )
        days[kind] = day
    return ListFilter(
        to=parse_number(to, region, "To") if to and to.strip() else None,
        from_=parse_number(from_, region, "From") if from_ and from_.strip() else None,
        date_sent=days.get("on"),  # type: ignore[arg-type]
        date_sent_before=days.get("before"),  # type: ignore[arg-type]
        date_sent_after=days.get("after"),  # type: ignore[arg-type]
    )


def filter_pairs(flt: ListFilter) -> list[tuple[str, str]]:
    """A filter back as legacy query pairs, for the links of a list (normalised values, so a
    link always reads back as the same filter)."""
    pairs: list[tuple[str, str]] = []
    if flt.to:
        pairs.append(("To", flt.to))
    if flt.from_:
        pairs.append(("From", flt.from_))
    if flt.date_sent:
        pairs.append(("DateSent", flt.date_sent.isoformat()))
    if flt.date_sent_before:
        pairs.append(("DateSent<", flt.date_sent_before.isoformat()))
    if flt.date_sent_after:
        pairs.append(("DateSent>", flt.date_sent_after.isoformat()))
    return pairs


# --- sending -----------------------------------------------------------------------------------


def parse_send(pairs: Pairs, *, region: str, body_limit: int) -> SendRequest:
    """A legacy send's form -> SendRequest, checked in the order a client would fix it: missing
    To (21604), From (21603), Body (21602); To (21211) and From (21212) that cannot be numbers;
    Body longer than ``body_limit`` characters (21605). An empty value counts as missing; a Body
    of spaces does not (it is text)."""
    to = first(pairs, "To") or ""
    from_ = first(pairs, "From") or ""
    body = first(pairs, "Body") or ""
    if not to.strip():
        raise errors.bad_request("A 'To' phone number is required.", TO_REQUIRED)
    if not from_.strip():
        raise errors.bad_request("A 'From' phone number is required.", FROM_REQUIRED)
    if not body:
        raise errors.bad_request("The 'Body' parameter is required.", BODY_REQUIRED)
    to_number = parse_number(to, region, "To")
    from_number = parse_number(from_, region, "From")
    if len(body) > body_limit:
        raise errors.bad_request(
            f"The message body exceeds the {body_limit} character limit.", BODY_TOO_LONG
        )
    return SendRequest(
        to=to_number,
        from_=from_number,
        body=body,
        status_callback=first(pairs, "StatusCallback") or None,
        to_as_sent=to,
        from_as_sent=from_,
    )
