"""Structured logging: JSON lines for machines, a readable line for people, and masking of phone
numbers on the way out.

The access line's fields travel as ``extra={"access": {...}}`` so that the JSON formatter can
emit them as fields and the text formatter as ``key=value`` pairs. Nothing here ever receives a
request body or header values other than the request id.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any

from multidict import MultiMapping

from gateway.observability.redaction import Redact, redact_text

try:  # the `speed` extra: an access line is written for every request
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the installation
    _orjson = None

ACCESS_LOGGER = "gateway.access"

# Free text from any module: E.164 numbers and bare 10-11 digit North American numbers.
_NUMBER_IN_TEXT = re.compile(r"(?<![\w+])(\+\d{7,15}|\d{10,11})(?!\w)")


def mask_number(value: str) -> str:
    """+14155551212 -> +1415***1212; 4155551212 -> 415***1212; values with fewer than 7 digits
    (short codes, ids) are left alone because they identify no person."""
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) < 7:
        return value
    if len(digits) < 10:
        return "***" + digits[-4:]
    plus = value.lstrip().startswith("+")
    head = "+" + digits[:4] if plus else digits[:3]
    return f"{head}***{digits[-4:]}"


def mask_text(text: str) -> str:
    return _NUMBER_IN_TEXT.sub(lambda m: mask_number(m.group(0)), text)


# The access line masks every request's path; the pattern costs about 4% of a fetch
# (callgrind), and paths repeat: pollers ask for the same list and the same message again and
# again. Bounded, so arbitrary paths cannot grow it.
mask_path = lru_cache(maxsize=1024)(mask_text)


# Query keys whose values are phone numbers in the legacy and current APIs.
_NUMBER_KEYS = frozenset({"to", "from", "phonenumber", "phone_number"})
# Query keys whose values are shown as sent: the legacy and current list filters and paging.
# Any other key's value is withheld: a GET webhook carries the message Body (and more) in its
# query, and a client may put anything in one.
_PLAIN_KEYS = frozenset({
    "datesent", "datesent<", "datesent>", "datesent<=", "datesent>=", "page", "pagesize",
    "num", "numpages", "pagetoken", "status", "direction",
})
WITHHELD = "[withheld]"


def loggable_query(query: MultiMapping[str], mask: bool) -> str:
    """A query string for the log: keys as sent; list filters' values readable, numbers masked
    (by key, or by shape), every other value withheld."""
    if not query:
        return ""
    parts = []
    for k, v in query.items():
        key = k.lower()
        if key in _NUMBER_KEYS or _NUMBER_IN_TEXT.fullmatch(v.strip()):
            if mask:
                v = mask_number(v)
        elif key not in _PLAIN_KEYS:
            v = WITHHELD
        parts.append(f"{redact_text(k)}={v}")
    return "?" + "&".join(parts)


# The callback endpoints' last path segment is a signed token naming a legacy URL.
_CALLBACK_TOKEN_PATH = re.compile(r"^(/callbacks/[^/]+/).+")


def loggable_path(path: str, mask: bool) -> str:
    """A request path for the log: callback tokens withheld, numbers masked when ``mask``."""
    if path.startswith("/callbacks/"):
        path = _CALLBACK_TOKEN_PATH.sub(r"\1[token]", path)
    return mask_path(path) if mask else path


class MaskNumbers(logging.Filter):
    """Masks phone numbers in every record's message before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "masked", False):  # the access line, built from masked parts
            return True
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_ORJSON_AS_JSON = (
    _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS if _orjson else 0
)


def _json_line(out: Mapping[str, Any]) -> str:
    if _orjson is not None:
        try:
            # Dates and dataclasses through default=str, as json writes them.
            return _orjson.dumps(out, default=str, option=_ORJSON_AS_JSON).decode()
        except TypeError:  # what orjson refuses (a lone surrogate in a path) json writes
            pass
    return json.dumps(out, default=str, separators=(",", ":"))


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC to the millisecond; the part up to the second is shared by every line
    written within that second."""
    # Rounded to the microsecond first, as datetime.fromtimestamp does.
    frac, whole = math.modf(created)
    micro = round(frac * 1_000_000)
    second = int(whole) + micro // 1_000_000
    micro %= 1_000_000
    prefix = _SECOND_PREFIX.get(second)
    if prefix is None:
        _SECOND_PREFIX.clear()
        prefix = _SECOND_PREFIX[second] = datetime.fromtimestamp(second, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    return f"{prefix}.{micro // 1000:03d}+00:00"


_SECOND_PREFIX: dict[int, str] = {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        access = getattr(record, "access", None)
        if isinstance(access, Mapping):
            out.update(access)
        if record.exc_info:
            out["exc"] = record.exc_text or self.formatException(record.exc_info)
        return _json_line(out)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        access = getattr(record, "access", None)
        if isinstance(access, Mapping):
            line += " " + " ".join(f"{k}={v}" for k, v in access.items() if v not in (None, ""))
        return line


def configure_logging(
    level: str, fmt: str, mask_numbers: bool, stream: IO[str] | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one that writes ``fmt`` ('auto', 'json' or
    'text') to ``stream`` (stderr by default)."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "text" if _isatty(stream) else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(Redact())  # first: credentials, tokens and bodies, whatever the settings
    if mask_numbers:
        handler.addFilter(MaskNumbers())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    # aiohttp's own access log would repeat ours without the gateway's fields and masking.
    logging.getLogger("aiohttp.access").disabled = True
    # No formatter here prints thread or process names; the logging HOWTO's "Optimization"
    # switches spare every record their lookup.
    logging.logThreads = False
    logging.logMultiprocessing = False
    return handler


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False
