"""What every legacy dialect needs, whatever its wire shape: credentials, path checks, format
suffixes, tolerant form and query parsing, list filters, paging parameters and send validation.

Everything here raises :class:`ApiError` for bad input, so a dialect's handler only has to render
the error in its own shape. Apart from :func:`credentials` and :func:`read_form`, which read the
aiohttp request, these are pure functions over strings and pairs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import unquote_to_bytes

from aiohttp import BasicAuth, hdrs, web

from gateway import errors, reqctx
from gateway.mapping.dates import parse_day
from gateway.mapping.numbers import parse_number
from gateway.model import ApiError, Credentials, ListFilter, ListQuery, Message, SendRequest

Pairs = Sequence[tuple[str, str]]

FORMATS: Final = ("xml", "json", "csv", "html")
DEFAULT_FORMAT: Final = "xml"

# Twilio's own codes for a legacy send's missing parameters and over-long body.
TO_REQUIRED: Final = 21604
FROM_REQUIRED: Final = 21603
BODY_REQUIRED: Final = 21602
BODY_TOO_LONG: Final = 21605
# A query parameter the gateway cannot read (a DateSent that is no YYYY-MM-DD day, a Page or
# page size that is no number). Twilio's catalogue names 20001 for invalid parameters.
INVALID_PARAMETER: Final = 20001
# Twilio's "resource not found".
RESOURCE_NOT_FOUND: Final = 20404

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_RESOURCE_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


# --- auth and paths ----------------------------------------------------------------------------


def credentials(request: web.Request) -> Credentials:
    """The request's Basic credentials, passed through to upstream as they are.

    Missing or garbled credentials are a 401 with ``WWW-Authenticate: Basic realm="Twilio API"``:
    httplib2-based clients (twilio-python up to 5.x) send every request without credentials
    first and only retry with them after exactly this challenge."""
    creds = _decode_basic(request.headers.get(hdrs.AUTHORIZATION, ""))
    if creds is None:
        raise errors.unauthenticated()
    return creds


# A handful of legacy apps make every request, each with its one header: decoding it is
# per-request work. Bounded, so arbitrary headers cannot grow it; it holds what the
# upstream client's Authorization cache (gateway/upstream/http.py) holds.
@lru_cache(maxsize=256)
def _decode_basic(header: str) -> Credentials | None:
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
    if not _ACCOUNT_SID.fullmatch(account_sid):
        raise not_found()
    return account_sid


def check_resource_sid(sid: str) -> str:
    """A message Sid in a path: two capitals and 32 hex, or a 404 without calling upstream
    (which also keeps path tricks such as ``..`` out of the upstream URL)."""
    if not _RESOURCE_SID.fullmatch(sid):
        raise not_found()
    return sid


def not_found() -> ApiError:
    """The legacy 404: Status and Message only, as the 2008 API answered unknown resources."""
    return ApiError(404, "The requested resource was not found")


def as_legacy_not_found(err: ApiError, path: str) -> ApiError:
    """An upstream 404 names the current API's path (``/2010-04-01/.../Messages/SM....json``),
    which the legacy client never asked for; name the path it did ask for instead, keeping
    status, code and headers. Any other error is returned as it is."""
    if err.status != 404 or err.code not in (None, RESOURCE_NOT_FOUND):
        return err
    return ApiError(
        404, f"The requested resource {path} was not found", err.code, err.more_info,
        dict(err.headers),
    )


def method_not_allowed(method: str, allow: Iterable[str]) -> ApiError:
    err = errors.method_not_allowed(method)
    err.headers["Allow"] = ", ".join(allow)
    return err


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


def query_pairs(request: web.Request) -> list[tuple[str, str]]:
    """The request's query as pairs, from the raw query string: aiohttp's decoded view would
    lose the difference between ``DateSent>=`` and ``DateSent%3E%3D``."""
    return decode_pairs(request.rel_url.raw_query_string.encode("utf-8", "surrogateescape"))


async def read_form(request: web.Request) -> list[tuple[str, str]]:
    """A POST body as pairs, whatever the client declared: urlencoded with or without a
    Content-Type, with any charset, or multipart (file parts are ignored)."""
    if request.content_type.startswith("multipart/"):
        try:
            form = await request.post()
        except (ValueError, LookupError):  # no boundary, a broken body, an unknown charset
            raise errors.bad_request(
                "The request body is not the multipart form it declares", INVALID_PARAMETER
            ) from None
        return [(k, v) for k, v in form.items() if isinstance(v, str)]
    return decode_pairs(await request.read(), request.charset)


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


async def send_message(
    request: web.Request,
    account_sid: str,
    creds: Credentials,
    parse: Callable[[Pairs], SendRequest],
    dialect: str,
) -> tuple[SendRequest, Message]:
    """The send every dialect does: the form read and parsed (:func:`read_send`), then the
    message created upstream. Returns both: a dialect's answer may show what the client sent."""
    from gateway.app import UPSTREAM

    request[reqctx.OPERATION] = "send"
    send = await read_send(request, parse, dialect)
    return send, await request.app[UPSTREAM].create(creds, account_sid, send)


async def read_send(
    request: web.Request, parse: Callable[[Pairs], SendRequest], dialect: str
) -> SendRequest:
    """A legacy send from the request's form: parsed by the dialect's ``parse``, its
    StatusCallback replaced by the one to forward upstream (:func:`upstream_status_callback`)."""
    send = parse(await read_form(request))
    if not send.status_callback:
        return send
    return dataclasses.replace(
        send, status_callback=upstream_status_callback(request, send.status_callback, dialect)
    )


def upstream_status_callback(
    request: web.Request, legacy_url: str | None, dialect: str = "v2008"
) -> str | None:
    """The StatusCallback a send forwards upstream for the legacy app's URL.

    The single place the send path decides it: the callback relay's gateway URL, which relays
    (and translates) to ``legacy_url`` (see gateway/callbacks/wrap.py)."""
    if not legacy_url:
        return None
    from gateway.app import SETTINGS
    from gateway.callbacks import wrap_status_callback

    return wrap_status_callback(
        request.app[SETTINGS], legacy_url, request.match_info.get("account_sid", ""), dialect
    )


async def fetch_instance(request: web.Request, account_sid: str, sid: str) -> Message:
    """The fetch every dialect does: a well-formed sid, credentials, GET only, then upstream's
    message, its 404 worded for the legacy path the client asked for."""
    from gateway.app import UPSTREAM

    check_resource_sid(sid)
    creds = credentials(request)
    if request.method not in ("GET", "HEAD"):
        raise method_not_allowed(request.method, ("GET",))
    try:
        return await request.app[UPSTREAM].fetch(creds, account_sid, sid)
    except ApiError as err:
        raise as_legacy_not_found(err, request.path) from None
