"""The operations settings: precedence (flag > env > file), validation naming the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_settings


def test_defaults_fit_kubernetes_grace_period() -> None:
    s = load_settings({}, env={})
    assert (s.log_format, s.log_mask_numbers, s.metrics_port, s.workers) == ("auto", True, 0, 1)
    assert s.drain_delay < s.drain_timeout < 30  # k8s' default terminationGracePeriodSeconds
    assert s.upstream_max_concurrency >= 1


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text('log_format = "text"\nworkers = 2\ndrain_timeout = 12.5\n'
                   "log_mask_numbers = false\nmetrics_port = 9100\n")
    env = {"GATEWAY_CONFIG_FILE": str(cfg), "GATEWAY_WORKERS": "3",
           "GATEWAY_LOG_MASK_NUMBERS": "true"}
    s = load_settings({"workers": 4}, env=env)
    assert s.workers == 4  # flag
    s = load_settings({}, env=env)
    assert s.workers == 3 and s.log_mask_numbers is True  # env
    assert (s.log_format, s.drain_timeout, s.metrics_port) == ("text", 12.5, 9100)  # file


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"GATEWAY_LOG_FORMAT": "xml"}, "log_format"),
        ({"GATEWAY_LOG_MASK_NUMBERS": "maybe"}, "GATEWAY_LOG_MASK_NUMBERS"),
        ({"GATEWAY_METRICS_PORT": "70000"}, "metrics_port"),
        ({"GATEWAY_METRICS_PORT": "8080"}, "metrics_port"),  # same as the main port
        ({"GATEWAY_WORKERS": "0"}, "workers"),
        ({"GATEWAY_WORKERS": "two"}, "GATEWAY_WORKERS"),
        ({"GATEWAY_UPSTREAM_MAX_CONCURRENCY": "0"}, "upstream_max_concurrency"),
        ({"GATEWAY_DRAIN_TIMEOUT": "0"}, "drain_timeout"),
        ({"GATEWAY_DRAIN_DELAY": "25"}, "drain_delay"),  # not within drain_timeout (20)
        ({"GATEWAY_DRAIN_DELAY": "-1"}, "drain_delay"),
        ({"GATEWAY_READINESS_CACHE": "-0.5"}, "readiness_cache"),
    ],
)
def test_invalid_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings({}, env=env)


def test_cli_flags_and_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--workers", "2", "--log-format", "json",
                 "--no-log-mask-numbers", "--drain-delay", "5"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["workers"], shown["log_format"], shown["log_mask_numbers"],
            shown["drain_delay"]) == (2, "json", False, 5.0)
    assert main(["check-config", "--drain-delay", "30"]) == 2
    assert "drain_delay" in capsys.readouterr().err
