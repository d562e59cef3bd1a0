"""The embedded Twilio-compatible sandbox upstream: an in-memory emulation of the current
Messages API (and of the deprecated 2010-04-01 /SMS/Messages resource), served by aiohttp.

See docs/sandbox.md for what it emulates and the rules it follows.
"""
