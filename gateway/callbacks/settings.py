"""The callback settings as the callback code uses them (the checks are
:mod:`gateway.config.checks`)."""

from __future__ import annotations

from gateway.callbacks.urls import parse_allowed_hosts
from gateway.config.settings import Settings


def signing_keys(settings: Settings) -> tuple[str, ...]:
    return settings.signing_keys()


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    return parse_allowed_hosts(settings.callback_allowed_hosts)
