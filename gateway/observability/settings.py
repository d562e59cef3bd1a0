"""Validation of the operations settings (logging, metrics, workers, drain), kept beside the code
that uses them; :func:`gateway.config._validate` calls it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import Settings

MAX_WORKERS = 256


def validate_operations_settings(s: Settings) -> None:
    from gateway.config import ConfigError

    if not 0 <= s.metrics_port <= 65535:
        raise ConfigError(
            f"setting 'metrics_port' (GATEWAY_METRICS_PORT): {s.metrics_port} is not a TCP port"
        )
    if s.metrics_port and s.metrics_port == s.port:
        raise ConfigError(
            f"setting 'metrics_port' (GATEWAY_METRICS_PORT): {s.metrics_port} is also the main "
            "port; use 0 to serve /metrics on the main port only"
        )
    if not 1 <= s.workers <= MAX_WORKERS:
        raise ConfigError(
            f"setting 'workers' (GATEWAY_WORKERS): {s.workers} is not within 1..{MAX_WORKERS}"
        )
    if s.upstream_max_concurrency < 1:
        raise ConfigError(
            "setting 'upstream_max_concurrency' (GATEWAY_UPSTREAM_MAX_CONCURRENCY): "
            f"{s.upstream_max_concurrency} must be at least 1"
        )
    if s.drain_timeout <= 0:
        raise ConfigError(
            f"setting 'drain_timeout' (GATEWAY_DRAIN_TIMEOUT): {s.drain_timeout} must be > 0"
        )
    if not 0 <= s.drain_delay < s.drain_timeout:
        raise ConfigError(
            f"setting 'drain_delay' (GATEWAY_DRAIN_DELAY): {s.drain_delay} must be >= 0 and "
            f"less than drain_timeout ({s.drain_timeout})"
        )
    if s.readiness_cache < 0:
        raise ConfigError(
            f"setting 'readiness_cache' (GATEWAY_READINESS_CACHE): {s.readiness_cache} is "
            "negative"
        )
