"""Basic credentials decoded once per header: the same header gives the same Credentials, and
every header is still judged on its own (missing, garbled, half-empty, latin-1)."""

from __future__ import annotations

import base64

import pytest

from gateway.dialects.params import decode_basic
from gateway.model import Credentials


def header(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode("ascii")


def test_the_same_header_is_decoded_once() -> None:
    first = decode_basic(header(b"AC123:token"))
    assert first == Credentials("AC123", "token")
    assert decode_basic(header(b"AC123:token")) is first
    assert decode_basic(header(b"AC123:other")) == Credentials("AC123", "other")


@pytest.mark.parametrize(
    "value",
    ["", "Basic", "Basic !!!not-base64", "Bearer abc", header(b"no-colon"), header(b":token"),
     header(b"AC123:")],
)
def test_unusable_headers_give_no_credentials(value: str) -> None:
    assert decode_basic(value) is None


def test_latin1_credentials_still_read() -> None:
    assert decode_basic(header("AC123:pässwörd".encode("latin-1"))) == Credentials(
        "AC123", "pässwörd"
    )
