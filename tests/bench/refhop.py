"""The reference hop: a minimal aiohttp server (uvloop when installed) answering every GET with a
fixed current-API message JSON. Its CPU per request is the unit bench_gateway calls one
"aiohttp hop".  Run: python -m tests.bench.refhop PORT"""

from __future__ import annotations

import sys

from aiohttp import web

BODY = (
    b'{"account_sid": "AC00000000000000000000000000000001", "api_version": "2010-04-01", '
    b'"body": "Hello from the reference hop", "date_created": "Mon, 06 Jul 2009 17:06:25 '
    b'+0000", "date_sent": null, "date_updated": "Mon, 06 Jul 2009 17:06:25 +0000", '
    b'"direction": "outbound-api", "error_code": null, "error_message": null, "from": '
    b'"+14155550000", "num_segments": "1", "price": null, "price_unit": "USD", '
    b'"sid": "SM00000000000000000000000000000001", "status": "queued", "to": "+14155551212"}'
)


async def answer(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json")


def main() -> None:
    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    try:
        import uvloop
    except ImportError:
        uvloop = None
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None,
        loop=uvloop.new_event_loop() if uvloop else None,
    )


if __name__ == "__main__":
    main()
