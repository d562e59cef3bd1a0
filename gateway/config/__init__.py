"""The gateway's configuration: declarations (:mod:`.settings`), loading and precedence
(:mod:`.load`), and the checks a loaded configuration must pass (:mod:`.checks`).

Code outside the package imports from here; modules the checks themselves depend on import
:mod:`gateway.config.settings` directly.
"""

from gateway.config.load import load_settings, unknown_env_names
from gateway.config.settings import ConfigError, Settings, setting_fields

__all__ = ["ConfigError", "Settings", "load_settings", "setting_fields", "unknown_env_names"]
