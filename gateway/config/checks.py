"""The checks a loaded configuration must pass before anything is built from it: each field's
declared choices and bounds, the values whose form a bound cannot express (URLs, a time zone, a
region, the accounts file), and the rules between fields. The subsystems read settings and
never check them again.
"""

from __future__ import annotations

import re
from dataclasses import Field, fields
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from redis.asyncio.connection import parse_url

from gateway.callbacks.accounts import load_accounts
from gateway.config.settings import ConfigError, Settings
from gateway.console.settings import parse_date, sunset_date
from gateway.state.url import mask_url, scheme_of
from gateway.tls import TlsError, check_pair

# Shorter keys would make the callback tokens guessable; shorter console tokens, guessable too.
MIN_KEY_LENGTH = 16
# One SANDBOX_SEED entry: an AccountSid and a message count.
_SEED_PAIR = re.compile(r"AC[0-9a-fA-F]{32}:[0-9]{1,8}")


def _name(f: Field[Any]) -> str:
    return f"setting {f.name!r} ({f.metadata['env']})"


def _check_field(f: Field[Any], value: Any) -> None:
    meta = f.metadata
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{_name(f)}: {value!r} is not one of {', '.join(choices)}")
    low, high, above = meta.get("low"), meta.get("high"), meta.get("above")
    if above is not None and not value > above:
        raise ConfigError(f"{_name(f)}: {value} must be > {above:g}")
    if low is not None and high is not None and not low <= value <= high:
        raise ConfigError(f"{_name(f)}: {value} is not within {low:g}..{high:g}")
    if low is not None and high is None and value < low:
        raise ConfigError(f"{_name(f)}: {value} is not at least {low:g}")


def _check_forms(s: Settings) -> None:
    if not s.upstream_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"setting 'upstream_url' (GATEWAY_UPSTREAM_URL): {s.upstream_url!r} must start with "
            "http:// or https://"
        )
    _check_upstream_url(s.upstream_url)
    if s.legacy_timezone:
        try:
            ZoneInfo(s.legacy_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"setting 'legacy_timezone' (GATEWAY_LEGACY_TIMEZONE): unknown time zone "
                f"{s.legacy_timezone!r}"
            ) from None
    for part in filter(None, (p.strip() for p in s.sandbox_seed.split(","))):
        if not _SEED_PAIR.fullmatch(part):
            raise ConfigError(
                f"setting 'sandbox_seed' (SANDBOX_SEED): {part[:40]!r} is not AccountSid:count"
            )
    if s.default_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"setting 'default_region' (GATEWAY_DEFAULT_REGION): {s.default_region!r} is not a "
            "region phonenumbers knows"
        )
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
    if any(len(k) < MIN_KEY_LENGTH for k in s.signing_keys()):
        raise ConfigError(
            "setting 'callback_signing_key' (GATEWAY_CALLBACK_SIGNING_KEY): each key must be at "
            f"least {MIN_KEY_LENGTH} characters"
        )
    load_accounts(s.accounts_file, s.accounts)  # raises ConfigError naming the problem
    _check_state_url(s.state_url)


def _check_state_url(url: str) -> None:
    try:
        scheme = scheme_of(url)
        if scheme != "memory":
            # What the Redis client would reject only at the first call.
            if scheme == "unix" and not urlsplit(url).path:
                raise ValueError("unix:// needs the socket's path, e.g. unix:///run/redis.sock")
            parse_url(url)
    except ValueError as exc:
        # The client's messages quote a port or an option, never the password.
        raise ConfigError(
            f"setting 'state_url' (GATEWAY_STATE_URL): {mask_url(url)!r}: {exc}"
        ) from None


def _check_upstream_url(url: str) -> None:
    """An upstream URL with a path would be dropped by the gateway, which appends each
    request's own path: misleading 404s later rather than an error now."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"setting 'upstream_url' (GATEWAY_UPSTREAM_URL): {url!r}: {exc}") from None
    if not parts.hostname:
        raise ConfigError(f"setting 'upstream_url' (GATEWAY_UPSTREAM_URL): {url!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"setting 'upstream_url' (GATEWAY_UPSTREAM_URL): {url!r} has a path, query or "
            "fragment; give scheme://host[:port] only (the gateway appends each request's own "
            "path, e.g. /2010-04-01/Accounts/...)"
        )


def _check_tls(s: Settings) -> None:
    """A TLS pair that is half given, missing, unreadable or mismatched fails at start, not at
    the first handshake."""
    if bool(s.tls_cert) != bool(s.tls_key):
        raise ConfigError(
            "settings 'tls_cert' (GATEWAY_TLS_CERT) and 'tls_key' (GATEWAY_TLS_KEY) go together: "
            "give both or neither"
        )
    if s.tls_cert:
        try:
            check_pair(s.tls_cert, s.tls_key)
        except TlsError as exc:
            raise ConfigError(
                f"settings 'tls_cert' (GATEWAY_TLS_CERT) and 'tls_key' (GATEWAY_TLS_KEY): {exc}"
            ) from None


def _check_between(s: Settings) -> None:
    if s.public_url and not s.signing_keys():
        raise ConfigError(
            "setting 'callback_signing_key' (GATEWAY_CALLBACK_SIGNING_KEY) is required when "
            "'public_url' (GATEWAY_PUBLIC_URL) is set: it signs the callback URLs given to "
            "Twilio"
        )
    if s.metrics_port and s.metrics_port == s.port:
        raise ConfigError(
            f"setting 'metrics_port' (GATEWAY_METRICS_PORT): {s.metrics_port} is also the main "
            "port; use 0 to serve /metrics on the main port only"
        )
    if not s.drain_delay < s.drain_timeout:
        raise ConfigError(
            f"setting 'drain_delay' (GATEWAY_DRAIN_DELAY): {s.drain_delay} must be >= 0 and "
            f"less than drain_timeout ({s.drain_timeout})"
        )


def check(s: Settings) -> None:
    """Raise :class:`ConfigError`, naming the setting, for the first value the gateway cannot
    run with."""
    for f in fields(s):
        _check_field(f, getattr(s, f.name))
    _check_forms(s)
    _check_tls(s)
    _check_between(s)
    _check_console(s)


def _check_console(s: Settings) -> None:
    if s.console_token and len(s.console_token) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"setting 'console_token' (GATEWAY_CONSOLE_TOKEN) must be at least "
            f"{MIN_KEY_LENGTH} characters"
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
    if s.console_on_ops_port and not s.metrics_port:
        raise ConfigError(
            "setting 'console_on_ops_port' (GATEWAY_CONSOLE_ON_OPS_PORT) needs --metrics-port"
        )
