"""Fixtures for the upstream client's tests: a scriptable fake of the current API."""

from tests.ops.conftest import fake_upstream

__all__ = ["fake_upstream"]
