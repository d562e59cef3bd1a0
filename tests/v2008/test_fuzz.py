"""Whatever a client sends, the 2008 dialect answers in its legacy shape, never with a 500."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.v2008.conftest import AUTH, BASE, FakeUpstream
from tests.v2008.xmlutil import parse

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PARAM_NAMES = st.sampled_from(["To", "From", "Body", "StatusCallback", "x", "To[]", ""])
NUMBERISH = st.one_of(
    st.text(max_size=30), st.from_regex(r"[+(]?[0-9 ()\-.]{0,18}", fullmatch=True)
)
FORMS = st.lists(st.tuples(PARAM_NAMES, NUMBERISH), max_size=6)
CONTENT_TYPES = st.sampled_from([
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=bogus", "text/plain", "application/json", "",
])


def _check_legacy(status: int, body: bytes) -> None:
    assert status < 500 or status in (502, 503, 504), status
    root = parse(body)
    assert root.tag == "TwilioResponse"
    if status >= 400:
        assert root[0].tag == "RestException"
        assert root[0].findtext("Status") == str(status)


@FUZZ
@given(raw=st.binary(max_size=300), content_type=CONTENT_TYPES)
async def test_any_body_bytes(client: TestClient, fake: FakeUpstream, raw: bytes,
                              content_type: str) -> None:
    resp = await client.post(BASE, data=raw, headers={**AUTH, "Content-Type": content_type})
    _check_legacy(resp.status, await resp.read())


@FUZZ
@given(form=FORMS)
async def test_any_form(client: TestClient, fake: FakeUpstream,
                        form: list[tuple[str, str]]) -> None:
    body = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in form)
    resp = await client.post(BASE, data=body.encode(), headers={
        **AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    _check_legacy(resp.status, await resp.read())
    if resp.status == 201:
        assert fake.calls[-1][0] == "create"


@FUZZ
@given(to=NUMBERISH)
async def test_any_to_number_normalises_or_is_21211(client: TestClient, fake: FakeUpstream,
                                                     to: str) -> None:
    body = f"From=4155551212&Body=x&To={quote(to, safe='')}"
    resp = await client.post(BASE, data=body.encode(), headers={
        **AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    data = await resp.read()
    _check_legacy(resp.status, data)
    if resp.status != 201:
        assert resp.status == 400
        assert parse(data)[0].findtext("Code") in {"21211", "21604"}  # 21604: blank To


@FUZZ
@given(query=st.lists(st.tuples(
    st.sampled_from(["To", "From", "DateSent", "DateSent>", "DateSent<", "Page", "num", "z"]),
    st.text(max_size=20)), max_size=5))
async def test_any_list_query(client: TestClient, query: list[tuple[str, str]]) -> None:
    qs = "&".join(f"{quote(k, safe='<>')}={quote(v, safe='')}" for k, v in query)
    resp = await client.get(f"{BASE}?{qs}", headers=AUTH)
    _check_legacy(resp.status, await resp.read())
