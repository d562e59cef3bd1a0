"""docs/mapping.md states the tables the code uses: each documented row is checked here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.mapping.flags import flags_2008
from gateway.mapping.numbers import normalise, render_2008
from gateway.mapping.status import STATUS_2008, status_2008, status_2010_sms

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mapping.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end != -1 else None]


def _rows(title: str) -> list[list[str]]:
    """The table rows of a section (header and rule skipped), cells stripped of backticks."""
    rows = []
    for line in _section(title).splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([c.replace("`", "").strip() for c in line.strip("|").split("|")])
    return rows[1:]


STATUS_ROWS = _rows("Status")
FLAG_ROWS = _rows("Flags")


def test_status_table_lists_every_code_row() -> None:
    documented = {r[0] for r in STATUS_ROWS if r[0] != "anything else"}
    assert documented == set(STATUS_2008)


@pytest.mark.parametrize("row", STATUS_ROWS, ids=[r[0] for r in STATUS_ROWS])
def test_status_row(row: list[str]) -> None:
    current, legacy_2008, legacy_2010 = row
    probe = "some-future-status" if current == "anything else" else current
    assert status_2008(probe) == legacy_2008
    assert status_2010_sms(probe) == legacy_2010


@pytest.mark.parametrize("row", FLAG_ROWS, ids=[r[0] for r in FLAG_ROWS])
def test_flags_row(row: list[str]) -> None:
    direction, flags = row
    if direction == "outbound-call":
        assert "outbound_call_flags" in flags and flags_2008(direction) == 0
        assert flags_2008(direction, 4) == 4
    elif direction == "anything else":
        assert flags_2008("sideways") == int(flags)
    else:
        assert flags_2008(direction) == int(flags)


NUMBER_IN_ROWS = _rows("Numbers in")


@pytest.mark.parametrize("row", NUMBER_IN_ROWS, ids=[r[0] for r in NUMBER_IN_ROWS])
def test_numbers_in_row(row: list[str]) -> None:
    sent, forwarded = row[0], row[1]
    for raw in re.findall(r"[^`,]+", sent):
        raw = raw.strip()
        if not raw:
            continue
        if forwarded == "unchanged":
            assert normalise(raw, "US") == raw
        elif forwarded.startswith("400"):
            assert normalise(raw, "US") is None
        else:
            assert normalise(raw, "US") == forwarded


def test_numbers_out_rows() -> None:
    rows = {r[0].split()[0]: r[1:] for r in _rows("Numbers out")}
    for fmt in ("national", "e164"):
        shown = rows[fmt]
        assert [render_2008(n, fmt) for n in ("+15558675309", "+442079460958", "12345")] == shown
    assert render_2008("+15558675309", "as-sent", "555-867-5309") == "555-867-5309"
    assert render_2008("+15558675309", "as-sent", None) == rows["national"][0]


def test_settings_named_in_the_doc_exist() -> None:
    from gateway.config import setting_fields

    by_name = {f.name: f.metadata["env"] for f in setting_fields()}
    for name, env in re.findall(r"^\| `(\w+)` \| `(GATEWAY_\w+)` \|", DOC, re.MULTILINE):
        assert by_name[name] == env
