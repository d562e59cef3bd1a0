"""Validation of the reliability settings: upstream retry budgets and client limits."""

from __future__ import annotations

from dataclasses import fields

from gateway.config import ConfigError, Settings

_NON_NEGATIVE = (
    "upstream_retries",
    "upstream_backoff_base",
    "upstream_backoff_max",
    "upstream_retry_after_max",
    "upstream_read_timeout",
)
_POSITIVE = (
    "upstream_max_response_bytes",
    "max_request_body",
    "max_header_size",
    "client_timeout",
    "max_client_connections",
)


def validate_limit_settings(s: Settings) -> None:
    env = {f.name: f.metadata["env"] for f in fields(Settings)}
    for name in _NON_NEGATIVE + _POSITIVE:
        value = getattr(s, name)
        if value < 0 or (value == 0 and name in _POSITIVE):
            bound = ">= 0" if name in _NON_NEGATIVE else "> 0"
            raise ConfigError(f"setting {name!r} ({env[name]}): {value} must be {bound}")
