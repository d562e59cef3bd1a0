"""What the console keeps on the gateway app (``app[keys.CONSOLE]``): settings, the store, the
ledger, the embedded sandbox and the relays it saw."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date

from gateway.config import Settings
from gateway.console.ledger import Ledger
from gateway.sandbox.service import Sandbox
from gateway.state.base import StateStore

# Callbacks and webhooks the gateway relayed to legacy apps, kept for the sandbox view.
RELAYS_KEPT = 200


@dataclass(frozen=True, slots=True)
class Relay:
    at: float
    kind: str  # "status_callback" | "action_callback" | "inbound_sms"
    account: str
    status: int  # what the gateway answered Twilio: the legacy app's status, or an error


@dataclass(slots=True)
class ConsoleState:
    settings: Settings
    # The process's state store, once the app has started (None before).
    store: StateStore | None
    ledger: Ledger | None
    started: date
    # The embedded sandbox, in --sandbox mode (same process): its messages and the form.
    sandbox: Sandbox | None = None
    relays: deque[Relay] = field(default_factory=lambda: deque(maxlen=RELAYS_KEPT))

