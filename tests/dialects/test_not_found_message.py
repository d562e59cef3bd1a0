"""A fetch of a message upstream does not know: the legacy client gets the 404 with upstream's
status and code, but the message names the legacy path it asked for, never the current API's
``/2010-04-01/Accounts/.../Messages/SM....json`` (which it never requested)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.sms2010 import readers
from tests.sms2010.conftest import ACCOUNT, AUTH, BASE_2008, BASE_2010
from tests.support.sandbox_gateway import MakeGateway

MISSING = "SM" + "f" * 32
PATHS = {"v2008": BASE_2008, "sms2010": BASE_2010}


@pytest.mark.parametrize("upstream_api", ["messages", "sms2010"])
@pytest.mark.parametrize("dialect", ["v2008", "sms2010"])
@pytest.mark.parametrize("suffix", ["", ".json", ".xml", ".csv"])
async def test_upstream_404_names_the_legacy_resource(
    make_gateway: MakeGateway, dialect: str, upstream_api: str, suffix: str
) -> None:
    gateway: TestClient = await make_gateway(upstream_api=upstream_api)
    path = f"{PATHS[dialect]}/{MISSING}{suffix}"
    resp = await gateway.get(path, headers=AUTH)
    assert resp.status == 404
    fields = readers.error(dialect, suffix.lstrip(".") or "xml", await resp.read())
    assert fields["Message"] == f"The requested resource {path} was not found"
    assert "/2010-04-01/Accounts/" + ACCOUNT + "/Messages" not in fields["Message"]
    if dialect == "sms2010" or suffix != ".csv":
        assert fields["Status"] == "404"
    if "Code" in fields:
        assert fields["Code"] == "20404"


async def test_other_upstream_errors_keep_their_message(make_gateway: MakeGateway) -> None:
    # Another account's credentials on this account's path: upstream's 403 passes unchanged.
    gateway = await make_gateway()
    other = {"Authorization": AUTH["Authorization"]}
    resp = await gateway.get(
        f"/2008-08-01/Accounts/AC{'e' * 32}/SMS/Messages/{MISSING}.json", headers=other
    )
    assert resp.status == 403
    rest = (await resp.json())["TwilioResponse"]["RestException"]
    assert "was not found" not in rest["Message"]
