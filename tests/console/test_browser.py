"""The console in a real browser: Debian's chromium, headless, driven by Playwright (its
bundled driver; no browser download). Every request the page makes is checked to stay on the
gateway (the console must work offline); a screenshot of each view lands in tmp_path.

Without /usr/bin/chromium these skip with the install command, except under CI, where they
fail (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from gateway.callbacks.wrap import inbound_webhook_url
from gateway.sandbox.app import LIFECYCLE
from tests.callbacks.conftest import LegacyApp
from tests.console.conftest import (
    ACCOUNT,
    CONSOLE_TOKEN,
    OTHER_ACCOUNT,
    PHP_AGENT,
    SENDER,
    TOKEN,
    World,
    traffic,
)

CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "chromium is not installed: apt-get install -y chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def _require_chromium() -> None:
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT + " (CI must install it; see .ci/run)")
        pytest.skip(INSTALL_HINT)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _require_chromium()
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # the test extra installs it
        if os.environ.get("CI"):
            pytest.fail("playwright is not installed: pip install -e '.[test]'")
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def _page(browser: Any, world: World, elsewhere: list[str]) -> Any:
    context = await browser.new_context(
        http_credentials={"username": "ops", "password": CONSOLE_TOKEN},
        viewport={"width": 1400, "height": 900},
    )
    own = urlsplit(world.url).netloc

    async def offline(route: Any) -> None:
        if urlsplit(route.request.url).netloc != own:
            elsewhere.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    await context.route("**/*", offline)
    return await context.new_page()


async def test_ledger_view_shows_both_accounts(
    browser: Any, world: World, tmp_path: Path
) -> None:
    await traffic(world)
    elsewhere: list[str] = []
    page = await _page(browser, world, elsewhere)
    await page.goto(world.url + "/console/")
    rows = page.locator("table.accounts tbody tr")
    assert await rows.count() == 2
    text = await page.locator("table.accounts").inner_text()
    for expected in (ACCOUNT, OTHER_ACCOUNT, "sms2010", "v2008", "twilio-python/5.6",
                     "twilio-php/2.0", "Page=N jumps (1)", "Bodies over 160 refused (1)"):
        assert expected in text
    two = await rows.filter(has_text=OTHER_ACCOUNT).locator("td").all_inner_texts()
    assert two[1] == "3" and two[3] == "3"  # last day, last week
    assert await page.locator("svg.chart").count() >= 5  # per-hour, per-day, features
    await page.screenshot(path=str(tmp_path / "ledger.png"), full_page=True)

    await page.click(f"text={OTHER_ACCOUNT}")
    report = await page.locator("table.report").inner_text()
    assert "Bodies over 160 refused" in report and "33.3%" in report
    await page.screenshot(path=str(tmp_path / "account.png"), full_page=True)
    assert elsewhere == []
    assert (tmp_path / "ledger.png").stat().st_size > 1000


async def test_sandbox_view_progression_and_injection(
    browser: Any, world: World, legacy: LegacyApp, tmp_path: Path
) -> None:
    resp = await world.legacy(
        "POST", f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages.json", ACCOUNT, TOKEN, PHP_AGENT,
        data={"From": SENDER, "To": "+15005550012", "Body": "Status please",
              "StatusCallback": legacy.url("/status")},
    )
    assert resp.status == 201
    sid = (await resp.json())["TwilioResponse"]["SMSMessage"]["Sid"]
    await world.sandbox[LIFECYCLE].settle()
    number = "+15005550006"
    await world.add_number(number, inbound_webhook_url(world.settings, ACCOUNT,
                                                       legacy.url("/sms"), "POST"))
    legacy.replies = [(200, "")]  # the status callback's answer
    elsewhere: list[str] = []
    page = await _page(browser, world, elsewhere)
    await page.goto(world.url + "/console/sandbox")
    row = page.locator("table.messages tbody tr", has_text=sid)
    steps = await row.locator(".step").all_inner_texts()
    assert steps == ["queued", "sending", "sent", "undelivered"]
    assert await row.locator(".step.current").inner_text() == "undelivered"
    assert "Status please" in await row.inner_text()
    await page.screenshot(path=str(tmp_path / "sandbox.png"), full_page=True)

    legacy.seen.clear()
    legacy.replies = [(200, "<Response><Sms>Thanks</Sms></Response>")]
    await page.fill("input[name=AccountSid]", ACCOUNT)
    await page.fill("input[name=From]", "+14158675309")
    await page.fill("input[name=To]", number)
    await page.fill("input[name=Body]", "Hello from the form")
    await page.click("form#inject button[type=submit]")
    await page.wait_for_selector("#flash")
    flash = await page.locator("#flash").inner_text()
    assert "SMS URL answered 200" in flash and "1 reply" in flash
    inbound = [s for s in legacy.seen if ("Body", "Hello from the form") in s.params]
    assert len(inbound) == 1 and inbound[0].valid
    # the legacy app got the 2008 webhook: SmsSid, and no current-only MessageSid
    names = {k for k, _ in inbound[0].params}
    assert "SmsSid" in names and "MessageSid" not in names
    assert await page.locator("table.messages", has_text="Hello from the form").count() == 1
    await page.screenshot(path=str(tmp_path / "sandbox-injected.png"), full_page=True)
    assert elsewhere == []
