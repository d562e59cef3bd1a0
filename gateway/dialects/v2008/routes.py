"""The 2008-08-01 dialect's routes. (Skeleton: filled in by the 2008 dialect work.)"""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the 2008-08-01 routes on the gateway app."""
