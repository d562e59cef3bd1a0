"""How a setting is declared: :func:`_opt` puts its environment variable, flag, help text,
bounds and masking in the field's metadata; :class:`ConfigError` names a setting the gateway
cannot run with. Imports nothing from the package (the declarations build on it)."""

from __future__ import annotations

from dataclasses import field
from typing import Any


class ConfigError(ValueError):
    """A setting has a value the gateway cannot run with; the message names the setting."""


def opt(
    default: Any,
    env: str,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    secret: bool = False,
    cli: bool = True,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    mask: Any = None,
) -> Any:
    """A setting. ``low``/``high`` are inclusive bounds, ``above`` an exclusive lower bound;
    ``mask`` hides the secret part of a value (a URL's password) from check-config."""
    return field(
        default=default,
        metadata={
            "env": env, "help": help, "choices": choices, "secret": secret, "cli": cli,
            "low": low, "high": high, "above": above, "mask": mask,
        },
    )
