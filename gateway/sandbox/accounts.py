"""Sandbox accounts and HTTP Basic authentication.

Any well-formed AccountSid with any non-empty token is accepted; the first token an account is
used with becomes its auth token (it signs that account's callbacks and webhooks).
"""

from __future__ import annotations

import hmac
import threading

from aiohttp import BasicAuth, hdrs, web

from gateway import errors
from gateway.model import ACCOUNT_SID, ApiError

_CHALLENGE = {"WWW-Authenticate": errors.BASIC_CHALLENGE}


def _denied(message: str = "Authenticate") -> ApiError:
    # Every 401 carries the challenge: old httplib2-based clients only send credentials after one.
    return ApiError(401, message, 20003, headers=dict(_CHALLENGE))


class Accounts:
    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def token(self, account_sid: str) -> str | None:
        return self._tokens.get(account_sid)

    def login(self, username: str, password: str) -> str:
        """The authenticated AccountSid, creating the account on first use."""
        if not ACCOUNT_SID.fullmatch(username) or not password:
            raise _denied()
        with self._lock:
            known = self._tokens.setdefault(username, password)
        if not hmac.compare_digest(known.encode(), password.encode()):
            raise _denied()
        return username

    def authenticate(self, request: web.Request, path_sid: str | None) -> str:
        """Check the request's credentials and that they own the account in the path."""
        header = request.headers.get(hdrs.AUTHORIZATION)
        if not header:
            raise errors.unauthenticated()
        try:
            auth = BasicAuth.decode(header)
        except ValueError:
            raise _denied() from None
        account_sid = self.login(auth.login, auth.password)
        if path_sid is not None and path_sid != account_sid:
            # Twilio answers credentials of one account used on another with 403 / 20003.
            raise ApiError(
                403,
                "The AccountSid in the URL does not match the authenticated account",
                20003,
            )
        return account_sid
