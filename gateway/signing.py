"""Twilio request signatures (``X-Twilio-Signature``).

HMAC-SHA1 keyed with the account's auth token over the full URL, then every POST parameter in
sorted name order as name + value (the values of a repeated name sorted too), base64-encoded.
Validators accept the URL with or without the scheme's default port. This is the algorithm of
twilio-python's ``RequestValidator``; tests check it against that class independently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    return sorted((str(k), str(v)) for k, v in items)


def compute_signature(auth_token: str, url: str, params: Params | None = None) -> str:
    payload = url + "".join(k + v for k, v in _pairs(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if default is None or parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = userinfo + "@" if userinfo else ""
    if parts.port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return variants


def validate_signature(
    auth_token: str, url: str, params: Params | None, signature: str | None
) -> bool:
    """True when ``signature`` is Twilio's signature of this request (constant-time compare)."""
    if not signature or not auth_token:
        return False
    pairs = _pairs(params)
    return any(
        hmac.compare_digest(compute_signature(auth_token, variant, pairs), signature)
        for variant in _port_variants(url)
    )


def with_query(url: str, params: Iterable[tuple[str, str]]) -> str:
    """``url`` with ``params`` appended to its query, as Twilio builds a GET webhook URL."""
    pairs = list(params)
    if not pairs:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(pairs)

