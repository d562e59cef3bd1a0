"""Room for health probes when the client connection cap is reached.

Connections beyond ``max_client_connections`` used to be closed at once, probes' included, so
a gateway saturated by clients looked dead to its orchestrator and got restarted, making things
worse. A few connections beyond the cap (:data:`PROBE_SLOTS`) are now accepted on probation:
their first request line is read, and only a ``GET`` (or ``HEAD``) of /healthz or /readyz is
let through, as the only request on that connection; anything else is closed unanswered, as
every connection beyond the cap was before.
"""

from __future__ import annotations

import re

PROBE_SLOTS = 8
# The most bytes of a probe's request head; a probe's head is a few hundred bytes.
MAX_PROBE_HEAD = 4096
_PROBE_LINE = re.compile(rb"(GET|HEAD) /(healthz|readyz)(\?[^ ]*)? HTTP/1\.[01]\r\n")


class ProbeGate:
    """Decides, from the first bytes of a connection on probation, whether it is a probe."""

    def __init__(self) -> None:
        self._buffer = b""
        self.passed = False

    def feed(self, data: bytes) -> bytes | None:
        """Bytes to hand to the server now (possibly empty while the head is incomplete), or
        None to close the connection: not a probe, an over-long head, or a second request."""
        if self.passed:
            return None if data else b""
        self._buffer += data
        head_end = self._buffer.find(b"\r\n\r\n")
        line_end = self._buffer.find(b"\r\n")
        if line_end >= 0 and not _PROBE_LINE.match(self._buffer[: line_end + 2]):
            return None
        if head_end < 0:
            return None if len(self._buffer) > MAX_PROBE_HEAD else b""
        if head_end + 4 != len(self._buffer):  # a body or a pipelined request: not a probe
            return None
        self.passed = True
        head, self._buffer = self._buffer, b""
        return head
