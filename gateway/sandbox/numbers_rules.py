"""Phone-number rules of the sandbox (pure): which To/From strings are acceptable, and their
E.164 form.

Like Twilio, the sandbox only rejects numbers that cannot exist (not *possible* for their
country, by phonenumbers' length rules), so that documentation examples such as
``555-867-5309`` (area code 555: possible but not valid) can be sent. Short codes (5-6 digits)
and, for From, alphanumeric sender IDs pass through unchanged.
"""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "US"


def _is_short_code(value: str) -> bool:
    return value.isascii() and value.isdigit() and 5 <= len(value) <= 6


def _is_alphanumeric_sender(value: str) -> bool:
    # Twilio: up to 11 characters, letters, digits and spaces, at least one letter.
    stripped = value.replace(" ", "")
    return (
        1 <= len(value) <= 11
        and value.isascii()
        and stripped.isalnum()
        and any(c.isalpha() for c in stripped)
    )


def normalize_number(value: str, *, allow_alphanumeric: bool = False) -> str | None:
    """E.164 (or the short code / sender ID itself) for an acceptable number, else None."""
    value = value.strip()
    if not value:
        return None
    if _is_short_code(value):
        return value
    if allow_alphanumeric and _is_alphanumeric_sender(value):
        return value
    try:
        parsed = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_filter(value: str) -> str:
    """A list filter's number in the form messages are stored in; unparseable filters stay as
    given (they then simply match nothing)."""
    return normalize_number(value, allow_alphanumeric=True) or value.strip()


def country_of(number: str) -> str:
    """ISO region of an E.164 number, '' when unknown (for the inbound geo fields)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.region_code_for_number(parsed) or ""
