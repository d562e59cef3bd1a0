"""Fixtures of the adversarial tests: the callback tests' recording legacy app and gateway, the
reliability tests' gateway served with its client limits, and a captured log."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from tests.callbacks.conftest import gateway, legacy, make_gateway
from tests.reliability.conftest import sandbox, serve_gateway
from tests.support.logcapture import captured_logging

__all__ = ["captured_log", "gateway", "legacy", "make_gateway", "sandbox", "serve_gateway"]


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """Everything logged, by the gateway and the libraries, as the gateway configures logging
    (text format: the readable one is where a leak is easiest to miss)."""
    with captured_logging("text") as stream:
        yield stream
