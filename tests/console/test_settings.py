"""The console's settings are checked at start (exit 2 with the setting named), not when the
first request needs them."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load_settings


def test_defaults_keep_the_ledger_on_and_the_console_off() -> None:
    s = load_settings({}, {})
    assert s.ledger and not s.console_token and not s.sunset


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GATEWAY_SUNSET": "30/06/2027"}, "sunset"),
        ({"GATEWAY_SUNSET": "2027-01-01", "GATEWAY_DEPRECATION_DATE": "2027-02-01"},
         "deprecation_date"),
        ({"GATEWAY_DEPRECATION_DATE": "soon"}, "deprecation_date"),
        ({"GATEWAY_SUNSET_LINK": "ftp://example.test/guide"}, "sunset_link"),
        ({"GATEWAY_CONSOLE_TOKEN": "short"}, "console_token"),
        ({"GATEWAY_CONSOLE_ON_OPS_PORT": "true"}, "console_on_ops_port"),
        ({"GATEWAY_LEDGER_FLUSH_INTERVAL": "0"}, "ledger_flush_interval"),
        ({"GATEWAY_LEDGER_RETENTION_DAYS": "0"}, "ledger_retention_days"),
        ({"GATEWAY_LEDGER_MAX_ACCOUNTS": "0"}, "ledger_max_accounts"),
        ({"GATEWAY_LEDGER_MAX_CLIENTS": "-1"}, "ledger_max_clients"),
    ],
)
def test_bad_console_settings_are_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings({}, env)


def test_the_console_token_is_masked() -> None:
    s = load_settings({}, {"GATEWAY_CONSOLE_TOKEN": "a-console-token-long-enough"})
    assert s.masked()["console_token"] == "****"
