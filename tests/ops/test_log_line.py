"""The access line's cheaper writing keeps its bytes' meaning: the shared per-second timestamp
prefix gives exactly what datetime wrote, and orjson's line reads back as json's did, including
what orjson itself refuses (a lone surrogate), which falls back to json."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from gateway.observability.logs import JsonFormatter, _timestamp


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False))
def test_timestamp_is_what_datetime_writes(created: float) -> None:
    assert _timestamp(created) == datetime.fromtimestamp(created, UTC).isoformat(
        timespec="milliseconds"
    )


def test_timestamp_rounds_across_the_second_like_datetime() -> None:
    for created in (1700000000.9999996, 1700000000.9995, 0.0000004, 1.0000005):
        assert _timestamp(created) == datetime.fromtimestamp(created, UTC).isoformat(
            timespec="milliseconds"
        )


def _record(access: dict[str, object]) -> logging.LogRecord:
    return logging.getLogger("gateway.access").makeRecord(
        "gateway.access", logging.INFO, "", 0, "%s %s %d", ("GET", str(access["path"]), 200),
        None, extra={"access": access},
    )


def _as_json_wrote_it(record: logging.LogRecord, access: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": "info", "logger": "gateway.access", "msg": record.getMessage(),
        "pid": record.process, **access,
    }
    return json.loads(json.dumps(out, default=str, separators=(",", ":")))


def test_access_line_reads_back_as_before() -> None:
    access: dict[str, object] = {
        "request_id": "r1", "method": "GET", "path": "/2008-08-01/Accounts/x/SMS/Messages/é",
        "query": "?To=+1415***1212", "status": 200, "duration_ms": 1.25, "dialect": "v2008",
        "twilio_code": None, "upstream_ms": 0.5, "upstream_requests": 1,
        "when": datetime(2009, 7, 6, tzinfo=UTC),  # default=str, as json wrote it
    }
    record = _record(access)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) == _as_json_wrote_it(record, access)


def test_a_lone_surrogate_still_makes_a_line() -> None:
    access: dict[str, object] = {"path": "/2008-08-01/x\udcff", "status": 404}
    record = _record(access)
    line = JsonFormatter().format(record)
    assert json.loads(line) == _as_json_wrote_it(record, access)
