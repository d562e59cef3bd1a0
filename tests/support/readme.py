"""What README.md claims about the test suite, read back so the suite can check it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_CLAIM = re.compile(r"about ([\d,]+) tests, under (\d+) minutes")


@dataclass(frozen=True, slots=True)
class SuiteClaim:
    tests: int
    minutes: int


def suite_claim(text: str | None = None) -> SuiteClaim:
    """The README's "about N tests, under M minutes" (ValueError if the sentence is gone)."""
    found = _CLAIM.search(README.read_text(encoding="utf-8") if text is None else text)
    if found is None:
        raise ValueError("README.md no longer says 'about N tests, under M minutes'")
    return SuiteClaim(int(found.group(1).replace(",", "")), int(found.group(2)))
