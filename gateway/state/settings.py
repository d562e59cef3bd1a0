"""The shared-state settings: their validation, and the warning for a store that is not shared."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from redis.asyncio.connection import parse_url

from gateway.config import ConfigError, Settings
from gateway.state.url import mask_url, scheme_of


def validate_state_settings(s: Settings) -> None:
    try:
        scheme = scheme_of(s.state_url)
        if scheme != "memory":
            # What the client would reject only when the first call is made.
            if scheme == "unix" and not urlsplit(s.state_url).path:
                raise ValueError("unix:// needs the socket's path, e.g. unix:///run/redis.sock")
            parse_url(s.state_url)
    except ValueError as exc:
        # The client's messages quote a port or an option, never the password.
        raise ConfigError(
            f"setting 'state_url' (GATEWAY_STATE_URL): {mask_url(s.state_url)!r}: {exc}"
        ) from None
    if not s.state_timeout > 0:
        raise ConfigError(
            f"setting 'state_timeout' (GATEWAY_STATE_TIMEOUT): {s.state_timeout} must be > 0"
        )


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
