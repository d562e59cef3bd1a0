"""Fixtures for the dialects' tests: a gateway before the embedded sandbox."""

from tests.support.sandbox_gateway import make_gateway, sandbox

__all__ = ["make_gateway", "sandbox"]
