"""The paging settings (docs/paging.md), a section of :class:`gateway.config.settings.Settings`
declared apart so that no module passes 400 lines: the total modes, the paging index's lifetimes,
the paging-at-scale limits, and the sandbox's knobs for reproducing a large account behind a
slow upstream (docs/sandbox.md)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.option import opt as _opt


@dataclass(frozen=True)
class PagingSettings:
    # --- paging ---------------------------------------------------------------------------
    total_mode: str = _opt(
        "exact",
        "GATEWAY_TOTAL_MODE",
        "How list totals are computed over the cursor-only current API: 'exact' (count the whole "
        "filtered list once, in the background, and keep the count exact), 'bounded' (count at "
        "most --total-bound messages) or 'off' (no totals). See docs/paging.md.",
        choices=("exact", "bounded", "off"),
    )

    total_bound: int = _opt(
        10000,
        "GATEWAY_TOTAL_BOUND",
        "With --total-mode bounded: the most messages counted per list.",
        low=1,
    )

    total_ttl: float = _opt(
        21600.0,
        "GATEWAY_TOTAL_TTL",
        "Seconds an exact list count is trusted before a background recount re-verifies it "
        "(catches deletions inside the list); new messages are counted as they arrive.",
        low=0,
    )

    cursor_cache_size: int = _opt(
        10000,
        "GATEWAY_CURSOR_CACHE_SIZE",
        "Most entries of the process-local paging index (the memory:// store and the fallback "
        "when the shared state store fails), all accounts together.",
        low=1,
    )

    cursor_ttl: float = _opt(
        86400.0,
        "GATEWAY_CURSOR_TTL",
        "Seconds a list's paging index (count, checkpoints) is kept in the state store after "
        "its last change.",
        low=0,
    )

    upstream_page_size: int = _opt(
        1000,
        "GATEWAY_UPSTREAM_PAGE_SIZE",
        "PageSize the gateway asks upstream for when serving a legacy list page (1..1000); "
        "legacy pages are sliced out of these upstream pages. 0 asks upstream for the legacy "
        "page size itself (no slicing). See docs/paging.md.",
        low=0, high=1000,
    )

    # --- paging at scale (issue 18) -----------------------------------------------------
    paging_wait: float = _opt(
        25.0,
        "GATEWAY_PAGING_WAIT",
        "Seconds a legacy list request waits for a running background count to be done before "
        "answering with a provisional total (an estimate); always within --upstream-timeout "
        "less a second, and not at all once the count's pace says it cannot be done in time. "
        "See docs/paging.md.",
        low=0,
    )

    paging_max_requests: int = _opt(
        20,
        "GATEWAY_PAGING_MAX_REQUESTS",
        "Most upstream list reads one legacy list request may make (background counts not "
        "included).",
        low=3,
    )

    paging_account_rps: int = _opt(
        100,
        "GATEWAY_PAGING_ACCOUNT_RPS",
        "Most upstream list reads per account per second in each process, pages and "
        "background counts together.",
        low=1,
    )

    paging_count_concurrency: int = _opt(
        2,
        "GATEWAY_PAGING_COUNT_CONCURRENCY",
        "Most background list counts one process runs at a time per account.",
        low=1,
    )

    paging_count_parallel: int = _opt(
        8,
        "GATEWAY_PAGING_COUNT_PARALLEL",
        "Upstream reads one list's count makes at once: the count walks from the list's head "
        "and, beside it, segments further down that start at DateSent days (docs/paging.md, "
        "'Counting in segments'). 1 counts with one walk.",
        low=1, high=32,
    )

    paging_bound_as_total: bool = _opt(
        False,
        "GATEWAY_PAGING_BOUND_AS_TOTAL",
        "With --total-mode bounded: report the messages counted up to the bound as the total "
        "(the behaviour before issue 18) instead of a provisional total that errs high.",
    )

    sandbox_latency: float = _opt(
        0.0,
        "SANDBOX_LATENCY",
        "Sandbox: seconds added to every API request before it is answered (to reproduce the "
        "real API's round trip locally).",
        low=0, high=60,
    )

    sandbox_seed: str = _opt(
        "",
        "SANDBOX_SEED",
        "Sandbox: accounts to fill with messages at start, 'AccountSid:count' pairs, "
        "comma-separated (bulk seeding for paging experiments).",
    )
