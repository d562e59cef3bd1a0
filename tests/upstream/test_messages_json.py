"""Messages read again are looked up, not rebuilt: the same raw values give the very same
(immutable) Message, any difference in a value or its JSON type gives a fresh one, and what
cannot be a cache key is still read."""

from __future__ import annotations

import pytest

from gateway.model import ApiError
from gateway.upstream import messages_json as wire

RAW = {
    "sid": "SM" + "c" * 32, "account_sid": "AC" + "d" * 32, "to": "+14155551212",
    "from": "+14155550000", "body": "hello", "status": "delivered", "direction": "outbound-api",
    "date_created": "Mon, 06 Jul 2009 17:06:25 +0000", "date_updated": None, "date_sent": None,
    "price": "-0.0075", "price_unit": "USD", "num_segments": 1, "error_code": None,
}


def test_the_same_values_give_the_same_message() -> None:
    first = wire.message_from_json(dict(RAW))
    assert wire.message_from_json(dict(RAW)) is first
    assert first == wire.build_message(RAW)


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "undelivered"), ("body", ""), ("num_segments", True), ("num_segments", 1.0),
     ("date_updated", "Mon, 06 Jul 2009 17:07:25 +0000"), ("error_code", "30003")],
)
def test_any_difference_gives_a_fresh_message(field: str, value: object) -> None:
    before = wire.message_from_json(dict(RAW))
    after = wire.message_from_json({**RAW, field: value})
    assert after == wire.build_message({**RAW, field: value})
    assert after != before


def test_values_that_cannot_be_keys_are_still_read() -> None:
    msg = wire.message_from_json({**RAW, "body": ["not", "a", "string"]})
    assert msg.body == "['not', 'a', 'string']"


@pytest.mark.parametrize(
    "data", [{"body": "no sid"}, {"sid": None}, {"sid": ""}, ["not", "a", "mapping"], None]
)
def test_what_is_not_a_message_is_still_refused(data: object) -> None:
    with pytest.raises(ApiError) as err:
        wire.message_from_json(data)  # type: ignore[arg-type]
    assert err.value.status == 502
