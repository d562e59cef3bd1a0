"""What the console shows of the embedded sandbox (``--sandbox``): its newest messages with
their status progression, the callbacks and webhooks it sent, the relays the gateway made to
legacy apps, and the injection of an inbound SMS. Message bodies are shown here only: they are
the sandbox's own test data. Numbers are masked as the logs mask them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from gateway.console.state import Relay
from gateway.model import ApiError
from gateway.sandbox.outcomes import outcome_for
from gateway.sandbox.service import Sandbox
from gateway.sandbox.store import Filter, StoredMessage
from gateway.sandbox.webhooks import Delivery

SHOWN: Final = 50
# A path segment this long is a token (the gateway's signed callback tokens): shortened.
_TOKEN_LENGTH = 24

Mask = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Step:
    status: str
    state: str  # "done" | "current" | "next"


@dataclass(frozen=True, slots=True)
class MessageRow:
    sid: str
    account: str
    direction: str
    from_: str
    to: str
    body: str
    status: str
    created: datetime
    via: str
    steps: tuple[Step, ...]
    callbacks: tuple[str, ...]  # "sent -> 200" per status callback the sandbox sent


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    kind: str
    method: str
    target: str
    message_status: str
    status: str
    attempts: int


def progression(m: StoredMessage) -> tuple[Step, ...]:
    """The statuses the message goes through, which are behind it, and where it is."""
    if m.direction == "inbound":
        path: tuple[str, ...] = ("received",)
    else:
        path = ("queued", *outcome_for(m.to).steps)
    at = path.index(m.status) if m.status in path else -1
    return tuple(
        Step(s, "done" if i < at else "current" if i == at else "next")
        for i, s in enumerate(path)
    )


def short_target(url: str) -> str:
    """Host and path only (no query, no credentials), long tokens shortened."""
    parts = urlsplit(url)
    segments = [
        s[:6] + "\u2026" if len(s) > _TOKEN_LENGTH else s for s in parts.path.split("/")
    ]
    host = parts.hostname or ""
    return f"{host}{':' + str(parts.port) if parts.port else ''}{'/'.join(segments)}"


def _status_of(params: Mapping[str, str]) -> str:
    return params.get("MessageStatus") or params.get("SmsStatus") or ""


def _callbacks(deliveries: Iterable[Delivery]) -> dict[str, list[str]]:
    by_sid: dict[str, list[str]] = {}
    for d in deliveries:
        params = d.param_dict()
        sid = params.get("MessageSid") or params.get("SmsSid")
        if sid and d.kind == "status_callback":
            answer = str(d.status) if d.status is not None else (d.error or "no answer")
            by_sid.setdefault(sid, []).append(f"{_status_of(params)} \u2192 {answer}")
    return by_sid


def messages(sandbox: Sandbox, mask: Mask, limit: int = SHOWN) -> list[MessageRow]:
    newest: list[StoredMessage] = []
    for account in sandbox.store.accounts():
        newest.extend(sandbox.store.older_than(account, Filter(), None, limit))
    newest.sort(key=lambda m: m.date_created, reverse=True)
    callbacks = _callbacks(sandbox.sender.deliveries)
    return [
        MessageRow(
            sid=m.sid, account=m.account_sid, direction=m.direction,
            from_=mask(m.from_ or ""), to=mask(m.to), body=m.body, status=m.status,
            created=m.date_created, via=m.created_via, steps=progression(m),
            callbacks=tuple(callbacks.get(m.sid, ())),
        )
        for m in newest[:limit]
    ]


def deliveries(sandbox: Sandbox, limit: int = SHOWN) -> list[DeliveryRow]:
    rows = []
    for d in reversed(sandbox.sender.deliveries[-limit:]):
        answer = str(d.status) if d.status is not None else (d.error or "no answer")
        rows.append(
            DeliveryRow(d.kind, d.method, short_target(d.url), _status_of(d.param_dict()),
                        answer, d.attempts)
        )
    return rows


def relays(kept: Iterable[Relay]) -> list[Relay]:
    return list(reversed(list(kept)))


async def inject(sandbox: Sandbox, account: str, form: Mapping[str, str]) -> dict[str, Any]:
    """An inbound SMS into the sandbox, as ``POST /sandbox/Accounts/{sid}/Inbound`` would."""
    fields = {k: form.get(k, "") for k in ("From", "To", "Body")}
    try:
        result = await sandbox.receive(account, fields)
    except ApiError as err:
        return {"ok": False, "code": err.code, "message": err.message}
    delivery = result.delivery
    return {
        "ok": True,
        "sid": result.message.sid,
        "sms_url": short_target(delivery.url) if delivery else None,
        "sms_url_status": delivery.status if delivery else None,
        "replies": len(result.replies),
    }


def when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
