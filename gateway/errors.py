"""Errors the gateway itself raises, in Twilio's terms (status, code, message).

Codes 21xxx and 20xxx below are Twilio's own. The 2050x codes name failures between the gateway
and its upstream; Twilio's catalogue has no codes for a proxy's upstream, so these are the
gateway's, stable and documented in docs/reliability.md.
"""

from __future__ import annotations

from gateway.model import ApiError

# Gateway <-> upstream failures.
UPSTREAM_BAD_RESPONSE = 20502  # 502: upstream answered with something that is not its API
UPSTREAM_UNAVAILABLE = 20503  # 503: no connection could be made, or upstream said 503
UPSTREAM_TIMEOUT = 20504  # 504: upstream did not answer in time
OUTCOME_UNKNOWN = 20505  # 502/504: a send reached upstream but its answer was lost

# Twilio's own codes the gateway also raises itself.
TOO_MANY_REQUESTS = 20429  # 429: upstream rate limit, kept after retries ran out


def not_found(what: str = "The requested resource was not found") -> ApiError:
    return ApiError(404, what, 20404)


def method_not_allowed(method: str) -> ApiError:
    return ApiError(405, f"Method {method} not allowed on this resource", 20004)


def unauthenticated() -> ApiError:
    return ApiError(
        401,
        "Authentication Error - No credentials provided",
        20003,
        headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
    )


def bad_request(message: str, code: int | None = None) -> ApiError:
    return ApiError(400, message, code)
