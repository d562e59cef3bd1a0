"""The state store in the metrics: ``sms_gateway_state_store_up`` (1 while the store answers;
with several workers, the lowest any live worker reports) and
``sms_gateway_state_store_errors_total`` (calls that found it unavailable)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from gateway.observability.metrics import PREFIX, Metrics
from gateway.state.monitor import StoreMonitor


def register_store_metrics(metrics: Metrics, monitor: StoreMonitor) -> None:
    up = Gauge(
        f"{PREFIX}_state_store_up",
        "1 while the shared state store answers, 0 while it is unavailable.",
        ["backend"],
        registry=metrics.registry,
        multiprocess_mode="livemin",
    ).labels(monitor.kind)
    errors = Counter(
        f"{PREFIX}_state_store_errors",
        "State store calls that found the store unavailable (timed out or refused).",
        ["backend"],
        registry=metrics.registry,
    ).labels(monitor.kind)
    monitor.on_change(lambda is_up: up.set(1 if is_up else 0))
    monitor.on_error(errors.inc)
