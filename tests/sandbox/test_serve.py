"""`sms-gateway sandbox`: the sandbox as a process of its own."""

from __future__ import annotations

import asyncio
import gc

import pytest

from gateway import server
from gateway.config import Settings


async def test_the_sandbox_alone_freezes_what_it_started_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Frozen objects are never scanned again (docs/sandbox.md "Performance"); the real freeze
    # would also freeze the test process.
    frozen = asyncio.Event()
    monkeypatch.setattr(gc, "freeze", frozen.set)
    serving = asyncio.create_task(server.serve_sandbox(Settings(port=0)))
    await asyncio.wait_for(frozen.wait(), 10)
    assert not serving.done()  # frozen once started, and serving on
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving
