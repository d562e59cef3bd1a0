"""A minimal, fast Twilio-like upstream for benchmarks: the current Messages API's list
endpoint (``GET /2010-04-01/Accounts/{AccountSid}/Messages.json``) for one account.

Why: the embedded sandbox is one single-threaded Python process that renders each message of
a page on every read (~12 ms for a page of 949), so concurrent reads are served one after the
other. Twilio serves them in parallel. This fake renders every message once, at start, to the
JSON bytes of the current API's message object (``gateway.sandbox.render.message_json``, the
sandbox's own renderer, so the bytes are the sandbox's); serving a page only slices a list of
byte fragments and joins them (well under a millisecond for 949), and its latency is an
``asyncio.sleep``, so 8 concurrent reads take about one latency, as with the real API.

What it holds: the messages ``gateway.sandbox.bulk.seed_account`` seeds (spread evenly over
the 30 days before ``end``, mixed To/From, about 2 % queued and never sent, ``date_sent``
null), in the sandbox's list order: newest first by ``date_sent`` (else ``date_created``), then
``date_created``, then arrival.

What it answers, as the current API does:

- Basic auth for the one account (any non-empty token);
- ``PageSize`` (1..1000, default 50), ``Page`` (only numbers the page: ``start``, ``end`` and
  the links), ``PageToken``: ``PA`` + the sid of a message means "the messages after that one
  in the list" (the next page), ``PB`` + a sid "the closest messages before it" (the previous
  page). A token is a position in the list, whatever the filter it was handed out with; an
  unknown one is a 400 with Twilio's error 21481;
- the date filters ``DateSent`` (that day), ``DateSent<`` (on or before that day) and
  ``DateSent>`` (on or after), as calendar days ``YYYY-MM-DD`` of UTC, which is how the
  gateway sends them (``gateway.upstream.messages_json.list_params``). A message never sent
  matches no date filter. ``To`` and ``From`` are not supported (a 400, not ignored);
- the current API's list envelope, keys in ``gateway.sandbox.listing.cursor_page_json``'s
  order; ``next_page_uri`` is null when nothing matching follows the page, else it keeps the
  client's filter and PageSize and adds ``Page=n+1&PageToken=PA<sid of the page's last>``.

No message lifecycle, no sending, no other filter or resource. Bench-only controls (not
delayed by the latency): ``POST /_bench/latency?seconds=0.15`` (every API request waits that
long before it is answered, concurrently) and ``POST /_bench/seed?n=10`` (``n`` new messages
arrive at the head of the list, sent now).

Run alone:  python -m tests.bench.fake_messages_api --messages 100000 --port 8099 [--latency 0.15]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any
from urllib.parse import urlencode

from aiohttp import BasicAuth, hdrs, web
from aiohttp.typedefs import Handler

from gateway import errors
from gateway.model import ACCOUNT_SID, ApiError
from gateway.sandbox.bulk import seed_account
from gateway.sandbox.listing import (
    DEFAULT_PAGE_SIZE,
    INVALID_PAGE_TOKEN,
    INVALID_PARAMETER,
    MAX_PAGE_SIZE,
    day_param,
    int_param,
)
from gateway.sandbox.render import API_BASE, error_json, message_json
from gateway.sandbox.segments import num_segments
from gateway.sandbox.store import MessageStore, StoredMessage, new_sid

DATE_KEYS = ("DateSent", "DateSent<", "DateSent>")  # the filters, in the sandbox's link order
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Where the messages go in the envelope's JSON: nothing urlencode or an int renders can match.
_SLOT = "<messages>"
_SLOT_JSON = json.dumps(_SLOT).encode()


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _day_start(day: date) -> int:
    return _micros(datetime(day.year, day.month, day.day, tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class Query:
    page_size: int
    page: int
    token: str | None
    day_from: date | None  # on or after (DateSent>, DateSent)
    day_to: date | None  # on or before (DateSent<, DateSent)
    filter_pairs: tuple[tuple[str, str], ...]  # as the client sent them, for the links


def parse_query(query: Mapping[str, str]) -> Query:
    for name in ("To", "From"):
        if query.get(name):
            raise ApiError(400, f"The fake Messages API does not filter by {name}",
                           INVALID_PARAMETER)
    on = day_param(query, "DateSent")
    before, after = day_param(query, "DateSent<"), day_param(query, "DateSent>")
    day_to = min(d for d in (on, before) if d is not None) if on or before else None
    day_from = max(d for d in (on, after) if d is not None) if on or after else None
    return Query(
        page_size=int_param(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        page=int_param(query, "Page", 0, 0, 10**9),
        token=query.get("PageToken") or None,
        day_from=day_from,
        day_to=day_to,
        filter_pairs=tuple((k, query[k]) for k in DATE_KEYS if query.get(k)),
    )


class FakeMessages:
    """One account's list, kept OLDEST FIRST (index 0 is the oldest) so that arrivals append
    and every index stays valid; pages read it backwards.

    - ``_frags[i]``: message i's JSON bytes, rendered once;
    - ``_sids[i]`` and ``_index`` (sid -> i): PageTokens in O(1);
    - ``_when[i]``: microseconds of its list key (``date_sent``, else ``date_created``),
      ascending, so a date filter is two bisections;
    - ``_sent``: the indices of the messages ever sent (ascending), the ones a date filter can
      match: a filtered page is a slice of it, an unfiltered one a slice of ``range(len)``.
    """

    def __init__(self, account_sid: str, messages: Sequence[StoredMessage]) -> None:
        """``messages`` in list order, newest first (``MessageStore.all``)."""
        self.account_sid = account_sid
        self.path = f"{API_BASE}/{account_sid}/Messages.json"
        self._frags: list[bytes] = []
        self._sids: list[str] = []
        self._index: dict[str, int] = {}
        self._when = array("q")
        self._sent = array("q")
        self._seq = count(max((m.seq for m in messages), default=0) + 1)
        self._append(reversed(messages))

    def __len__(self) -> int:
        return len(self._frags)

    def _append(self, messages: Iterable[StoredMessage]) -> None:
        dumps = json.dumps
        for m in messages:
            i = len(self._frags)
            self._frags.append(dumps(message_json(m)).encode())
            self._sids.append(m.sid)
            self._index[m.sid] = i
            self._when.append(_micros(m.date_sent or m.date_created))
            if m.date_sent is not None:
                self._sent.append(i)

    def arrive(self, n: int, now: datetime | None = None) -> None:
        """``n`` new messages at the head of the list, sent now (each strictly newer than the
        newest already held, so the list stays in order), as ``MessageStore.seed`` makes them."""
        t = _micros(now or datetime.now(UTC))
        for i in range(n):
            if self._when:
                t = max(t, self._when[-1] + 1)
            at = _EPOCH + t * _MICROSECOND
            body = f"Seed message {i}"
            self._append((StoredMessage(
                sid=new_sid("SM"), account_sid=self.account_sid, to="+15558675309",
                from_="+15005550006", body=body, status="delivered", direction="outbound-api",
                date_created=at, date_updated=at, date_sent=at, num_segments=num_segments(body),
                seq=next(self._seq),
            ),))

    # --- reading ---------------------------------------------------------------------------
    def _position(self, token: str) -> tuple[str, int]:
        kind, sid = token[:2], token[2:]
        i = self._index.get(sid) if kind in ("PA", "PB") else None
        if i is None:
            raise ApiError(400, f"Invalid PageToken: {token[:64]!r}", INVALID_PAGE_TOKEN)
        return kind, i

    def page_body(self, q: Query) -> bytes:
        """The list answer for ``q``: JSON bytes of the current API's envelope."""
        # The messages the filter can match: pool[a:b] (ascending indices); the page is
        # pool[lo:hi], read backwards.
        pool: Sequence[int]
        if q.day_from is None and q.day_to is None:
            pool = range(len(self._frags))
            a, b = 0, len(pool)
        else:
            pool = self._sent
            a = 0
            if q.day_from is not None:
                a = bisect.bisect_left(pool, bisect.bisect_left(self._when, _day_start(q.day_from)))
            b = len(pool)
            if q.day_to is not None:
                end = _day_start(q.day_to + timedelta(days=1))
                b = max(a, bisect.bisect_left(pool, bisect.bisect_left(self._when, end)))
        size = q.page_size
        if q.token is None:
            hi = b
            lo = max(a, hi - size)
        else:
            kind, at = self._position(q.token)
            if kind == "PA":  # after `at` in the list: older, lower indices
                hi = max(min(b, bisect.bisect_left(pool, at)), a)
                lo = max(a, hi - size)
            else:  # before `at`: the closest newer ones
                lo = min(max(a, bisect.bisect_right(pool, at)), b)
                hi = min(b, lo + size)
        indices = pool[lo:hi]
        frags = self._frags
        chunk = b", ".join([frags[i] for i in reversed(indices)])
        has_older = lo > a and hi > lo
        has_newer = q.token is not None and hi < b and hi > lo
        return self._envelope(q, chunk, hi - lo, indices, has_older, has_newer)

    def _envelope(
        self, q: Query, chunk: bytes, n: int, indices: Sequence[int], has_older: bool,
        has_newer: bool,
    ) -> bytes:
        pairs = q.filter_pairs

        def link(**extra: Any) -> str:
            return self.path + "?" + urlencode([*pairs, *((k, str(v)) for k, v in extra.items())])

        current: dict[str, Any] = {"PageSize": q.page_size, "Page": q.page}
        if q.token is not None:
            current["PageToken"] = q.token
        next_uri = prev_uri = None
        if has_older:
            next_uri = link(PageSize=q.page_size, Page=q.page + 1,
                            PageToken="PA" + self._sids[indices[0]])
        if has_newer:
            prev_uri = link(PageSize=q.page_size, Page=max(q.page - 1, 0),
                            PageToken="PB" + self._sids[indices[-1]])
        start = q.page * q.page_size
        head, tail = json.dumps({
            "first_page_uri": link(PageSize=q.page_size, Page=0),
            "end": start + max(n - 1, 0),
            "previous_page_uri": prev_uri,
            "messages": _SLOT,
            "uri": link(**current),
            "page_size": q.page_size,
            "start": start,
            "next_page_uri": next_uri,
            "page": q.page,
        }).encode().split(_SLOT_JSON, 1)
        return b"".join((head, b"[", chunk, b"]", tail))


def seeded(account_sid: str, messages: int, *, end: datetime | None = None) -> FakeMessages:
    """``messages`` seeded as ``seed_account`` seeds the sandbox (ending an hour ago)."""
    end = end or datetime.now(UTC) - timedelta(hours=1)
    store = MessageStore(max(messages, 1))
    seed_account(store, account_sid, messages, end=end)
    return FakeMessages(account_sid, store.all(account_sid))


# --- HTTP ----------------------------------------------------------------------------------

FAKE = web.AppKey("fake_messages", FakeMessages)
LATENCY = web.AppKey("fake_latency", list)  # [seconds]: changeable while serving
_CHALLENGE = {"WWW-Authenticate": errors.BASIC_CHALLENGE}


def _authenticate(request: web.Request, account_sid: str) -> None:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if not header:
        raise errors.unauthenticated()
    try:
        auth = BasicAuth.decode(header)
    except ValueError:
        raise ApiError(401, "Authenticate", 20003, headers=dict(_CHALLENGE)) from None
    if not ACCOUNT_SID.fullmatch(auth.login) or not auth.password:
        raise ApiError(401, "Authenticate", 20003, headers=dict(_CHALLENGE))
    if auth.login != request.match_info["AccountSid"]:
        raise ApiError(
            403, "The AccountSid in the URL does not match the authenticated account", 20003
        )
    if auth.login != account_sid:
        raise ApiError(404, f"The requested resource {request.path} was not found", 20404)


async def list_messages(request: web.Request) -> web.Response:
    fake = request.app[FAKE]
    _authenticate(request, fake.account_sid)
    body = fake.page_body(parse_query(request.query))
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def bench_latency(request: web.Request) -> web.Response:
    """``POST /_bench/latency?seconds=0.15``: every API request's wait from now on."""
    try:
        seconds = float(request.query["seconds"])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(reason="seconds=<float> is required") from None
    request.app[LATENCY][0] = seconds
    return web.json_response({"latency": seconds})


async def bench_seed(request: web.Request) -> web.Response:
    """``POST /_bench/seed?n=10``: ``n`` new messages arrive now."""
    try:
        n = int(request.query["n"])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(reason="n=<int> is required") from None
    request.app[FAKE].arrive(n)
    return web.json_response({"seeded": n})


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The latency (API requests only, concurrently), and Twilio's JSON error shape."""
    try:
        if request.path.startswith(API_BASE + "/"):
            seconds = request.app[LATENCY][0]
            if seconds > 0:
                await asyncio.sleep(seconds)
        return await handler(request)
    except ApiError as err:
        return web.json_response(error_json(err), status=err.status, headers=err.headers)
    except web.HTTPException as exc:
        if exc.status < 400 or request.path.startswith("/_bench/"):
            raise
        code = {404: 20404, 405: 20004}.get(exc.status)
        err = ApiError(exc.status, exc.reason, code)
        return web.json_response(error_json(err), status=err.status)


def create_app(account_sid: str, messages: int, latency: float = 0.0) -> web.Application:
    """The fake API with ``messages`` seeded on ``account_sid`` (rendered before it returns)."""
    app = web.Application(middlewares=[_middleware])
    app[FAKE] = seeded(account_sid, messages)
    app[LATENCY] = [latency]
    app.router.add_get(API_BASE + "/{AccountSid}/Messages.json", list_messages, allow_head=False)
    app.router.add_post("/_bench/latency", bench_latency)
    app.router.add_post("/_bench/seed", bench_seed)
    return app


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--account", default="AC" + "d" * 32)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    app = create_app(args.account, args.messages, args.latency)
    print(f"{args.messages:,} messages on {args.account}; token: any", flush=True)
    web.run_app(app, host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    _main()
