"""A scripted HTTP/1.1 server for transport tests: each test answers in the exact bytes it needs
(no framing, drips, stray bytes, early closes) and sees every connection and request as
received, which aiohttp's server would normalise away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Self


@dataclass
class Connection:
    peer_port: int
    requests: list[Request] = field(default_factory=list)
    # Set once the connection is over, whichever side ended it.
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Request:
    raw: bytes  # the head and body exactly as received
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    connection: Connection


# Answers one request: writes what it likes; returns False to close the connection after.
Handler = Callable[[Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


def answer(
    body: bytes = b"{}",
    *,
    status: str = "200 OK",
    version: str = "HTTP/1.1",
    headers: tuple[str, ...] = ("Content-Type: application/json",),
    length: bool = True,
) -> bytes:
    """One answer; ``length=False`` leaves the body unframed (ended by the close)."""
    lines = [f"{version} {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def keep_alive_ok(request: Request, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> bool:
    writer.write(answer())
    return True


class RawServer:
    """Listens on ``host``; ``handler`` answers every request."""

    def __init__(self, handler: Handler = keep_alive_ok, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.connections: list[Connection] = []
        self.requests: list[Request] = []
        self.port = 0
        self._arrived: asyncio.Queue[Request] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def next_request(self, timeout: float = 2.0) -> Request:
        """The next request to arrive (or one that has arrived and was not taken yet)."""
        async with asyncio.timeout(timeout):
            return await self._arrived.get()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Connection(writer.get_extra_info("peername")[1])
        self.connections.append(conn)
        try:
            while await self._one(conn, reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # Cancelled by __aexit__: end quietly (asyncio's stream callback logs a cancelled
            # client task as an error).
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            conn.ended.set()
            self._tasks.discard(task)

    async def _one(self, conn: Connection, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        line, *fields = head[:-4].decode("latin-1").split("\r\n")
        method, target, _ = line.split(" ", 2)
        headers = {}
        for item in fields:
            name, _, value = item.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        request = Request(head + body, method, target, headers, body, conn)
        conn.requests.append(request)
        self.requests.append(request)
        self._arrived.put_nowait(request)
        keep = await self.handler(request, reader, writer)
        await writer.drain()
        return keep
