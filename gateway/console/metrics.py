"""The ledger's Prometheus families: requests per legacy feature and legacy clients seen.

Labels are closed sets (four legacy dialects, the features of :mod:`.features`); accounts and
clients are never labels. Counted at each flush, so a scrape lags by at most one interval.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter

from gateway.observability.metrics import PREFIX


class LedgerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.feature_requests = Counter(
            f"{PREFIX}_legacy_feature_requests",
            "Legacy requests that used a legacy feature (page jumps, totals, <Sms> TwiML...), "
            "by dialect and feature.",
            ["dialect", "feature"],
            registry=registry,
        )
        self.clients_seen = Counter(
            f"{PREFIX}_legacy_clients_seen",
            "Legacy clients (account and normalised User-Agent) seen for the first time within "
            "the ledger's retention.",
            registry=registry,
        )

    def on_flush(self, by_feature: Mapping[tuple[str, str], int], new_clients: int) -> None:
        for (dialect, feature), count in by_feature.items():
            self.feature_requests.labels(dialect, feature).inc(count)
        if new_clients:
            self.clients_seen.inc(new_clients)
