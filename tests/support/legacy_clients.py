"""Real, unmodified legacy Twilio client libraries for compatibility tests.

Old releases cannot share a virtualenv with the current ``twilio`` package the other tests use,
so each is installed once with ``pip install --target`` into ``.legacy-clients/`` at the
repository root (git-ignored) and run in a subprocess with that folder first on PYTHONPATH.
Node.js releases (``install_npm``) go to their own folder there too, with ``npm install
--prefix``, and run with that ``node_modules`` on NODE_PATH.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".legacy-clients"


def install(requirement: str) -> Path:
    """Install ``requirement`` (e.g. ``twilio==5.7.0``) into its own folder once; return it."""
    target = CACHE / requirement.replace("==", "-")
    marker = target / ".installed"
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test processes install once
        if not marker.exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "--target", str(target), requirement],
                check=True,
            )
            marker.write_text(requirement)
    return target


def run_script(
    requirement: str,
    script: str,
    *args: str,
    timeout: float = 60,
    path_before: Sequence[Path] = (),
    extra_env: Mapping[str, str] | None = None,
) -> str:
    """Run ``script`` (Python source) with the legacy library importable; return its stdout.
    ``path_before`` goes ahead of the library on PYTHONPATH (a patched copy of one of its
    files, a sitecustomize); ``extra_env`` is added to the environment. Raises
    CalledProcessError with the script's stderr on failure."""
    path = install(requirement)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join([*map(str, path_before), str(path)])
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, "legacy client", proc.stdout, proc.stderr)
    return proc.stdout


def install_npm(package: str) -> Path:
    """Install the npm ``package`` (e.g. ``twilio@2.11.1``) into its own folder once; return
    its node_modules."""
    target = CACHE / ("node-" + package.replace("@", "-"))
    marker = target / ".installed"
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            target.mkdir(exist_ok=True)
            subprocess.run(
                ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                 str(target), package],
                check=True, timeout=600,
            )
            marker.write_text(package)
    return target / "node_modules"
