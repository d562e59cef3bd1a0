"""Version-translating gateway for legacy Twilio SMS clients."""

__version__ = "0.1.0"
