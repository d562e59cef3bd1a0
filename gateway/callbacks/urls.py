"""Which legacy URLs the gateway may call, and the gateway's own callback URLs (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from gateway.destination_policy import DestinationRefused, check_host

STATUS_PATH = "/callbacks/status/"
ACTION_PATH = "/callbacks/action/"
INBOUND_PATH = "/callbacks/inbound/"


class UrlRefused(ValueError):
    """A legacy URL the gateway will not call."""


def parse_allowed_hosts(text: str) -> tuple[str, ...]:
    return tuple(h.strip().lower().rstrip(".") for h in text.split(",") if h.strip())


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Empty allow-list: any host. ``*.example.com`` matches subdomains, not the apex."""
    if not allowed:
        return True
    host = host.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def check_legacy_url(url: str, allowed: Sequence[str], *, allow_private: bool = False) -> None:
    """Raise UrlRefused unless ``url`` is an absolute http(s) URL on an allowed host whose
    host is no refused address literal nor localhost (:mod:`gateway.destination_policy`; names are
    checked again on their resolved addresses when called)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        # the URL itself stays out: the message is logged, and a URL may carry user:password@
        raise UrlRefused("callback URLs must be well-formed URLs") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("callback URLs must be absolute http:// or https:// URLs")
    if parts.username or parts.password:
        # Credentials in a callback URL would end up in tokens and logs.
        raise UrlRefused("callback URLs must not carry credentials")
    if not host_allowed(parts.hostname, allowed):
        raise UrlRefused(f"host {parts.hostname!r} is not in the callback allow-list")
    try:
        check_host(parts.hostname, allow_private)
    except DestinationRefused as exc:
        raise UrlRefused(f"callback URLs must not point at internal addresses ({exc})") from None


def gateway_url(public_url: str, path: str, token: str) -> str:
    return public_url.rstrip("/") + path + token
