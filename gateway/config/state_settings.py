"""The shared-state settings (issue 17), a section of :class:`gateway.config.settings.Settings`
declared apart so that no module passes 400 lines."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.option import opt as _opt
from gateway.state.url import mask_url


@dataclass(frozen=True)
class StateSettings:
    # --- shared state (issue 17) ------------------------------------------------------------
    state_url: str = _opt(
        "memory://", "GATEWAY_STATE_URL",
        "Where state shared by processes and replicas lives: memory:// (this process only) or "
        "redis://[:password@]host:port/db, rediss:// (TLS), unix:///path?db=0 "
        "(docs/deployment.md).",
        mask=mask_url,
    )
    state_key_prefix: str = _opt(
        "sms-gateway:", "GATEWAY_STATE_KEY_PREFIX", "Prefix of every key in the state store."
    )
    state_timeout: float = _opt(
        0.5, "GATEWAY_STATE_TIMEOUT", "Seconds one state store call may take.", above=0
    )
    callback_store_down: str = _opt(
        "retry-later", "GATEWAY_CALLBACK_STORE_DOWN",
        "While the state store is down: 'retry-later' answers Twilio's status callbacks 503 "
        "(no duplicate), 'relay' relays them (a duplicate is possible; docs/callbacks.md).",
        choices=("retry-later", "relay"),
    )
