"""Redaction of every log record, the libraries' included, before it is written.

The gateway's own messages never quote credentials or bodies; libraries do. aiohttp's HTTP
parser rejects a malformed request (a control byte in a header, an over-long Authorization
header) with an exception whose message quotes the offending bytes, and its server logs that
at ERROR with the traceback: a scanner's garbage request would put ``Authorization: Basic
<AccountSid:AuthToken>`` and unmasked query strings in the log. So:

* a client's malformed request (an :class:`aiohttp.http_exceptions.HttpProcessingError`) is
  logged as one INFO line naming the error's type and status, without its message or traceback:
  it is the client's mistake, not the gateway's, and its text is the client's bytes;
* every other record's message and traceback text are passed through :func:`redact_text`,
  which removes credentials (``Authorization`` and cookie headers, Basic/Bearer values,
  ``AccountSid:AuthToken`` pairs), the gateway's callback tokens and the values of
  body-bearing parameters (``Body=``, ``AuthToken=``...).

Phone numbers are masked separately (:class:`gateway.observability.logs.MaskNumbers`), as the
operator may turn that off; this filter cannot be turned off.
"""

from __future__ import annotations

import logging
import re
import traceback

from aiohttp.http_exceptions import HttpProcessingError

_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-twilio-signature)"
    # to the end of the line, or of the quoted bytes (a repr writes the line end as \\r\\n)
    r"(\s*[:=]\s*|'\s*,\s*')(?:(?!\\r|\\n)[^\r\n'\"])*"
)
_SCHEME = re.compile(r"(?i)\b(basic|bearer|digest)(\s+|%20|\+)[A-Za-z0-9+/=._~%-]{4,}")
_CREDENTIAL_PAIR = re.compile(r"\b((?:AC|SK)[0-9a-fA-F]{32}):[^\s'\"@/]+")
# The gateway's callback tokens: v1.<payload>.<mac>; the payload names a legacy URL.
_TOKEN = re.compile(r"\bv1\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_SECRET_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9])(body|authtoken|auth_token|password|passwd|token|signature|"
    r"apikey|api_key|secret|mediaurl\d*)=[^&\s'\"]*"
)


def redact_text(text: str) -> str:
    """``text`` without credentials, callback tokens or secret-bearing parameter values."""
    if not text:
        return text
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    text = _SCHEME.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _CREDENTIAL_PAIR.sub(lambda m: f"{m.group(1)}:[redacted]", text)
    text = _TOKEN.sub("v1.[token]", text)
    return _SECRET_PARAM.sub(lambda m: m.group(0).split("=", 1)[0] + "=[redacted]", text)


def _client_error(record: logging.LogRecord) -> HttpProcessingError | None:
    exc = record.exc_info[1] if record.exc_info else None
    return exc if isinstance(exc, HttpProcessingError) else None


class Redact(logging.Filter):
    """Applies the rules above to every record that reaches the handler it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "masked", False):  # the access line: built from redacted parts
            return True
        bad_request = _client_error(record)
        if bad_request is not None:
            record.msg = "rejected a malformed request: %s (HTTP %s)"
            record.args = (type(bad_request).__name__, bad_request.code)
            if record.levelno > logging.INFO:  # aiohttp's DEBUG ones (a TLS hello) stay DEBUG
                record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            return True
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            text = record.exc_text or "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = redact_text(text.rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
