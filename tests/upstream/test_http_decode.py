"""Upstream answers decode to exactly what the stdlib json module reads, orjson or not."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.upstream.http import decode_json

# Within 64 bits: orjson reads a larger integer as a float (json as an int). Twilio's integers
# (error codes, counts) are far smaller; test_huge_integer_is_still_a_number pins the rest.
INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
JSON = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_decode_agrees_with_json(value: object) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert decode_json(raw) == json.loads(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'"\\ud800"', "\ud800"),  # a lone surrogate: orjson refuses it, json reads it
        (b"1e999", float("inf")),
        (b"", None),
        (b"{", None),
        (b"\xff\xfe", None),
        (b"[1,]", None),
    ],
)
def test_decode_edge_cases(raw: bytes, expected: object) -> None:
    assert decode_json(raw) == expected


def test_huge_integer_is_still_a_number() -> None:
    assert decode_json(b"-9223372036854775809") == pytest.approx(-9223372036854775809)
