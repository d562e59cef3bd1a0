"""Deterministic rules (pure) for what happens to an outbound message: errors Twilio's magic
test numbers answer at creation, and the delivery outcome the status progression ends in.

Other tests rely on these numbers to produce each outcome on purpose; docs/sandbox.md lists
them. Every other number is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model import ApiError

# Twilio's documented magic test numbers, answered at creation time.
MAGIC_TO_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (
        21612,
        ("The 'To' phone number: +15005550002, is not currently reachable using the 'From' "
        "phone number via SMS."),
    ),
    "+15005550003": (
        21408,
        ("Permission to send an SMS has not been enabled for the region indicated by the 'To' "
        "number: +15005550003."),
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number +15005550009 is not a valid mobile number"),
}
MAGIC_FROM_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (
        21212,
        ("The 'From' number +15005550001 is not a valid phone number, shortcode, or "
        "alphanumeric sender ID."),
    ),
    "+15005550007": (
        21606,
        ("The 'From' phone number provided (+15005550007) is not a valid message-capable "
        "Twilio phone number for this destination/account."),
    ),
    "+15005550008": (
        21611,
        "This 'From' number has exceeded the maximum number of queued messages.",
    ),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """The statuses a message passes through after ``queued``, and the error it ends with."""

    steps: tuple[str, ...]
    error_code: int | None = None
    error_message: str | None = None

    @property
    def final(self) -> str:
        return self.steps[-1]


DELIVERED = Outcome(("sending", "sent", "delivered"))

# Sandbox-only numbers (in Twilio's 500-555 test range) choosing a delivery outcome.
OUTCOME_BY_TO: dict[str, Outcome] = {
    "+15005550010": Outcome(("sending", "sent")),
    "+15005550011": Outcome(("sending", "failed"), 30008, "Unknown error"),
    "+15005550012": Outcome(
        ("sending", "sent", "undelivered"), 30003, "Unreachable destination handset"
    ),
    "+15005550013": Outcome(
        ("sending", "sent", "undelivered"), 30005, "Unknown destination handset"
    ),
    "+15005550014": Outcome(
        ("sending", "sent", "undelivered"), 30006, "Landline or unreachable carrier"
    ),
}


def outcome_for(to: str) -> Outcome:
    return OUTCOME_BY_TO.get(to, DELIVERED)


def check_magic(to: str, from_: str | None) -> None:
    """Raise the error a magic test number answers at creation."""
    if from_ is not None and from_ in MAGIC_FROM_ERRORS:
        code, message = MAGIC_FROM_ERRORS[from_]
        raise ApiError(400, message, code)
    if to in MAGIC_TO_ERRORS:
        code, message = MAGIC_TO_ERRORS[to]
        raise ApiError(400, message, code)
