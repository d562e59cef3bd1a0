"""The console's settings as its code uses them: the dates read from their text (the checks in
:mod:`gateway.config.checks` read them the same way)."""

from __future__ import annotations

from datetime import date

from gateway.config.settings import ConfigError, Settings


def parse_date(name: str, env: str, text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"setting {name!r} ({env}): {text!r} is not a date YYYY-MM-DD") from None


def sunset_date(s: Settings) -> date | None:
    return parse_date("sunset", "GATEWAY_SUNSET", s.sunset)
