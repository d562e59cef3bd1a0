"""Suite-wide settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.readme import suite_claim

# CI runs the property tests on a fixed seed so a submission is judged on the same examples
# each time; developers' runs (no CI variable) keep exploring new ones and find new bugs.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# --- README's "about N tests, under M minutes" ---------------------------------------------------
# The count is a test (tests/test_readme.py); the time can only be seen on a whole run, and is
# reported, not asserted: a loaded machine is slower without anything being wrong.

_started: list[float] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _started.append(time.monotonic())


def _whole_suite(config: pytest.Config) -> bool:
    args = [Path(a).resolve() for a in config.args]
    everything = {config.rootpath.resolve(), (config.rootpath / "tests").resolve()}
    return (
        (not args or set(args) <= everything)
        and not config.option.keyword
        and not config.option.markexpr
        and not config.option.collectonly
    )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if not _started or not _whole_suite(config):
        return
    took = time.monotonic() - _started[0]
    claim = suite_claim()
    if took > claim.minutes * 60:
        terminalreporter.write_line(
            f"README.md says the suite runs in under {claim.minutes} minutes; this whole run "
            f"took {took / 60:.1f}. Update README.md if that is the usual time now.",
            yellow=True,
        )
