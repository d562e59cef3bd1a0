"""Version-translating gateway for legacy Twilio SMS clients."""

__version__ = "0.1.0"
# How the gateway names itself to upstream and to legacy apps.
USER_AGENT = f"twilio-legacy-sms-gateway/{__version__}"
