"""The shared-state settings (issue 17), a section of :class:`gateway.config.settings.Settings`
declared apart so that no module passes 400 lines."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.option import _opt
from gateway.state.url import mask_url


@dataclass(frozen=True)
class StateSettings:
    # --- shared state (issue 17) ------------------------------------------------------------
    state_url: str = _opt(
        "memory://",
        "GATEWAY_STATE_URL",
        "Where state shared by the gateway's processes and replicas lives (which messages were "
        "reported to their legacy StatusCallback): 'memory://' (this process only; right for "
        "one replica with one worker), or Redis/Valkey as redis://[:password@]host:port/db, "
        "rediss://... (TLS) or unix:///path/to/socket?db=0. See docs/deployment.md.",
        mask=mask_url,
    )
    state_key_prefix: str = _opt(
        "sms-gateway:",
        "GATEWAY_STATE_KEY_PREFIX",
        "Prefix of every key the gateway writes in the state store (several gateways, or other "
        "users, can share one Redis database).",
    )
    state_timeout: float = _opt(
        0.5,
        "GATEWAY_STATE_TIMEOUT",
        "Seconds one state store call (connecting included) may take before the store counts "
        "as unavailable for that call.",
    )
    callback_store_down: str = _opt(
        "retry-later",
        "GATEWAY_CALLBACK_STORE_DOWN",
        "What the status-callback relay does while the state store is unavailable: "
        "'retry-later' answers Twilio 503 so the event comes again later (no duplicate; the "
        "safe default), 'relay' calls the legacy app anyway, remembering the message in this "
        "process only (a duplicate is possible if another replica gets another event of it).",
        choices=("retry-later", "relay"),
    )
