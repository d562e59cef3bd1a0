"""Loading: where each setting's value comes from, and in which order.

Precedence: command-line flag > environment variable > config file (TOML) > default. Values are
coerced to the field's type here; whether they make sense is :mod:`gateway.config.checks`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from gateway.config.checks import check
from gateway.config.settings import ConfigError, Settings

# Prefixes of the environment variables the gateway reads; a variable with one of them that
# names no setting is most likely a typo, silently ignored otherwise.
ENV_PREFIXES = ("GATEWAY_", "SANDBOX_")


def _coerce(name: str, raw: Any, target: Any) -> Any:
    kind = type(target)
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if kind is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(raw)
            # nan passes every range check (all comparisons are false); inf means nothing
            # here either (0 is how a setting says "no limit")
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"setting {name!r}: {raw!r} is not a valid {kind.__name__}"
        ) from None


def _from_file(config_file: str, defaults: Settings) -> dict[str, Any]:
    try:
        data = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"setting 'config_file': cannot read {config_file!r}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"setting 'config_file': {config_file!r} is not TOML: {exc}") from None
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"config file {config_file!r}: unknown setting {key!r}")
        values[name] = _coerce(name, raw, getattr(defaults, name))
    return values


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build checked settings from CLI values (None = not given), the environment and the
    optional TOML file named by either of them."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = os.environ if env is None else env
    defaults = Settings()
    values: dict[str, Any] = {}

    config_file = cli.get("config_file") or env.get("GATEWAY_CONFIG_FILE") or ""
    if config_file:
        values.update(_from_file(config_file, defaults))

    for f in fields(Settings):
        env_name = f.metadata["env"]
        if env_name in env:
            values[f.name] = _coerce(env_name, env[env_name], getattr(defaults, f.name))
        if f.name in cli:
            flag = "--" + f.name.replace("_", "-")
            values[f.name] = _coerce(flag, cli[f.name], getattr(defaults, f.name))

    if "default_region" in values:
        values["default_region"] = str(values["default_region"]).upper()
    settings = dataclasses.replace(defaults, **values)
    check(settings)
    return settings


def unknown_env_names(env: Mapping[str, str] | None = None) -> list[str]:
    """Names of ``GATEWAY_*``/``SANDBOX_*`` environment variables that match no setting, for a
    warning at start (the names only: a value could be a secret)."""
    env = os.environ if env is None else env
    known = {f.metadata["env"] for f in fields(Settings)}
    return sorted(n for n in env if n.startswith(ENV_PREFIXES) and n not in known)
