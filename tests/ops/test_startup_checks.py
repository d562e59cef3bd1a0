"""Mistakes a newcomer makes, caught at start: an upstream URL with a path, a typo'd
environment variable, half a TLS pair; and the production defaults a plain install gets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib

import pytest

from gateway.config import ConfigError, load_settings, unknown_env_names
from tests.ops.conftest import ROOT, FakeUpstream, StartGateway


@pytest.mark.parametrize("url", [
    "https://api.twilio.com/2010-04-01",
    "https://api.twilio.com/v1/",
    "https://api.twilio.com?x=1",
    "http://",
    "https://api.twilio.com:notaport",
])
def test_upstream_url_with_a_path_or_no_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_UPSTREAM_URL"):
        load_settings(env={"GATEWAY_UPSTREAM_URL": url})


@pytest.mark.parametrize("url", ["https://api.twilio.com", "http://127.0.0.1:8081/"])
def test_upstream_url_without_a_path_is_accepted(url: str) -> None:
    assert load_settings(env={"GATEWAY_UPSTREAM_URL": url}).upstream_url == url


def test_upstream_url_with_a_path_fails_the_cli_with_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--upstream-url",
         "https://api.twilio.com/2010-04-01"],
        capture_output=True, text=True, timeout=60, cwd=str(ROOT), check=False,
    )
    assert proc.returncode == 2
    assert "has a path" in proc.stderr and "Traceback" not in proc.stderr


def test_half_a_tls_pair_is_refused() -> None:
    with pytest.raises(ConfigError, match="give both or neither"):
        load_settings(env={"GATEWAY_TLS_KEY": "/etc/ssl/private/key.pem"})


def test_unknown_env_names() -> None:
    env = {
        "GATEWAY_UPSTREM_URL": "x", "SANDBOX_TICKS": "1", "GATEWAY_PORT": "1",
        "SANDBOX_TICK": "0", "HOME": "/root", "GATEWAYX": "1",
    }
    assert unknown_env_names(env) == ["GATEWAY_UPSTREM_URL", "SANDBOX_TICKS"]


async def test_a_typoed_variable_is_reported_at_start_by_name_only(
    start_gateway: StartGateway,
) -> None:
    secret = "hunter2-the-auth-token"
    gw = await start_gateway(
        "--sandbox", "--port", "0",
        env={"GATEWAY_CALLBACK_SIGNING_KEYS": secret, "GATEWAY_LOG_LEVEL": "INFO"},
    )
    line = await gw.wait_log("GATEWAY_CALLBACK_SIGNING_KEYS")
    assert "names no setting" in line and '"level":"warning"' in line
    assert not any(secret in entry for entry in gw.lines)


def test_plain_install_has_the_fast_path_and_speed_stays_an_alias() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {d.split(">")[0].split(";")[0].strip(): d for d in project["dependencies"]}
    assert "sys_platform != 'win32'" in deps["uvloop"]
    assert "platform_python_implementation == 'CPython'" in deps["orjson"]
    assert "cryptography" in deps
    speed = {d.split(">")[0] for d in project["optional-dependencies"]["speed"]}
    assert speed == {"uvloop", "orjson"}


def test_check_config_warns_about_a_typoed_variable_too() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SANDBOX_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config"],
        env={**env, "SANDBOX_TICKS": "0.5"},
        capture_output=True, text=True, timeout=60, cwd=str(ROOT), check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SANDBOX_TICKS names no setting" in proc.stderr and "0.5" not in proc.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_upstream_that_is_the_gateway_itself_is_reported(
    start_gateway: StartGateway,
) -> None:
    port = _free_port()
    gw = await start_gateway("--port", str(port), "--upstream-url", f"http://localhost:{port}")
    line = await gw.wait_log("forwarded to the gateway itself")
    assert '"level":"warning"' in line and "api.us1.twilio.com" in line


async def test_a_real_upstream_is_not_reported(
    start_gateway: StartGateway, fake_upstream: FakeUpstream
) -> None:
    gw = await start_gateway("--port", "0", "--upstream-url", fake_upstream.url)
    await gw.wait_log("gateway listening on")
    assert not any("gateway itself" in line for line in gw.lines)
