"""How many SMS segments a body takes: GSM-7 (160, or 153 per part) or UCS-2 (70, or 67)."""

from __future__ import annotations

# GSM 03.38 basic character set (one septet each).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus itself.
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def _gsm_units(body: str) -> list[int] | None:
    """Septets per character, or None when the body needs UCS-2."""
    units: list[int] = []
    for ch in body:
        if ch in _GSM_BASIC:
            units.append(1)
        elif ch in _GSM_EXTENDED:
            units.append(2)
        else:
            return None
    return units


def _ucs2_units(body: str) -> list[int]:
    # Characters outside the BMP take a surrogate pair: two UTF-16 code units.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in body]


def _count(units: list[int], single: int, part: int) -> int:
    if sum(units) <= single:
        return 1
    # Parts never split an escape sequence or a surrogate pair, so fill greedily per character.
    parts, used = 1, 0
    for u in units:
        if used + u > part:
            parts += 1
            used = 0
        used += u
    return parts


def encoding(body: str) -> str:
    return "GSM-7" if _gsm_units(body) is not None else "UCS-2"


def num_segments(body: str) -> int:
    gsm = _gsm_units(body)
    if gsm is not None:
        return _count(gsm, GSM_SINGLE, GSM_PART)
    return _count(_ucs2_units(body), UCS2_SINGLE, UCS2_PART)
