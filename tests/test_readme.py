"""README.md's figures about the suite stay true: the number of tests is checked here against
what pytest collects; the time is compared after every whole-suite run (tests/conftest.py),
as a warning rather than a failure, because wall time depends on the machine's load."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.readme import README, suite_claim

ROOT = README.parent


def test_readme_test_count_is_within_a_tenth_of_the_collected_count() -> None:
    claim = suite_claim()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"],
        capture_output=True, text=True, timeout=120, cwd=str(ROOT), check=False,
    )
    found = re.search(r"^(\d+) tests? collected", proc.stdout, re.MULTILINE)
    assert found, proc.stdout[-2000:] + proc.stderr[-2000:]
    collected = int(found.group(1))
    assert abs(collected - claim.tests) <= collected / 10, (
        f"README.md says about {claim.tests} tests; pytest collects {collected}: update it"
    )


def test_the_claim_is_read_from_the_sentence_it_is_in() -> None:
    claim = suite_claim("Tests: `pytest` runs everything (about 1,234 tests, under 4 minutes on")
    assert (claim.tests, claim.minutes) == (1234, 4)
