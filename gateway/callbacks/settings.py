"""The callback settings as the callback code uses them, and their validation."""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.callbacks.accounts import load_accounts
from gateway.callbacks.urls import parse_allowed_hosts
from gateway.config import ConfigError, Settings

MIN_KEY_LENGTH = 16


def signing_keys(settings: Settings) -> tuple[str, ...]:
    return tuple(k.strip() for k in settings.callback_signing_key.split(",") if k.strip())


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    return parse_allowed_hosts(settings.callback_allowed_hosts)


def validate_callback_settings(s: Settings) -> None:
    if s.public_url:
        try:
            parts = urlsplit(s.public_url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            parts = urlsplit("")  # reported below with the other malformed URLs
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ConfigError(
                f"setting 'public_url' (GATEWAY_PUBLIC_URL): {s.public_url!r} must be an "
                "http:// or https:// URL without a query"
            )
        if not signing_keys(s):
            raise ConfigError(
                "setting 'callback_signing_key' (GATEWAY_CALLBACK_SIGNING_KEY) is required when "
                "'public_url' (GATEWAY_PUBLIC_URL) is set: it signs the callback URLs given to "
                "Twilio"
            )
    if any(len(k) < MIN_KEY_LENGTH for k in signing_keys(s)):
        raise ConfigError(
            "setting 'callback_signing_key' (GATEWAY_CALLBACK_SIGNING_KEY): each key must be at "
            f"least {MIN_KEY_LENGTH} characters"
        )
    if s.callback_timeout <= 0:
        raise ConfigError("setting 'callback_timeout' (GATEWAY_CALLBACK_TIMEOUT) must be > 0")
    for name in ("callback_max_body", "callback_dedup_size"):
        if getattr(s, name) < 1:
            raise ConfigError(f"setting {name!r} must be at least 1")
    if s.callback_dedup_ttl <= 0 or s.callback_token_max_age < 0:
        raise ConfigError(
            "settings 'callback_dedup_ttl' must be > 0 and 'callback_token_max_age' >= 0"
        )
    load_accounts(s.accounts_file, s.accounts)  # raises ConfigError naming the problem
