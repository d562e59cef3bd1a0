"""Typed application keys of the sandbox app, for handlers and for tests."""

from __future__ import annotations

from aiohttp import web

from gateway.sandbox.clock import SandboxClock
from gateway.sandbox.lifecycle import Lifecycle
from gateway.sandbox.phone_numbers import PhoneNumbers
from gateway.sandbox.requestlog import RequestLog
from gateway.sandbox.service import Sandbox
from gateway.sandbox.store import MessageStore
from gateway.sandbox.webhooks import WebhookSender

SANDBOX = web.AppKey("sandbox", Sandbox)
STORE = web.AppKey("sandbox_store", MessageStore)
REQUEST_LOG = web.AppKey("sandbox_request_log", RequestLog)
CLOCK = web.AppKey("sandbox_clock", SandboxClock)
LIFECYCLE = web.AppKey("sandbox_lifecycle", Lifecycle)
WEBHOOKS = web.AppKey("sandbox_webhooks", WebhookSender)
NUMBERS = web.AppKey("sandbox_numbers", PhoneNumbers)
