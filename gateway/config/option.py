"""How a setting is declared: :func:`_opt` puts its environment variable, flag, help text,
bounds and masking in the field's metadata; :class:`ConfigError` names a setting the gateway
cannot run with. Imports nothing from the package (the declarations build on it)."""

from __future__ import annotations

from dataclasses import field
from typing import Any


class ConfigError(ValueError):
    """A setting has a value the gateway cannot run with; the message names the setting."""


def _opt(
    default: Any,
    env: str,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    secret: bool = False,
    cli: bool = True,
    mask: Any = None,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
) -> Any:
    """A setting. ``low``/``high`` are inclusive bounds, ``above`` an exclusive lower bound.
    ``mask``: for a value that may carry a secret inside it (a URL with a password), the
    function that hides that part for check-config and logs."""
    return field(
        default=default,
        metadata={
            "env": env, "help": help, "choices": choices, "secret": secret, "cli": cli,
            "mask": mask, "low": low, "high": high, "above": above,
        },
    )
