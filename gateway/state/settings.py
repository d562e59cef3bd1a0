"""The shared-state settings as the gateway uses them: whether the store is shared, and the
warning for several workers on one that is not. (Their checks are in gateway/config/checks.py.)"""

from __future__ import annotations

import logging

from gateway.config import Settings
from gateway.state.url import scheme_of


def is_shared(s: Settings) -> bool:
    return scheme_of(s.state_url) != "memory"


def warn_if_unshared(s: Settings, log: logging.Logger) -> None:
    """Several workers on ``memory://`` each keep their own state: say what that costs."""
    if s.workers > 1 and not is_shared(s):
        log.warning(
            "%d workers with --state-url memory://: each worker keeps its own state, so a "
            "legacy StatusCallback may be relayed more than once (once per worker that gets one "
            "of the message's events) and paging state (cursors, totals) is per worker; set "
            "--state-url redis://... to share it",
            s.workers,
        )
