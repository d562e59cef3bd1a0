"""Paging benchmark: what a legacy page costs over the cursor-only current API.

Run:  /work/venv/bin/python -m tests.bench.bench_paging

Against the embedded sandbox over HTTP on localhost (an in-process upstream: real upstream
round trips cost far more, so the request counts matter more than these times), for a
10,000-message account:
1. upstream requests and wall time for the first, a middle and the last legacy page (size 50),
   cold (nothing cached) and warm (the same page again), in each total mode, with the gateway
   reading upstream in sliced chunks of 1000 and directly at the legacy page size;
2. a client reading all 200 pages in order, both ways;
(The memory the paging index holds per list is measured by bench_paging_scale.py.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sys
import time
from collections.abc import Sequence

from gateway.config import Settings
from gateway.model import ListFilter
from tests.paging.sandbox_support import Rig, sandbox_rig, seed_messages

MESSAGES = 10_000
SIZE = 50
PAGES = {"first": 0, "middle": 99, "last": 199}
MODES = ("exact", "bounded", "off")
STRATEGIES = {"sliced 1000": 1000, "direct 50": 0}


def config(mode: str, chunk: int) -> Settings:
    return dataclasses.replace(
        Settings(), total_mode=mode, total_bound=5000, upstream_page_size=chunk, sandbox_tick=0
    )


async def timed_page(rig: Rig, number: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    page = await rig.page(ListFilter(), number, SIZE)
    return page.upstream_requests, (time.perf_counter() - t0) * 1000


async def page_costs() -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for strategy, chunk in STRATEGIES.items():
        for mode in MODES:
            for label, number in PAGES.items():
                async with sandbox_rig(config(mode, chunk)) as rig:
                    seed_messages(rig.store, MESSAGES, random.Random(1))
                    cold = await timed_page(rig, number)
                    warm = await timed_page(rig, number)
                rows.append(
                    (strategy, mode, f"{label} (Page={number})", str(cold[0]), f"{cold[1]:.1f}",
                     str(warm[0]), f"{warm[1]:.1f}")
                )
    return rows


async def full_walks() -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for strategy, chunk in STRATEGIES.items():
        for mode in MODES:
            async with sandbox_rig(config(mode, chunk)) as rig:
                seed_messages(rig.store, MESSAGES, random.Random(1))
                requests, t0, number = 0, time.perf_counter(), 0
                while True:
                    page = await rig.page(ListFilter(), number, SIZE)
                    requests += page.upstream_requests
                    if not page.has_next:
                        break
                    number += 1
                elapsed = time.perf_counter() - t0
            rows.append(
                (strategy, mode, str(number + 1), str(requests),
                 f"{requests / (number + 1):.2f}", f"{elapsed * 1000:.0f}")
            )
    return rows


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [f"### {title}", "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


async def main() -> None:
    print(f"Python {sys.version.split()[0]}, {MESSAGES} messages, legacy page size {SIZE}\n")
    print(table(
        "Per legacy page (requests = upstream requests; ms = wall time)",
        ("upstream reads", "total mode", "page", "cold req", "cold ms", "warm req", "warm ms"),
        await page_costs(),
    ))
    print(table(
        "A client reading every page in order (following next)",
        ("upstream reads", "total mode", "pages", "requests", "req/page", "ms"),
        await full_walks(),
    ))
    print("The paging index's memory per list: python -m tests.bench.bench_paging_scale")

if __name__ == "__main__":
    asyncio.run(main())
