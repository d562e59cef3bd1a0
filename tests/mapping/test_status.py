"""Status mapping: every row of both tables, the unknown-status default, and the docs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.mapping.status import (
    STATUS_2008,
    STATUS_2010_SMS,
    UNKNOWN_STATUS,
    status_2008,
    status_2010_sms,
)

# The DESIGN.md decision, written out independently of the module's table.
EXPECTED_2008 = [
    ("accepted", "queued"),
    ("scheduled", "queued"),
    ("queued", "queued"),
    ("sending", "sending"),
    ("sent", "sent"),
    ("delivered", "sent"),
    ("read", "sent"),
    ("partially_delivered", "sent"),
    ("failed", "failed"),
    ("undelivered", "failed"),
    ("canceled", "failed"),
    ("receiving", "sending"),
    ("received", "sent"),
]
# The current API's message_enum_status (twilio-oai), which every table must cover.
CURRENT_STATUSES = {s for s, _ in EXPECTED_2008}


@pytest.mark.parametrize(("current", "legacy"), EXPECTED_2008)
def test_2008_row(current: str, legacy: str) -> None:
    assert status_2008(current) == legacy


@pytest.mark.parametrize(("current", "legacy"), EXPECTED_2008)
def test_2010_sms_row(current: str, legacy: str) -> None:
    expected = "received" if current == "received" else legacy
    assert status_2010_sms(current) == expected


def test_tables_cover_exactly_the_current_statuses() -> None:
    assert set(STATUS_2008) == CURRENT_STATUSES
    assert set(STATUS_2010_SMS) == CURRENT_STATUSES
    assert set(STATUS_2008.values()) == {"queued", "sending", "sent", "failed"}
    assert set(STATUS_2010_SMS.values()) == {"queued", "sending", "sent", "failed", "received"}


@pytest.mark.parametrize("raw", ["DELIVERED", " delivered ", "Delivered"])
def test_case_and_space_tolerant(raw: str) -> None:
    assert status_2008(raw) == "sent"


@pytest.mark.parametrize("unknown", ["", "teleported", "queued-ish", "délivré"])
def test_unknown_status_is_the_safe_default(unknown: str) -> None:
    assert UNKNOWN_STATUS == "sending"
    assert status_2008(unknown) == "sending"
    assert status_2010_sms(unknown) == "sending"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_status_maps_into_the_legacy_sets(raw: str) -> None:
    assert status_2008(raw) in {"queued", "sending", "sent", "failed"}
    assert status_2010_sms(raw) in {"queued", "sending", "sent", "failed", "received"}
