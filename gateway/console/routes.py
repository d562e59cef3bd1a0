"""The console's HTTP side: an aiohttp sub-application mounted at /console/ (on the main port,
or on the operations port), every route behind the console token.

Pages: ``/console/`` (ledger), ``/console/accounts/{sid}`` (one account and its migration
report), ``/console/sandbox`` (``--sandbox`` only). JSON: ``/console/api/ledger``,
``/console/api/accounts/{sid}``, ``/console/api/accounts/{sid}/report.json|.csv``,
``/console/api/sandbox/messages``. docs/console.md describes them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from gateway import keys
from gateway.console import auth, pages, sandbox_view, sunset
from gateway.console import report as report_mod
from gateway.console import view as view_mod
from gateway.console.state import ConsoleState
from gateway.keys import CONSOLE
from gateway.model import ACCOUNT_SID
from gateway.observability.logs import mask_number
from gateway.sandbox.service import Sandbox
from gateway.state.base import StoreUnavailable

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX: Final = "/console"

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _state(request: web.Request) -> ConsoleState:
    return request.app[CONSOLE]


@web.middleware
async def console_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The console token on every route; security headers on every answer."""
    request[keys.DIALECT] = "console"
    request[keys.OPERATION] = "console"
    state = _state(request)
    if not auth.authorised(request, state.settings.console_token):
        response: web.StreamResponse = auth.unauthorised()
    else:
        try:
            response = await handler(request)
        except StoreUnavailable:
            response = web.Response(status=503, text="The state store is unavailable.\n")
    response.headers.update(SECURITY_HEADERS)
    return response


def _days_left(state: ConsoleState) -> int | None:
    return sunset.days_left(state.settings, datetime.now(UTC).date())


async def _ledger(state: ConsoleState, only: str | None = None) -> view_mod.LedgerView:
    # This replica's counts first, so that the page shows what it has just served.
    if state.ledger is not None:
        await state.ledger.flush()
    if state.store is None:
        raise StoreUnavailable("the state store is not open yet")
    return await view_mod.load(state.store, time.time(), only)


def _account_sid(request: web.Request) -> str:
    sid = request.match_info["sid"]
    if sid != "other" and not ACCOUNT_SID.fullmatch(sid):
        raise web.HTTPNotFound(text="No such account.\n")
    return sid


def _html(state: ConsoleState, title: str, content: list[Any]) -> web.Response:
    body = pages.document(title, content, sandbox=state.sandbox is not None,
                          days_left=_days_left(state))
    return web.Response(body=body, content_type="text/html", charset="utf-8")


async def index(request: web.Request) -> web.Response:
    state = _state(request)
    return _html(state, "Legacy clients", pages.overview(await _ledger(state)))


async def account_page(request: web.Request) -> web.Response:
    state = _state(request)
    sid = _account_sid(request)
    ledger = await _ledger(state, sid)
    found = ledger.account(sid)
    if found is None:
        raise web.HTTPNotFound(text="No legacy traffic recorded for this account.\n")
    return _html(state, f"Account {sid}", pages.account(found, report_mod.build(found)))


async def api_ledger(request: web.Request) -> web.Response:
    state = _state(request)
    body = view_mod.as_json(await _ledger(state))
    body["sunset_days_left"] = _days_left(state)
    body["ledger"] = state.ledger is not None
    return web.json_response(body)


async def api_account(request: web.Request) -> web.Response:
    state = _state(request)
    sid = _account_sid(request)
    found = (await _ledger(state, sid)).account(sid)
    if found is None:
        raise web.HTTPNotFound(text="No legacy traffic recorded for this account.\n")
    return web.json_response(view_mod.account_json(found))


async def api_report(request: web.Request) -> web.Response:
    state = _state(request)
    sid = _account_sid(request)
    found = (await _ledger(state, sid)).account(sid)
    if found is None:
        raise web.HTTPNotFound(text="No legacy traffic recorded for this account.\n")
    report = report_mod.build(found)
    if request.match_info["fmt"] == "csv":
        return web.Response(
            text=report_mod.as_csv(report), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="migration-{sid}.csv"'},
        )
    return web.json_response(report)


def _mask(state: ConsoleState) -> Callable[[str], str]:
    return mask_number if state.settings.log_mask_numbers else (lambda number: number)


def _sandbox(state: ConsoleState) -> Sandbox:
    if state.sandbox is None:
        raise web.HTTPNotFound(text="The sandbox view needs --sandbox.\n")
    return state.sandbox


async def sandbox_page(request: web.Request) -> web.Response:
    state = _state(request)
    sandbox = _sandbox(state)
    nonce, new = auth.nonce_of(request)
    content = pages.sandbox(
        sandbox_view.messages(sandbox, _mask(state)),
        sandbox_view.deliveries(sandbox),
        sandbox_view.relays(state.relays),
        auth.csrf_token(state.settings.console_token, nonce),
        pages.flash(request.query),
    )
    response = _html(state, "Sandbox", content)
    if new:
        auth.set_nonce(response, nonce, PREFIX + "/", request.secure)
    return response


async def sandbox_inject(request: web.Request) -> web.Response:
    state = _state(request)
    sandbox = _sandbox(state)
    request[keys.OPERATION] = "inject"
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if not auth.csrf_ok(request, form, state.settings.console_token):
        return web.Response(status=403, text="Cross-site request refused.\n")
    account = form.get("AccountSid", "").strip()
    if not ACCOUNT_SID.fullmatch(account):
        raise web.HTTPSeeOther(f"{PREFIX}/sandbox?inject_error=20404")
    result = await sandbox_view.inject(sandbox, account, form)
    if not result["ok"]:
        raise web.HTTPSeeOther(f"{PREFIX}/sandbox?inject_error={result['code']}")
    status = result["sms_url_status"]
    location = (f"{PREFIX}/sandbox?injected={result['sid']}&replies={result['replies']}"
                + (f"&sms_url_status={status}" if status is not None else ""))
    raise web.HTTPSeeOther(location)


async def api_sandbox_messages(request: web.Request) -> web.Response:
    state = _state(request)
    rows = sandbox_view.messages(_sandbox(state), _mask(state))
    return web.json_response({
        "messages": [
            {
                "sid": r.sid, "account_sid": r.account, "direction": r.direction,
                "from": r.from_, "to": r.to, "body": r.body, "status": r.status,
                "created": sandbox_view.when(r.created), "via": r.via,
                "progression": [{"status": s.status, "state": s.state} for s in r.steps],
                "status_callbacks": list(r.callbacks),
            }
            for r in rows
        ]
    })


async def style(request: web.Request) -> web.Response:
    return web.Response(body=pages.STYLE, content_type="text/css", charset="utf-8")


def create_console_app(state: ConsoleState) -> web.Application:
    """The console, to be mounted at /console (``parent.add_subapp(PREFIX, app)``)."""
    app = web.Application(middlewares=[console_guard])
    app[CONSOLE] = state
    app.router.add_get("/", index)
    app.router.add_get("/style.css", style)
    app.router.add_get("/accounts/{sid}", account_page)
    app.router.add_get("/api/ledger", api_ledger)
    app.router.add_get("/api/accounts/{sid}", api_account)
    app.router.add_get("/api/accounts/{sid}/report.{fmt:json|csv}", api_report)
    app.router.add_get("/sandbox", sandbox_page)
    app.router.add_post("/sandbox/inject", sandbox_inject)
    app.router.add_get("/api/sandbox/messages", api_sandbox_messages)
    return app


def mount(parent: web.Application, state: ConsoleState) -> None:
    parent.add_subapp(PREFIX, create_console_app(state))
