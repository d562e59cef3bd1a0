"""Retry rules for upstream calls, as pure functions: which failures may be retried, how long
to wait, and which legacy-visible error each failure becomes. No I/O; http.py does the calling.

The rule that matters most: a request that is not safe to repeat (a POST creating a message) is
repeated only when upstream provably did not act on it: the connection was never established,
or upstream said so itself with 429 or 503. Once the request may have reached upstream, a lost
answer is reported as OUTCOME_UNKNOWN and never retried, because a retry could send the SMS
twice. docs/reliability.md has the full matrix.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway import errors
from gateway.mapping.dates import parse_rfc2822
from gateway.model import ApiError
from gateway.upstream.messages_json import error_from_json

if TYPE_CHECKING:
    from gateway.config import Settings

# Methods upstream may see twice without harm.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Statuses with which upstream states that it did not process the request.
NOT_PROCESSED_STATUSES = frozenset({429, 503})


class FailureKind(enum.Enum):
    UNREACHABLE = "unreachable"  # no connection was established: upstream saw nothing
    TIMEOUT = "timeout"  # the request may have been sent; no complete answer in time
    BROKEN = "broken"  # the request may have been sent; the connection or answer broke
    TOO_LARGE = "too_large"  # the answer exceeded the configured maximum size
    UNDECODABLE = "undecodable"  # a 2xx answer whose body is not a JSON object
    STATUS = "status"  # a non-2xx answer


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong in one upstream attempt."""

    kind: FailureKind
    status: int | None = None
    data: Any = None  # the decoded JSON of an error answer, when it was JSON
    retry_after: float | None = None  # seconds, from a Retry-After header


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Budgets for one upstream call (all its attempts together)."""

    retries: int = 2
    backoff_base: float = 0.1
    backoff_max: float = 2.0
    retry_after_max: float = 5.0
    # Seconds all attempts of one call may take, cut to what the request budget has left.
    budget: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float | None = 10.0
    max_response_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_settings(cls, s: Settings) -> RetryPolicy:
        return cls(
            retries=s.upstream_retries,
            backoff_base=s.upstream_backoff_base,
            backoff_max=s.upstream_backoff_max,
            retry_after_max=s.upstream_retry_after_max,
            budget=s.upstream_timeout,
            connect_timeout=s.upstream_connect_timeout,
            read_timeout=s.upstream_read_timeout or None,
            max_response_bytes=s.upstream_max_response_bytes,
        )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when
    absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    when = parse_rfc2822(text)
    if when is None:
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def is_retryable(method: str, failure: Failure) -> bool:
    if failure.kind is FailureKind.UNREACHABLE:
        return True
    if failure.kind is FailureKind.STATUS and failure.status in NOT_PROCESSED_STATUSES:
        return True
    if method.upper() not in SAFE_METHODS:
        return False
    if failure.kind is FailureKind.STATUS:
        return failure.status is not None and failure.status >= 500
    # A body too large will be too large again; every other transport fault may be transient.
    return failure.kind is not FailureKind.TOO_LARGE


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Capped exponential backoff with jitter for the wait after attempt number ``attempt``
    (1-based). Half of the step is fixed so that retries never bunch up at zero; the other
    half is random so that many clients do not retry in lockstep."""
    step = min(policy.backoff_max, policy.backoff_base * (2 ** (attempt - 1)))
    return step / 2 + rng.uniform(0, step / 2)


def retry_delay(
    method: str,
    failure: Failure,
    attempt: int,
    remaining: float,
    policy: RetryPolicy,
    rng: random.Random,
) -> float | None:
    """Seconds to wait before trying again after attempt number ``attempt`` failed, or None
    when it must not be retried. ``remaining`` is what is left of the call's total budget."""
    if attempt > policy.retries or not is_retryable(method, failure):
        return None
    if failure.retry_after is not None:
        if failure.retry_after > policy.retry_after_max:
            return None
        delay = failure.retry_after
    else:
        delay = backoff(attempt, policy, rng)
    # A retried send that then times out turns a definite "not sent" into "unknown": only try
    # again when there is time left to at least connect and be answered.
    if remaining - delay < policy.connect_timeout:
        return None
    return delay


def _unknown_outcome(status: int, why: str) -> ApiError:
    return ApiError(
        status,
        f"{why}; the request reached the upstream Twilio API, so whether the message was "
        "sent is unknown. Check the message list before sending it again.",
        errors.OUTCOME_UNKNOWN,
    )


def _retry_after_header(failure: Failure) -> dict[str, str]:
    if failure.retry_after is None:
        return {}
    return {"Retry-After": str(max(1, round(failure.retry_after)))}


def _from_json(status: int, data: Any, default: ApiError) -> ApiError:
    if isinstance(data, Mapping) and data.get("code") is not None:
        err = error_from_json(status, data)
        if err.code is not None:
            return err
    return default


def to_error(method: str, failure: Failure) -> ApiError:
    """The error a client sees for a failure that was not (or no longer) retried."""
    unsafe = method.upper() not in SAFE_METHODS
    kind = failure.kind
    if kind is FailureKind.UNREACHABLE:
        return ApiError(
            503,
            "The upstream Twilio API could not be reached; the request was not sent",
            errors.UPSTREAM_UNAVAILABLE,
        )
    if kind is FailureKind.TIMEOUT:
        why = "The upstream Twilio API did not answer in time"
        if unsafe:
            return _unknown_outcome(504, why)
        return ApiError(504, why, errors.UPSTREAM_TIMEOUT)
    if kind is not FailureKind.STATUS:
        why = {
            FailureKind.BROKEN: "The connection to the upstream Twilio API broke",
            FailureKind.TOO_LARGE: "The upstream Twilio API answered with more data than allowed",
            FailureKind.UNDECODABLE: "The upstream Twilio API answered with something that is "
            "not its JSON",
        }[kind]
        if unsafe:
            return _unknown_outcome(502, why)
        return ApiError(502, why, errors.UPSTREAM_BAD_RESPONSE)

    status = failure.status or 502
    headers = _retry_after_header(failure)
    if status == 429:
        err = _from_json(
            429, failure.data, ApiError(429, "Too Many Requests", errors.TOO_MANY_REQUESTS)
        )
        err.headers.update(headers)
        return err
    if status == 503:
        err = _from_json(
            503,
            failure.data,
            ApiError(
                503,
                "The upstream Twilio API is unavailable; the request was not processed",
                errors.UPSTREAM_UNAVAILABLE,
            ),
        )
        err.headers.update(headers)
        return err
    if status >= 500:
        why = f"The upstream Twilio API failed with HTTP {status}"
        gateway_status = 504 if status == 504 else 502
        if unsafe:
            return _unknown_outcome(gateway_status, why)
        code = errors.UPSTREAM_TIMEOUT if status == 504 else errors.UPSTREAM_BAD_RESPONSE
        return ApiError(gateway_status, why, code)
    if 400 <= status < 500 and isinstance(failure.data, Mapping):
        err = error_from_json(status, failure.data)
        if status == 401:
            # Legacy httplib2 clients only send credentials after a challenge.
            err.headers.setdefault("WWW-Authenticate", errors.BASIC_CHALLENGE)
        return err
    return ApiError(
        502,
        f"The upstream Twilio API answered HTTP {status} with something that is not its API",
        errors.UPSTREAM_BAD_RESPONSE,
    )
