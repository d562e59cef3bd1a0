"""What the callback endpoints share for the life of the app: settings, signing keys, account
tokens, allowed hosts, the reported-messages memory (and its exactly-once guard on the state
store) and the session legacy apps are called through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from gateway import keys
from gateway.callbacks.accounts import AccountTokens, load_accounts
from gateway.callbacks.dedup import ReportedMessages
from gateway.callbacks.once import ReportOnce
from gateway.callbacks.settings import allowed_hosts, signing_keys
from gateway.callbacks.tokens import ACTION, INBOUND, STATUS
from gateway.config.settings import Settings
from gateway.destination_policy import checked_connector
from gateway.observability.metrics import callback_outcome

# The metrics' and logs' operation name of each endpoint kind.
OPERATIONS = {STATUS: "status_callback", ACTION: "action_callback", INBOUND: "inbound_sms"}


@dataclass(slots=True)
class CallbackState:
    settings: Settings
    keys: tuple[str, ...]
    accounts: AccountTokens
    allowed: tuple[str, ...]
    reported: ReportedMessages
    once: ReportOnce
    app: web.Application
    session: aiohttp.ClientSession | None = field(default=None)

    def count(self, kind: str, outcome: str) -> None:
        callback_outcome(OPERATIONS[kind], outcome, self.app)


def create_state(app: web.Application, settings: Settings) -> CallbackState:
    reported = ReportedMessages(settings.callback_dedup_size, settings.callback_dedup_ttl)
    return CallbackState(
        settings=settings,
        keys=signing_keys(settings),
        accounts=load_accounts(settings.accounts_file, settings.accounts),
        allowed=allowed_hosts(settings),
        reported=reported,
        once=ReportOnce(reported, lambda: app[keys.STATE_STORE], settings),
        app=app,
    )


async def session_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[keys.CALLBACKS]
    timeout = aiohttp.ClientTimeout(total=state.settings.callback_timeout)
    connector = checked_connector(state.settings.callback_allow_private_networks)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, raise_for_status=False
    ) as session:
        state.session = session
        yield
        state.session = None
