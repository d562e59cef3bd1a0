"""Current-API callback and webhook parameters -> the legacy ones (pure; no I/O).

Decisions (docs/callbacks.md explains them):
- Status callbacks: the first event that decides the outcome is forwarded, as ``sent`` or
  ``failed``; ``queued``/``sending``/... decide nothing, and anything after the decision is
  acknowledged without a legacy call (the legacy APIs posted once).
- 2008 status callback: ``SmsSid, SmsStatus`` exactly, as the 2008 docs say.
- 2010-04-01 /SMS/Messages status callback: ``AccountSid, ApiVersion, From, SmsSid,
  SmsStatus, To`` (the 2010 API sent AccountSid, From, To and ApiVersion with every request).
- ``<Sms action>`` callback: ``SmsSid`` and ``SmsStatus=sending|invalid`` (2008 TwiML docs),
  plus AccountSid.
- Inbound SMS: ``SmsSid, AccountSid, From, To, Body`` and the geo fields Twilio sent, non-empty
  ones only; no SmsStatus (the 2008 request had none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gateway.callbacks.tokens import ACTION, STATUS
from gateway.mapping.status import STATUS_2008

V2008 = "v2008"
SMS2010 = "sms2010"
DIALECTS = (V2008, SMS2010)

Params = list[tuple[str, str]]

# The legacy outcomes a status callback reports: the final ones of the 2008 status table.
_DECIDED = frozenset({"sent", "failed"})
GEO_FIELDS = (
    "FromCity", "FromState", "FromZip", "FromCountry", "ToCity", "ToState", "ToZip", "ToCountry",
)


def message_sid(params: Mapping[str, str]) -> str:
    """The message sid of a current-API callback (MessageSid; SmsSid/SmsMessageSid agree)."""
    return params.get("MessageSid") or params.get("SmsSid") or params.get("SmsMessageSid") or ""


def current_status(params: Mapping[str, str]) -> str:
    return (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()


def decided_status(kind: str, status: str) -> str | None:
    """The legacy status this event decides, or None when it decides nothing yet (the 2008
    status of :data:`gateway.mapping.status.STATUS_2008`, when it is final)."""
    legacy = STATUS_2008.get(status)
    if kind == ACTION:
        # Twilio requests a <Message action> once; the 2008 <Sms action> saw sending|invalid.
        if not status:
            return None
        return "invalid" if legacy == "failed" else "sending"
    return legacy if legacy in _DECIDED else None


def legacy_status_params(
    kind: str, dialect: str, params: Mapping[str, str], legacy_status: str
) -> Params:
    """The form a legacy StatusCallback (or <Sms action>) URL receives, in order."""
    sid = message_sid(params)
    if kind == STATUS and dialect == SMS2010:
        # Alphabetical, as Twilio orders its form parameters (and as the sandbox's own
        # /SMS/Messages callbacks are).
        return [
            ("AccountSid", params.get("AccountSid", "")),
            ("ApiVersion", "2010-04-01"),
            ("From", params.get("From", "")),
            ("SmsSid", sid),
            ("SmsStatus", legacy_status),
            ("To", params.get("To", "")),
        ]
    out: Params = [("SmsSid", sid), ("SmsStatus", legacy_status)]
    if kind == ACTION:
        out.append(("AccountSid", params.get("AccountSid", "")))
    return out


def legacy_inbound_params(
    params: Mapping[str, str], render_number: Callable[[str], str]
) -> Params:
    """The 2008 inbound-SMS parameter set, numbers rendered for the legacy app."""
    out: Params = [
        ("SmsSid", message_sid(params)),
        ("AccountSid", params.get("AccountSid", "")),
        ("From", render_number(params.get("From", ""))),
        ("To", render_number(params.get("To", ""))),
        ("Body", params.get("Body", "")),
    ]
    out += [(name, params[name]) for name in GEO_FIELDS if params.get(name)]
    return out
