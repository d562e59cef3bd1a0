"""The console's settings as its code uses them, and their validation
(:func:`gateway.config._validate` calls :func:`validate_console_settings`)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from gateway.config.settings import ConfigError, Settings

MAX_RETENTION_DAYS = 400
MIN_TOKEN_LENGTH = 16
# Below this the flush would be a store round trip per burst of requests.
MIN_FLUSH_INTERVAL = 0.05


def parse_date(name: str, env: str, text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"setting {name!r} ({env}): {text!r} is not a date YYYY-MM-DD") from None


def sunset_date(s: Settings) -> date | None:
    return parse_date("sunset", "GATEWAY_SUNSET", s.sunset)


def validate_console_settings(s: Settings) -> None:
    if s.console_token and len(s.console_token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"setting 'console_token' (GATEWAY_CONSOLE_TOKEN) must be at least "
            f"{MIN_TOKEN_LENGTH} characters"
        )
    sunset = sunset_date(s)
    deprecation = parse_date("deprecation_date", "GATEWAY_DEPRECATION_DATE", s.deprecation_date)
    if sunset and deprecation and deprecation > sunset:
        raise ConfigError(
            "setting 'deprecation_date' (GATEWAY_DEPRECATION_DATE) is after 'sunset' "
            "(RFC 9745: a resource is deprecated no later than its sunset)"
        )
    link = urlsplit(s.sunset_link)
    if link.scheme not in ("http", "https") or not link.hostname:
        raise ConfigError(
            f"setting 'sunset_link' (GATEWAY_SUNSET_LINK): {s.sunset_link!r} is not an "
            "http(s) URL"
        )
    if s.ledger_flush_interval < MIN_FLUSH_INTERVAL:
        raise ConfigError(
            "setting 'ledger_flush_interval' (GATEWAY_LEDGER_FLUSH_INTERVAL): "
            f"{s.ledger_flush_interval} is below {MIN_FLUSH_INTERVAL}"
        )
    if not 1 <= s.ledger_retention_days <= MAX_RETENTION_DAYS:
        raise ConfigError(
            "setting 'ledger_retention_days' (GATEWAY_LEDGER_RETENTION_DAYS): "
            f"{s.ledger_retention_days} is not within 1..{MAX_RETENTION_DAYS}"
        )
    for name, env in (
        ("ledger_max_accounts", "GATEWAY_LEDGER_MAX_ACCOUNTS"),
        ("ledger_max_clients", "GATEWAY_LEDGER_MAX_CLIENTS"),
    ):
        if getattr(s, name) < 1:
            raise ConfigError(f"setting {name!r} ({env}): {getattr(s, name)} must be at least 1")
    if s.console_on_ops_port and not s.metrics_port:
        raise ConfigError(
            "setting 'console_on_ops_port' (GATEWAY_CONSOLE_ON_OPS_PORT) needs --metrics-port"
        )
