"""Fixtures of the adversarial tests: the callback tests' recording legacy app and gateway, the
reliability tests' gateway served with its client limits, and a captured log."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from gateway.observability.logs import configure_logging
from tests.callbacks.conftest import gateway, legacy, make_gateway
from tests.reliability.conftest import sandbox, serve_gateway

__all__ = ["captured_log", "gateway", "legacy", "make_gateway", "sandbox", "serve_gateway"]


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """Everything logged, by the gateway and the libraries, as the gateway configures logging
    (text format: the readable one is where a leak is easiest to miss)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", "text", True, stream)
    yield stream
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])
    logging.getLogger("aiohttp.access").disabled = False
