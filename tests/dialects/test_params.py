"""The dialect-independent request parsing in gateway/dialects/params.py."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dialects import params
from gateway.model import ApiError, ListFilter


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        (b"Body=Hi+Jenny%21+want%3F", [("Body", "Hi Jenny! want?")]),
        (b"Body=Hi%20Jenny", [("Body", "Hi Jenny")]),
        (b"", []),
        (b"&&To=1&", [("To", "1")]),
        (b"flag", [("flag", "")]),
        (b"a=1=2", [("a", "1=2")]),
        (b"Body=%E2%9C%93", [("Body", "\u2713")]),
        (b"Body=caf%E9", [("Body", "caf\u00e9")]),  # undeclared ISO-8859-1
        (b"Body=caf\xc3\xa9", [("Body", "caf\u00e9")]),  # raw UTF-8
        (b"DateSent>=2009-07-06", [("DateSent>", "2009-07-06")]),
        (b"%ZZ=%", [("%ZZ", "%")]),
    ],
)
def test_decode_pairs(raw: bytes, pairs: list[tuple[str, str]]) -> None:
    assert params.decode_pairs(raw) == pairs


def test_decode_pairs_honours_the_declared_charset() -> None:
    assert params.decode_pairs(b"Body=caf%E9", "iso-8859-1") == [("Body", "caf\u00e9")]
    assert params.decode_pairs(b"Body=x", "no-such-charset") == [("Body", "x")]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_decode_pairs_never_fails(raw: bytes) -> None:
    for name, value in params.decode_pairs(raw):
        assert isinstance(name, str) and isinstance(value, str)


def test_repeated_parameters_first_wins() -> None:
    assert params.first([("To", "1"), ("To", "2")], "To") == "1"
    assert params.first([], "To") is None


@pytest.mark.parametrize(
    ("name", "stem", "fmt"),
    [
        ("Messages", "Messages", None),
        ("Messages.xml", "Messages", "xml"),
        ("Messages.Xml", "Messages", "xml"),
        ("Messages.JSON", "Messages", "json"),
        ("Messages.csv", "Messages", "csv"),
        ("Messages.html", "Messages", "html"),
        ("Messages.pdf", "Messages.pdf", None),
        ("SM1.json", "SM1", "json"),
    ],
)
def test_split_format(name: str, stem: str, fmt: str | None) -> None:
    assert params.split_format(name) == (stem, fmt)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("/2008-08-01/x/Messages.Json", "json"), ("/2008-08-01/x", "xml"), ("/a/b.csv/", "csv")],
)
def test_format_of_path(path: str, fmt: str) -> None:
    assert params.format_of_path(path) == fmt


def _filter(query: str) -> ListFilter:
    return params.parse_list_filter(params.decode_pairs(query.encode()), "US")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("DateSent=2009-07-06", ListFilter(date_sent=date(2009, 7, 6))),
        ("DateSent>=2009-07-06", ListFilter(date_sent_after=date(2009, 7, 6))),
        ("DateSent<=2009-07-06", ListFilter(date_sent_before=date(2009, 7, 6))),
        ("DateSent%3E%3D2009-07-06", ListFilter(date_sent_after=date(2009, 7, 6))),
        ("DateSent%3C%3D2009-07-06", ListFilter(date_sent_before=date(2009, 7, 6))),
        ("DateSent%3E=2009-07-06", ListFilter(date_sent_after=date(2009, 7, 6))),
        ("DateSent<2009-07-06", ListFilter(date_sent_before=date(2009, 7, 6))),
        (
            "DateSent>=2009-07-01&DateSent<=2009-07-31",
            ListFilter(date_sent_after=date(2009, 7, 1), date_sent_before=date(2009, 7, 31)),
        ),
        ("DateSent=", ListFilter()),
        ("To=415-555-1212&From=(650)+555-1212",
         ListFilter(to="+14155551212", from_="+16505551212")),
        ("To=12345", ListFilter(to="12345")),
        ("To=&Page=1&Unknown=x", ListFilter()),
    ],
)
def test_list_filter(query: str, expected: ListFilter) -> None:
    assert _filter(query) == expected


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("DateSent=yesterday", 20001),
        ("DateSent>=2009-13-01", 20001),
        ("DateSent<=07/06/2009", 20001),
        ("To=(xxx)+xxx-xxx", 21211),
        ("From=hello", 21212),
    ],
)
def test_bad_list_filter_is_a_400(query: str, code: int) -> None:
    with pytest.raises(ApiError) as info:
        _filter(query)
    assert (info.value.status, info.value.code) == (400, code)


def test_filter_pairs_read_back_as_the_same_filter() -> None:
    flt = ListFilter(to="+14155551212", from_="12345", date_sent=date(2009, 7, 6),
                     date_sent_before=date(2009, 8, 1), date_sent_after=date(2009, 6, 1))
    from urllib.parse import urlencode

    assert _filter(urlencode(params.filter_pairs(flt))) == flt


@pytest.mark.parametrize(
    ("query", "page", "size"),
    [
        ("", 0, 50),
        ("Page=3&num=10", 3, 10),
        ("num=1000", 0, 1000),
        ("num=1001", 0, 1000),  # clamped
        ("num=999999", 0, 1000),
        ("Page=&num=", 0, 50),
        ("Page=+2&num=+5", 2, 5),
    ],
)
def test_paging(query: str, page: int, size: int) -> None:
    got = params.parse_paging(params.decode_pairs(query.encode()))
    assert (got.page, got.page_size) == (page, size)


@pytest.mark.parametrize(
    "query", ["num=0", "num=-1", "num=ten", "Page=-1", "Page=x", "Page=1.5", "num=" + "9" * 5000]
)
def test_bad_paging_is_a_400(query: str) -> None:
    with pytest.raises(ApiError) as info:
        params.parse_paging(params.decode_pairs(query.encode()))
    assert (info.value.status, info.value.code) == (400, 20001)


def _send(query: str, limit: int = 160):  # type: ignore[no-untyped-def]
    return params.parse_send(params.decode_pairs(query.encode()), region="US", body_limit=limit)


def test_send_golden_seed_000() -> None:
    req = _send("From=415-555-1212&To=555-867-5309&Body=Hi+Jenny%21+want+to+grab+dinner%3F")
    assert (req.to, req.from_, req.body) == ("+15558675309", "+14155551212",
                                              "Hi Jenny! want to grab dinner?")
    assert (req.to_as_sent, req.from_as_sent) == ("555-867-5309", "415-555-1212")
    assert req.status_callback is None


def test_send_keeps_status_callback() -> None:
    callback = "StatusCallback=http%3A%2F%2Fex.com%2Fcb%3Fa%3D1"
    req = _send("From=4155551212&To=4158675309&Body=x&" + callback)
    assert req.status_callback == "http://ex.com/cb?a=1"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("From=4155551212&Body=x", 21604),
        ("To=&From=4155551212&Body=x", 21604),
        ("To=4155551212&Body=x", 21603),
        ("To=4155551212&From=4155551212", 21602),
        ("To=4155551212&From=4155551212&Body=", 21602),
        ("", 21604),
        ("To=nope&From=4155551212&Body=x", 21211),
        ("To=4155551212&From=nope&Body=x", 21212),
        ("To=4155551212&From=4155551212&Body=" + "x" * 161, 21605),
    ],
)
def test_send_errors(query: str, code: int) -> None:
    with pytest.raises(ApiError) as info:
        _send(query)
    assert (info.value.status, info.value.code) == (400, code)


def test_body_limit_counts_characters_and_is_configurable() -> None:
    emoji = _send("To=4155551212&From=4155551212&Body=" + "%F0%9F%98%80" * 160)
    assert emoji.body == "\U0001f600" * 160
    assert len(_send("To=4155551212&From=4155551212&Body=" + "x" * 1600, 1600).body) == 1600
    with pytest.raises(ApiError):
        _send("To=4155551212&From=4155551212&Body=" + "x" * 1601, 1600)


@pytest.mark.parametrize(
    ("sid", "ok"),
    [("AC309475e5fede1b49e100272a8640f438", True), ("AC309475E5FEDE1B49E100272A8640F438", True),
     ("AC123", False), ("XX309475e5fede1b49e100272a8640f438", False), ("..", False)],
)
def test_account_sid_shape(sid: str, ok: bool) -> None:
    if ok:
        assert params.check_account_sid(sid) == sid
    else:
        with pytest.raises(ApiError) as info:
            params.check_account_sid(sid)
        assert (info.value.status, info.value.code) == (404, None)
