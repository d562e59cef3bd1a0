"""Fixtures of the adversarial tests: the callback tests' recording legacy app and gateway."""

from tests.callbacks.conftest import gateway, legacy, make_gateway

__all__ = ["gateway", "legacy", "make_gateway"]
