"""Run the reliability soak (both legacy dialects, random upstream faults, status callbacks
relayed to a legacy app) standalone and print its results as a Markdown table.

    python tests/bench/soak.py [--requests 20000] [--concurrency 50] [--fault-rate 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability.soak import run_soak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    result = asyncio.run(
        run_soak(args.requests, args.concurrency, args.fault_rate, args.seed)
    )
    print("| measure | value |\n| --- | --- |")
    print(result.table())
    ok = (
        result.duplicates == result.losses == result.statuses[500] == 0
        and result.callback_duplicates == result.callback_losses == result.callback_wrong == 0
        and result.callbacks_stray == 0
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
