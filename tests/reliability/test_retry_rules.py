"""The retry rules as pure functions: what may be retried, how long to wait, what the client
sees. These are the rows of the fault matrix in docs/reliability.md, without any I/O."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import errors
from gateway.upstream.retry import (
    Failure,
    FailureKind,
    RetryPolicy,
    backoff,
    is_retryable,
    parse_retry_after,
    retry_delay,
    to_error,
)

K = FailureKind
POLICY = RetryPolicy(retries=3, backoff_base=0.1, backoff_max=1.0, retry_after_max=5.0,
                     budget=30.0, connect_timeout=1.0)


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-1") is None


# (failure, retried for POST, retried for GET)
RULES = [
    (Failure(K.UNREACHABLE), True, True),
    (Failure(K.TIMEOUT), False, True),
    (Failure(K.BROKEN), False, True),
    (Failure(K.UNDECODABLE, 200), False, True),
    (Failure(K.TOO_LARGE, 200), False, False),
    (Failure(K.STATUS, 429), True, True),
    (Failure(K.STATUS, 503), True, True),
    (Failure(K.STATUS, 500), False, True),
    (Failure(K.STATUS, 502), False, True),
    (Failure(K.STATUS, 504), False, True),
    (Failure(K.STATUS, 400, {"code": 21211}), False, False),
    (Failure(K.STATUS, 404, {"code": 20404}), False, False),
    (Failure(K.STATUS, 301), False, False),
]


@pytest.mark.parametrize(("failure", "post", "get"), RULES)
def test_only_provably_unprocessed_sends_are_retried(
    failure: Failure, post: bool, get: bool
) -> None:
    assert is_retryable("POST", failure) is post
    assert is_retryable("GET", failure) is get


# (failure, POST status/code, GET status/code)
ERRORS = [
    (Failure(K.UNREACHABLE), (503, 20503), (503, 20503)),
    (Failure(K.TIMEOUT), (504, 20505), (504, 20504)),
    (Failure(K.BROKEN), (502, 20505), (502, 20502)),
    (Failure(K.UNDECODABLE, 200), (502, 20505), (502, 20502)),
    (Failure(K.TOO_LARGE, 200), (502, 20505), (502, 20502)),
    (Failure(K.STATUS, 500), (502, 20505), (502, 20502)),
    (Failure(K.STATUS, 502), (502, 20505), (502, 20502)),
    (Failure(K.STATUS, 504), (504, 20505), (504, 20504)),
    (Failure(K.STATUS, 503), (503, 20503), (503, 20503)),
    (Failure(K.STATUS, 429), (429, 20429), (429, 20429)),
    (Failure(K.STATUS, 429, {"code": 20429, "message": "Too Many Requests"}), (429, 20429),
     (429, 20429)),
    (Failure(K.STATUS, 400, {"code": 21211, "message": "Invalid 'To'"}), (400, 21211),
     (400, 21211)),
    (Failure(K.STATUS, 404, "<html>"), (502, 20502), (502, 20502)),
    (Failure(K.STATUS, 302), (502, 20502), (502, 20502)),
]


@pytest.mark.parametrize(("failure", "post", "get"), ERRORS)
def test_every_failure_has_a_stable_status_and_code(
    failure: Failure, post: tuple[int, int], get: tuple[int, int]
) -> None:
    for method, expected in (("POST", post), ("GET", get)):
        err = to_error(method, failure)
        assert (err.status, err.code) == expected
        assert err.status != 500
        assert err.more_info == f"https://www.twilio.com/docs/errors/{expected[1]}"


def test_unknown_outcome_says_so_and_how_to_check() -> None:
    err = to_error("POST", Failure(K.TIMEOUT))
    assert "unknown" in err.message and "message list" in err.message


def test_retry_after_is_passed_to_the_client_when_retries_end() -> None:
    assert to_error("POST", Failure(K.STATUS, 503, None, 30.0)).headers == {"Retry-After": "30"}
    assert to_error("GET", Failure(K.STATUS, 429, None, 0.4)).headers == {"Retry-After": "1"}


def test_upstream_401_keeps_the_basic_challenge() -> None:
    err = to_error("GET", Failure(K.STATUS, 401, {"code": 20003, "message": "Authenticate"}))
    assert (err.status, err.code) == (401, 20003)
    assert err.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'


def test_retry_delay_honours_retry_after_within_its_bound() -> None:
    rng = random.Random(1)
    f = Failure(K.STATUS, 503, None, 2.0)
    assert retry_delay("POST", f, 1, 30.0, POLICY, rng) == 2.0
    too_long = Failure(K.STATUS, 503, None, 6.0)
    assert retry_delay("POST", too_long, 1, 30.0, POLICY, rng) is None


def test_retry_delay_stops_when_attempts_or_budget_run_out() -> None:
    rng = random.Random(1)
    f = Failure(K.UNREACHABLE)
    assert retry_delay("POST", f, 3, 30.0, POLICY, rng) is not None
    assert retry_delay("POST", f, 4, 30.0, POLICY, rng) is None  # retries=3
    # A retry needs at least the connect timeout after its wait.
    assert retry_delay("POST", f, 1, 1.0, POLICY, rng) is None
    assert retry_delay("POST", Failure(K.STATUS, 503, None, 2.0), 1, 2.5, POLICY, rng) is None
    assert retry_delay("POST", Failure(K.TIMEOUT), 1, 30.0, POLICY, rng) is None


@settings(max_examples=100, deadline=None)
@given(attempt=st.integers(1, 50), seed=st.integers(0, 2**32))
def test_backoff_is_capped_exponential_with_jitter(attempt: int, seed: int) -> None:
    step = min(POLICY.backoff_max, POLICY.backoff_base * 2 ** (attempt - 1))
    delay = backoff(attempt, POLICY, random.Random(seed))
    assert step / 2 <= delay <= step <= POLICY.backoff_max


def test_backoff_jitter_spreads_clients() -> None:
    rng = random.Random(3)
    assert len({round(backoff(3, POLICY, rng), 6) for _ in range(20)}) > 10


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(list(FailureKind)),
    status=st.one_of(st.none(), st.integers(100, 599)),
    data=st.one_of(st.none(), st.text(max_size=5), st.fixed_dictionaries(
        {"code": st.one_of(st.none(), st.integers(), st.text(max_size=5))})),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
)
def test_any_failure_becomes_a_non_500_api_error(
    kind: FailureKind, status: int | None, data: object, method: str
) -> None:
    err = to_error(method, Failure(kind, status, data))
    assert err.status in (502, 503, 504) or 400 <= err.status < 500
    if method != "GET" and kind in (K.TIMEOUT, K.BROKEN, K.UNDECODABLE, K.TOO_LARGE):
        assert err.code == errors.OUTCOME_UNKNOWN
