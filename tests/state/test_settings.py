"""The shared-state settings: flags and environment, validation, check-config's masking."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_settings
from gateway.state.settings import warn_if_unshared


def test_defaults_and_environment() -> None:
    s = load_settings({}, env={})
    assert (s.state_url, s.state_key_prefix, s.state_timeout, s.callback_store_down) == (
        "memory://", "sms-gateway:", 0.5, "retry-later"
    )
    s = load_settings({"state_timeout": "0.25"}, env={
        "GATEWAY_STATE_URL": "rediss://:pw@redis.example:6380/2",
        "GATEWAY_STATE_KEY_PREFIX": "bridge-a:", "GATEWAY_STATE_TIMEOUT": "2",
        "GATEWAY_CALLBACK_STORE_DOWN": "relay",
    })
    assert s.state_url == "rediss://:pw@redis.example:6380/2"
    assert (s.state_key_prefix, s.state_timeout, s.callback_store_down) == (
        "bridge-a:", 0.25, "relay"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"GATEWAY_STATE_URL": "http://redis:6379"}, "memory://, redis://, rediss://, unix://"),
        ({"GATEWAY_STATE_URL": "mysql://u:hunter2@db/x"}, "u:***@db"),
        ({"GATEWAY_STATE_URL": "redis://:hunter2@redis:63a79/0"}, "Port could not be cast"),
        ({"GATEWAY_STATE_URL": "redis://redis:6379/0?socket_timeout=x"}, "socket_timeout"),
        ({"GATEWAY_STATE_URL": "unix://"}, "socket's path"),
        ({"GATEWAY_STATE_TIMEOUT": "0"}, "state_timeout"),
        ({"GATEWAY_CALLBACK_STORE_DOWN": "drop"}, "retry-later, relay"),
    ],
)
def test_invalid(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("*", r"\*")) as info:
        load_settings({}, env=changes)
    assert "hunter2" not in str(info.value)


def test_check_config_masks_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--state-url", "redis://app:hunter2@redis:6379/0"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state_url"] == "redis://app:***@redis:6379/0"
    assert main(["check-config", "--state-url", "redis://redis:6379/0"]) == 0
    assert json.loads(capsys.readouterr().out)["state_url"] == "redis://redis:6379/0"


def test_workers_on_memory_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.state")
    with caplog.at_level(logging.WARNING, logger="test.state"):
        warn_if_unshared(load_settings({"workers": 2}, env={}), log)
        warn_if_unshared(load_settings({"workers": 1}, env={}), log)
        warn_if_unshared(
            load_settings({"workers": 2, "state_url": "redis://r:6379/0"}, env={}), log
        )
    assert len(caplog.records) == 1
    assert "StatusCallback may be relayed more than once" in caplog.records[0].getMessage()
