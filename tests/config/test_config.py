"""Configuration: precedence, validation, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_settings


def test_defaults() -> None:
    s = load_settings({}, env={})
    assert s.port == 8080
    assert s.body_limit == 160
    assert s.default_region == "US"
    assert s.upstream_api == "messages"


def test_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text('body_limit = 300\nport = 9000\ndefault_region = "gb"\n')
    env = {"GATEWAY_CONFIG_FILE": str(cfg), "GATEWAY_BODY_LIMIT": "400"}
    s = load_settings({"body_limit": 500}, env=env)
    assert s.body_limit == 500  # flag
    s = load_settings({}, env=env)
    assert s.body_limit == 400  # env
    assert s.port == 9000  # file
    assert s.default_region == "GB"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT"),
        ({"GATEWAY_BODY_LIMIT": "1601"}, "body_limit"),
        ({"GATEWAY_UPSTREAM_API": "soap"}, "upstream_api"),
        ({"GATEWAY_UPSTREAM_URL": "ftp://x"}, "upstream_url"),
        ({"GATEWAY_DEFAULT_REGION": "XX"}, "default_region"),
        ({"GATEWAY_LEGACY_TIMEZONE": "Mars/Base"}, "legacy_timezone"),
        ({"GATEWAY_UPSTREAM_TIMEOUT": "nan"}, "GATEWAY_UPSTREAM_TIMEOUT"),
        ({"GATEWAY_TOTAL_TTL": "inf"}, "GATEWAY_TOTAL_TTL"),
        ({"GATEWAY_UPSTREAM_PAGE_SIZE": "5000"}, "upstream_page_size"),
        ({"GATEWAY_TOTAL_BOUND": "-1"}, "total_bound"),
        ({"GATEWAY_CURSOR_CACHE_SIZE": "0"}, "cursor_cache_size"),
        ({"GATEWAY_CURSOR_TTL": "-1"}, "cursor_ttl"),
        ({"GATEWAY_UPSTREAM_MAX_CONNECTIONS": "0"}, "upstream_max_connections"),
        ({"SANDBOX_MAX_MESSAGES": "-1"}, "sandbox_max_messages"),
    ],
)
def test_invalid_settings_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings({}, env=env)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text("bodylimit = 3\n")
    with pytest.raises(ConfigError, match="bodylimit"):
        load_settings({"config_file": str(cfg)}, env={})


def test_check_config_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--body-limit", "1600"]) == 0
    assert '"body_limit": 1600' in capsys.readouterr().out
    assert main(["check-config", "--body-limit", "0"]) == 2
    assert "body_limit" in capsys.readouterr().err


def test_configuration_doc_lists_every_setting() -> None:
    from pathlib import Path as _Path

    from gateway.configdoc import render_into

    doc = _Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    text = doc.read_text(encoding="utf-8")
    assert render_into(text) == text, "run: python -m gateway.configdoc docs/configuration.md"


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--total-bound", "-1"],
        ["serve", "--upstream-page-size", "5000"],
        ["sandbox", "--sandbox-max-messages", "0"],
        ["serve", "--upstream-timeout", "nan"],
    ],
)
def test_bad_flags_exit_2_before_serving(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # these used to pass validation and fail (traceback) or run misconfigured once serving
    assert main(argv) == 2
    assert "configuration error" in capsys.readouterr().err
