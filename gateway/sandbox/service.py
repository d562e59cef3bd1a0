"""The sandbox's behaviour, apart from HTTP: sending outbound messages into the store and
receiving inbound ones (webhook to the number's SMS URL, TwiML reply sent back out)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.model import ApiError
from gateway.sandbox.accounts import Accounts
from gateway.sandbox.clock import SandboxClock
from gateway.sandbox.lifecycle import Lifecycle
from gateway.sandbox.numbers_rules import country_of, normalize_number
from gateway.sandbox.outbound import CreateRequest, parse_create
from gateway.sandbox.outcomes import outcome_for
from gateway.sandbox.phone_numbers import PhoneNumbers
from gateway.sandbox.requestlog import RequestLog
from gateway.sandbox.segments import num_segments
from gateway.sandbox.store import MessageStore, StoredMessage, new_sid
from gateway.sandbox.twiml import parse_reply
from gateway.sandbox.webhooks import Delivery, WebhookSender

log = logging.getLogger("gateway.sandbox")

GEO_FIELDS = ("City", "State", "Zip", "Country")
# A number with no Messaging Service still gets a sender assigned when it is sent by one.
SERVICE_SENDER = "+15005550006"


@dataclass(slots=True)
class InboundResult:
    message: StoredMessage
    delivery: Delivery | None
    replies: list[StoredMessage] = field(default_factory=list)
    reply_errors: list[ApiError] = field(default_factory=list)


class Sandbox:
    """Everything one sandbox app holds; ``app[SANDBOX]`` in tests."""

    def __init__(
        self,
        store: MessageStore,
        accounts: Accounts,
        clock: SandboxClock,
        numbers: PhoneNumbers,
        sender: WebhookSender,
        request_log: RequestLog,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.clock = clock
        self.numbers = numbers
        self.sender = sender
        self.request_log = request_log
        self.lifecycle = Lifecycle(store, accounts, clock, sender)

    def send(
        self,
        account_sid: str,
        req: CreateRequest,
        *,
        direction: str = "outbound-api",
        via: str = "messages",
    ) -> StoredMessage:
        """Store a validated outbound message as queued and start its progression."""
        now = self.clock.now()
        message = StoredMessage(
            sid=new_sid("MM" if req.media_urls else "SM"),
            account_sid=account_sid,
            to=req.to,
            from_=req.from_,
            body=req.body,
            status="queued",
            direction=direction,
            date_created=now,
            date_updated=now,
            num_segments=num_segments(req.body),
            num_media=len(req.media_urls),
            messaging_service_sid=req.messaging_service_sid,
            status_callback=req.status_callback,
            application_sid=req.application_sid,
            created_via=via,
        )
        if message.from_ is None:
            # Sent through a Messaging Service: Twilio picks the sender from the service's pool.
            message.from_ = SERVICE_SENDER
        self.store.add(message)
        self.lifecycle.start(message, outcome_for(message.to))
        log.info("message %s created (%s, %s)", message.sid, direction, via)
        return message

    async def receive(self, account_sid: str, form: Mapping[str, str]) -> InboundResult:
        """An inbound SMS arrives: store it, call the To number's SMS URL, send the reply."""
        from_raw, to_raw = form.get("From", "").strip(), form.get("To", "").strip()
        if not to_raw:
            raise ApiError(400, "A 'To' phone number is required.", 21604)
        if not from_raw:
            raise ApiError(400, "A 'From' phone number is required.", 21603)
        to = normalize_number(to_raw)
        if to is None:
            raise ApiError(400, f"The 'To' number {to_raw} is not a valid phone number.", 21211)
        from_ = normalize_number(from_raw, allow_alphanumeric=True)
        if from_ is None:
            raise ApiError(
                400, f"The 'From' number {from_raw} is not a valid phone number.", 21212
            )
        body = form.get("Body", "")
        service = form.get("MessagingServiceSid") or None
        now = self.clock.now()
        message = self.store.add(
            StoredMessage(
                sid=new_sid("SM"),
                account_sid=account_sid,
                to=to,
                from_=from_,
                body=body,
                status="received",
                direction="inbound",
                date_created=now,
                date_updated=now,
                date_sent=now,
                num_segments=num_segments(body),
                messaging_service_sid=service,
            )
        )
        log.info("inbound message %s stored", message.sid)
        number = self.numbers.find(account_sid, to)
        if number is None or not number.sms_url:
            return InboundResult(message, None)
        params = inbound_params(message, form)
        token = self.accounts.token(account_sid) or ""
        delivery = await self.sender.send(
            "inbound", number.sms_url, number.sms_method, params, token
        )
        result = InboundResult(message, delivery)
        if delivery.ok:
            for reply in parse_reply(delivery.body):
                self._send_reply(result, reply.to or from_, reply.from_ or to, reply.body,
                                 reply.status_callback)
        return result

    def _send_reply(
        self,
        result: InboundResult,
        to_raw: str,
        from_raw: str,
        body: str,
        status_callback: str | None,
    ) -> None:
        form = [("To", to_raw), ("From", from_raw), ("Body", body)]
        if status_callback:
            form.append(("StatusCallback", status_callback))
        try:
            req = parse_create(form)
        except ApiError as err:
            # Twilio reports a bad <Message> in the debugger, not to the sender of the SMS.
            log.warning("TwiML <Message> reply not sent: %s", err.code)
            result.reply_errors.append(err)
            return
        result.replies.append(
            self.send(result.message.account_sid, req, direction="outbound-reply")
        )


def inbound_params(m: StoredMessage, form: Mapping[str, str]) -> list[tuple[str, str]]:
    """Twilio's current inbound-SMS webhook parameters. Geo fields come from the injection
    request when given; the countries default to the numbers' regions."""
    geo: dict[str, str] = {}
    for side, number in (("From", m.from_ or ""), ("To", m.to)):
        for name in GEO_FIELDS:
            key = side + name
            default = country_of(number) if name == "Country" else ""
            geo[key] = form.get(key, default)
    params = [
        ("ToCountry", geo["ToCountry"]),
        ("ToState", geo["ToState"]),
        ("SmsMessageSid", m.sid),
        ("NumMedia", "0"),
        ("ToCity", geo["ToCity"]),
        ("FromZip", geo["FromZip"]),
        ("SmsSid", m.sid),
        ("FromState", geo["FromState"]),
        ("SmsStatus", "received"),
        ("FromCity", geo["FromCity"]),
        ("Body", m.body),
        ("FromCountry", geo["FromCountry"]),
        ("To", m.to),
    ]
    if m.messaging_service_sid:
        params.append(("MessagingServiceSid", m.messaging_service_sid))
    params += [
        ("ToZip", geo["ToZip"]),
        ("NumSegments", str(m.num_segments)),
        ("MessageSid", m.sid),
        ("AccountSid", m.account_sid),
        ("From", m.from_ or ""),
        ("ApiVersion", m.api_version),
    ]
    return params
