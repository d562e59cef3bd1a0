"""Who may use the console, and cross-site protection of its form.

Access: HTTP Basic with any user name and the console token as password, compared in
constant time. The inject form carries a CSRF token: an HMAC, keyed with the console token, of
a random nonce kept in a ``SameSite=Strict`` cookie, so a token is valid only with that
browser's cookie and that console password; a POST also needs its ``Origin`` (or, lacking
one, its ``Referer``) to name this host.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from aiohttp import BasicAuth, hdrs, web

REALM: Final = 'Basic realm="sms-gateway console", charset="UTF-8"'
CSRF_COOKIE: Final = "console_csrf"
CSRF_FIELD: Final = "csrf_token"
_NONCE = re.compile(r"[0-9a-f]{32}")


def authorised(request: web.Request, token: str) -> bool:
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    if not header:
        return False
    try:
        auth = BasicAuth.decode(header, encoding="utf-8")
    except ValueError:
        return False
    return hmac.compare_digest(auth.password.encode(), token.encode())


def unauthorised() -> web.Response:
    return web.Response(
        status=401, text="Authentication required.\n", headers={"WWW-Authenticate": REALM}
    )


def nonce_of(request: web.Request) -> tuple[str, bool]:
    """The browser's CSRF nonce, and whether it is new (then the answer must set it)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if _NONCE.fullmatch(current):
        return current, False
    return secrets.token_hex(16), True


def set_nonce(response: web.StreamResponse, nonce: str, path: str, secure: bool) -> None:
    # Secure only when this connection is TLS: the console may be served on plain HTTP on an
    # operations port inside a cluster, where a Secure cookie would never come back.
    response.set_cookie(
        CSRF_COOKIE, nonce, path=path, httponly=True, samesite="Strict", secure=secure,
    )


def csrf_token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), b"console-csrf|" + nonce.encode(), hashlib.sha256).hexdigest()


def same_origin(request: web.Request) -> bool:
    """The POST comes from a page of this host: its Origin, else its Referer, names it. A
    request with neither (not a browser) is left to the token."""
    source = request.headers.get(hdrs.ORIGIN) or request.headers.get(hdrs.REFERER)
    if not source:
        return True
    if source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.host.lower()


def csrf_ok(request: web.Request, form: Mapping[str, str], secret: str) -> bool:
    nonce = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not _NONCE.fullmatch(nonce) or not sent:
        return False
    return same_origin(request) and hmac.compare_digest(sent, csrf_token(secret, nonce))
