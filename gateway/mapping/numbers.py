"""Phone numbers in (any legacy spelling -> E.164) and out (E.164 -> the 2008 rendering).

In: legacy clients were told Twilio accepts "pretty much anything" -- ``(415) 555-1212``,
``415-555-1212``, a leading ``1`` or ``+1``, ``+44 ...`` for abroad, short codes. phonenumbers
reads them with a default region. Every *possible* number is accepted, not only *valid* ones:
the 2008 docs' own example (``555-867-5309``) is possible but not valid, and real validity is
upstream's business.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final, Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from gateway.model import ApiError

INVALID_TO: Final = 21211
INVALID_FROM: Final = 21212

# Longer input is no phone number; refusing it early also keeps junk out of the cache.
MAX_INPUT: Final = 64

Field = Literal["To", "From"]


def is_short_code(raw: str) -> bool:
    """5-6 ASCII digits: a short code, which no region's numbering plan describes."""
    text = raw.strip()
    return 5 <= len(text) <= 6 and text.isascii() and text.isdigit()


@lru_cache(maxsize=8192)
def normalise(raw: str, region: str) -> str | None:
    """A number as a legacy client wrote it -> E.164 (or the short code itself); None when it
    cannot be a phone number. Cached: the same few numbers recur on every request."""
    text = raw.strip()
    if not text or len(text) > MAX_INPUT:
        return None
    if is_short_code(text):
        return text
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except NumberParseException:
        return None
    # IS_POSSIBLE_LOCAL_ONLY (e.g. 555-1212, no area code) cannot be dialled from elsewhere.
    if phonenumbers.is_possible_number_with_reason(parsed) != ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def parse_number(raw: str, region: str, field: Field) -> str:
    """Like :func:`normalise`, but an unusable number is the legacy error for its field:
    21211 for To, 21212 for From."""
    number = normalise(raw, region)
    if number is None:
        code = INVALID_TO if field == "To" else INVALID_FROM
        shown = raw.strip()[:MAX_INPUT]
        raise ApiError(400, f"The '{field}' number {shown} is not a valid phone number.", code)
    return number


def render_2008(number: str, number_format: str = "national", as_sent: str | None = None) -> str:
    """A canonical number -> how the 2008 dialect shows it.

    ``national``: North American (+1) numbers as their 10 digits, as the 2008 docs showed them
    (``5558675309``); everything else unchanged (E.164, short codes). ``e164``: unchanged.
    ``as-sent``: the string the client sent when the gateway saw it (a send's own response),
    otherwise ``national``."""
    if number_format == "e164":
        return number
    if number_format == "as-sent" and as_sent is not None:
        return as_sent
    digits = number[2:]
    if len(number) == 12 and number.startswith("+1") and digits.isascii() and digits.isdigit():
        return digits
    return number
