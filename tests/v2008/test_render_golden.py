"""The optimised 2008 rendering writes the very bytes the original code wrote (golden.json was
generated before the optimisations), and its caches do not leak one case into another."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.dialects.v2008 import render
from gateway.mapping import dates
from tests.v2008 import golden_cases as cases

GOLDEN: dict[str, str] = json.loads(cases.GOLDEN.read_text())


def test_golden_covers_every_case() -> None:
    assert set(cases.renderings()) == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_rendering_is_byte_identical(name: str) -> None:
    assert cases.renderings()[name] == GOLDEN[name], base64.b64decode(GOLDEN[name])[:300]


def test_repeated_renders_are_identical_and_independent() -> None:
    # Templates are copied, never shared: rendering twice gives two equal, separate documents.
    first = cases.renderings()
    assert cases.renderings() == first


def test_legacy_dates_are_cached_per_zone() -> None:
    when = dates.parse_rfc2822("Mon, 06 Jul 2009 17:06:25 +0000")
    gmt = dates.format_legacy(when)
    before = dates.format_legacy.cache_info().hits
    assert dates.format_legacy(when) == gmt == "Mon, 06 Jul 2009 17:06:25 +0000"
    assert dates.format_legacy.cache_info().hits == before + 1
    assert dates.format_legacy(when, "America/Los_Angeles") == "Mon, 06 Jul 2009 10:06:25 -0700"


@pytest.mark.parametrize("text", [
    "plain", "", "tab\tnl\ncr\r", "caf\u00e9 \U0001f600", "\x00\x1f\x7f", "\ud800", "\ufffe\uffff",
])
def test_xml_safe_fast_path_agrees_with_the_rule(text: str) -> None:
    assert render.xml_safe(text) == render._XML_FORBIDDEN.sub(render.REPLACEMENT, text)
