"""How a setting is declared: a dataclass field whose metadata carries its environment variable,
help, choices and bounds. A leaf module, so that groups of settings can be declared beside the
subsystem they belong to (:mod:`gateway.config.paging_fields`) and still be fields of the one
:class:`~gateway.config.settings.Settings`."""

from __future__ import annotations

from dataclasses import field
from typing import Any


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
