"""The paging settings' declarations (docs/paging.md), fields of
:class:`~gateway.config.settings.Settings` like every other setting: the total modes and the
paging index's lifetimes, and the paging-at-scale settings of issue 18 with the sandbox's knobs
for reproducing a large account behind a slow upstream (docs/sandbox.md)."""

from __future__ import annotations

from typing import Any

from gateway.config.option import opt

TOTAL_MODE: Any = opt(
    "exact",
    "GATEWAY_TOTAL_MODE",
    "How list totals are computed over the cursor-only current API: 'exact' (count the whole "
    "filtered list once, in the background, and keep the count exact), 'bounded' (count at "
    "most --total-bound messages) or 'off' (no totals). See docs/paging.md.",
    choices=("exact", "bounded", "off"),
)

TOTAL_BOUND: Any = opt(
    10000,
    "GATEWAY_TOTAL_BOUND",
    "With --total-mode bounded: the most messages counted per list.",
    low=1,
)

TOTAL_TTL: Any = opt(
    21600.0,
    "GATEWAY_TOTAL_TTL",
    "Seconds an exact list count is trusted before a background recount re-verifies it "
    "(catches deletions inside the list); new messages are counted as they arrive.",
    low=0,
)

CURSOR_CACHE_SIZE: Any = opt(
    10000,
    "GATEWAY_CURSOR_CACHE_SIZE",
    "Most entries of the process-local paging index (the memory:// store and the fallback "
    "when the shared state store fails), all accounts together.",
    low=1,
)

CURSOR_TTL: Any = opt(
    86400.0,
    "GATEWAY_CURSOR_TTL",
    "Seconds a list's paging index (count, checkpoints) is kept in the state store after "
    "its last change.",
    low=0,
)

UPSTREAM_PAGE_SIZE: Any = opt(
    1000,
    "GATEWAY_UPSTREAM_PAGE_SIZE",
    "PageSize the gateway asks upstream for when serving a legacy list page (1..1000); "
    "legacy pages are sliced out of these upstream pages. 0 asks upstream for the legacy "
    "page size itself (no slicing). See docs/paging.md.",
    low=0, high=1000,
)

# --- paging at scale (issue 18) ---

PAGING_WAIT: Any = opt(
    5.0,
    "GATEWAY_PAGING_WAIT",
    "Seconds a legacy list request waits for a running background count (or for the count "
    "to reach a deep page) before answering with a provisional total; always within "
    "--upstream-timeout. See docs/paging.md.",
    low=0,
)

PAGING_MAX_REQUESTS: Any = opt(
    20,
    "GATEWAY_PAGING_MAX_REQUESTS",
    "Most upstream list reads one legacy list request may make (background counts not "
    "included).",
    low=3,
)

PAGING_ACCOUNT_RPS: Any = opt(
    100,
    "GATEWAY_PAGING_ACCOUNT_RPS",
    "Most upstream list reads per account per second in each process, pages and "
    "background counts together.",
    low=1,
)

PAGING_COUNT_CONCURRENCY: Any = opt(
    2,
    "GATEWAY_PAGING_COUNT_CONCURRENCY",
    "Most background list counts one process runs at a time per account.",
    low=1,
)

PAGING_BOUND_AS_TOTAL: Any = opt(
    False,
    "GATEWAY_PAGING_BOUND_AS_TOTAL",
    "With --total-mode bounded: report the messages counted up to the bound as the total "
    "(the behaviour before issue 18) instead of a provisional total that errs high.",
)

SANDBOX_LATENCY: Any = opt(
    0.0,
    "SANDBOX_LATENCY",
    "Sandbox: seconds added to every API request before it is answered (to reproduce the "
    "real API's round trip locally).",
    low=0, high=60,
)

SANDBOX_SEED: Any = opt(
    "",
    "SANDBOX_SEED",
    "Sandbox: accounts to fill with messages at start, 'AccountSid:count' pairs, "
    "comma-separated (bulk seeding for paging experiments).",
)
