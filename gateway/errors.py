"""Errors the gateway itself raises, in Twilio's terms (status, code, message): every code and
every helper that builds an :class:`ApiError`, in one place.

Codes 21xxx and 20xxx below are Twilio's own. The 2050x codes name failures between the gateway
and its upstream; Twilio's catalogue has no codes for a proxy's upstream, so these are the
gateway's, stable and documented in docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from gateway.model import ApiError

# Gateway <-> upstream failures.
UPSTREAM_BAD_RESPONSE: Final = 20502  # 502: upstream answered with something that is not its API
UPSTREAM_UNAVAILABLE: Final = 20503  # 503: no connection could be made, or upstream said 503
UPSTREAM_TIMEOUT: Final = 20504  # 504: upstream did not answer in time
OUTCOME_UNKNOWN: Final = 20505  # 502/504: a send reached upstream but its answer was lost

# Twilio's own codes the gateway also raises itself.
TOO_MANY_REQUESTS: Final = 20429  # 429: upstream rate limit, kept after retries ran out
PERMISSION_DENIED: Final = 20003  # 401/403: no or wrong credentials, a signature that fails
METHOD_NOT_ALLOWED: Final = 20004
RESOURCE_NOT_FOUND: Final = 20404
# A query parameter the gateway cannot read (a DateSent that is no YYYY-MM-DD day, a Page or
# page size that is no number). Twilio's catalogue names 20001 for invalid parameters.
INVALID_PARAMETER: Final = 20001
# A legacy send's missing parameters and over-long body.
TO_REQUIRED: Final = 21604
FROM_REQUIRED: Final = 21603
BODY_REQUIRED: Final = 21602
BODY_TOO_LONG: Final = 21605

# nginx's status for "client closed the request": the client left before its answer, so
# nothing was sent; only the access log and metrics ever show it.
CLIENT_CLOSED: Final = 499

# The challenge httplib2-based clients (twilio-python up to 5.x) wait for before they send
# credentials at all.
BASIC_CHALLENGE: Final = 'Basic realm="Twilio API"'


def not_found() -> ApiError:
    """The legacy 404: Status and Message only, as the 2008 API answered unknown resources."""
    return ApiError(404, "The requested resource was not found")


def as_legacy_not_found(err: ApiError, path: str) -> ApiError:
    """An upstream 404 names the current API's path (``/2010-04-01/.../Messages/SM....json``),
    which the legacy client never asked for; name the path it did ask for instead, keeping
    status, code and headers. Any other error is returned as it is."""
    if err.status != 404 or err.code not in (None, RESOURCE_NOT_FOUND):
        return err
    return ApiError(
        404, f"The requested resource {path} was not found", err.code, err.more_info,
        dict(err.headers),
    )


def method_not_allowed(method: str, allow: Iterable[str] = ()) -> ApiError:
    """405 (20004); ``allow`` fills the Allow header when given."""
    err = ApiError(405, f"Method {method} not allowed on this resource", METHOD_NOT_ALLOWED)
    if allow:
        err.headers["Allow"] = ", ".join(allow)
    return err


def unauthenticated() -> ApiError:
    return ApiError(
        401,
        "Authentication Error - No credentials provided",
        PERMISSION_DENIED,
        headers={"WWW-Authenticate": BASIC_CHALLENGE},
    )


def bad_request(message: str, code: int | None = None) -> ApiError:
    return ApiError(400, message, code)
