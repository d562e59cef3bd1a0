"""Direction -> 2008 Flags: every row, the outbound-call setting, unknown directions."""

from __future__ import annotations

import pytest

from gateway.mapping.flags import FLAGS_2008, UNKNOWN_FLAGS, flags_2008


@pytest.mark.parametrize(
    ("direction", "flags"),
    [("inbound", 1), ("outbound-reply", 2), ("outbound-api", 4), ("outbound-call", 0)],
)
def test_row(direction: str, flags: int) -> None:
    assert flags_2008(direction) == flags


def test_table_is_the_documented_bits() -> None:
    assert dict(FLAGS_2008) == {"inbound": 1, "outbound-reply": 2, "outbound-api": 4}


@pytest.mark.parametrize("configured", [0, 4, 2, 8])
def test_outbound_call_follows_the_setting(configured: int) -> None:
    assert flags_2008("outbound-call", configured) == configured
    assert flags_2008("outbound-api", configured) == 4  # other rows are not affected


@pytest.mark.parametrize("direction", ["", "sideways", "INBOUND-ish"])
def test_unknown_direction_claims_no_bit(direction: str) -> None:
    assert UNKNOWN_FLAGS == 0
    assert flags_2008(direction) == 0


def test_case_tolerant() -> None:
    assert flags_2008("Inbound") == 1
