"""The access line's cheaper writing keeps its bytes' meaning: the shared per-second timestamp
prefix gives exactly what datetime wrote, and orjson's line reads back as json's did, including
what orjson itself refuses (a lone surrogate), which falls back to json; and the access line
written straight to the configured handler is the line the formatter writes, taken only while
the logging setup is the gateway's own."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from gateway.observability.logs import (
    ACCESS_LOGGER,
    JsonFormatter,
    _timestamp,
    configure_logging,
    write_access_line,
)


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


# --- the access line's direct path ---------------------------------------------------------


@contextmanager
def gateway_logging(fmt: str = "json") -> Iterator[io.StringIO]:
    """configure_logging's setup alone on the root logger, as in the gateway process: pytest
    adds its capture handlers for every test phase, and they would take the usual path."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("INFO", fmt, True, stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("aiohttp.access").disabled = False


ACCESS: dict[str, object] = {
    "request_id": "r1", "method": "GET", "path": "/2008-08-01/x/SMS/Messages", "query": "",
    "status": 200, "duration_ms": 1.25, "twilio_code": None, "upstream_requests": 1,
}


def test_the_direct_line_is_the_formatter_line() -> None:
    msg = "GET /2008-08-01/x/SMS/Messages 200"
    with gateway_logging() as stream:
        assert write_access_line(logging.INFO, msg, ACCESS, True)
    direct = json.loads(stream.getvalue())
    record = logging.getLogger(ACCESS_LOGGER).makeRecord(
        ACCESS_LOGGER, logging.INFO, "", 0, msg, (), None, extra={"access": ACCESS})
    record.created = datetime.fromisoformat(str(direct["ts"])).timestamp()
    assert stream.getvalue() == JsonFormatter().format(record) + "\n"
    assert list(direct) == ["ts", "level", "logger", "msg", "pid", *ACCESS]


def test_any_other_logging_setup_takes_the_usual_path() -> None:
    root, access = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    extra = logging.StreamHandler(io.StringIO())
    with gateway_logging() as stream:
        for add, remove in [(root.addHandler, root.removeHandler),
                            (access.addHandler, access.removeHandler),
                            (access.addFilter, access.removeFilter)]:
            thing = extra if add != access.addFilter else logging.Filter("x")
            add(thing)  # type: ignore[arg-type]
            try:
                assert not write_access_line(logging.INFO, "m", ACCESS, True)
            finally:
                remove(thing)  # type: ignore[arg-type]
        # An unmasked line must meet the masking filter; a DEBUG line a handler above DEBUG.
        assert not write_access_line(logging.INFO, "m", ACCESS, False)
        root.handlers[0].setLevel(logging.INFO)
        assert not write_access_line(logging.DEBUG, "m", ACCESS, True)
        assert write_access_line(logging.INFO, "m", ACCESS, True)  # the setup, untouched
    assert len(stream.getvalue().splitlines()) == 1


def test_text_logs_take_the_usual_path() -> None:
    with gateway_logging("text"):
        assert not write_access_line(logging.INFO, "m", ACCESS, True)
