"""Traffic Twilio sends back: status callbacks relayed to legacy apps and inbound SMS bridged
to them, translated to the legacy parameters and TwiML and re-signed for the legacy URL."""

from gateway.callbacks.wrap import wrap_status_callback

__all__ = ["wrap_status_callback"]
