"""Defect 6 of issue 15: interim (1xx) answers are skipped, not taken for the final answer; an
answer's head is bounded in size and header count; HEAD is refused before anything is sent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.upstream.transport import Broken, Pool
from tests.transport.conftest import MakePool
from tests.transport.raw_upstream import RawServer, Request, answer

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter




async def _call(pool: Pool, method: str = "POST", body: bytes | None = b"To=1") -> Any:
    return await pool.request(
        method, "/", [], body, deadline=pool.loop.time() + 3.0, connect_timeout=1.0,
        read_timeout=None, max_body=1 << 20,
    )


@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </b>\r\n\r\n"),
    ],
)
async def test_interim_answers_are_skipped(pools: MakePool, interim: bytes) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(interim)
        await writer.drain()
        await asyncio.sleep(0.01)  # the final answer in a later read, too
        writer.write(answer(b'{"sid": "SM1"}', status="201 Created"))
        return True

    async with RawServer(handler) as server:
        pool = pools(server.url)
        got = await _call(pool)
        assert (got.status, got.body) == (201, b'{"sid": "SM1"}')
        assert "link" not in got.headers
        # the connection stays usable: the interim answers were consumed whole
        again = await _call(pool)
        assert again.status == 201
    assert len(server.connections) == 1


async def test_too_many_headers_break_the_answer(pools: MakePool) -> None:
    headers = tuple(f"X-H{i}: v" for i in range(500))

    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(answer(headers=headers))
        return True

    async with RawServer(handler) as server:
        with pytest.raises(Broken, match="too many headers"):
            await _call(pools(server.url))


async def test_an_endless_head_breaks_the_answer(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):  # 200 x 1 KiB in one header value, never ending
            writer.write(b"X-Long: " + b"a" * 1024 + b"\r\n" if _ % 2 else b"a" * 1024)
            await writer.drain()
        await asyncio.sleep(5)
        return False

    async with RawServer(handler) as server:
        with pytest.raises(Broken):
            await _call(pools(server.url))


async def test_endless_interim_answers_break_the_answer(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        for _ in range(5000):
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
            await writer.drain()
        await asyncio.sleep(5)
        return False

    async with RawServer(handler) as server:
        with pytest.raises(Broken, match="head larger"):
            await _call(pools(server.url))


async def test_switching_protocols_is_broken(pools: MakePool) -> None:
    async def handler(request: Request, reader: Reader, writer: Writer) -> bool:
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade"
                     b"\r\n\r\n")
        return True

    async with RawServer(handler) as server:
        with pytest.raises(Broken):
            await _call(pools(server.url))


async def test_head_is_refused_before_anything_is_sent(pools: MakePool) -> None:
    async with RawServer() as server:
        with pytest.raises(ValueError, match="HEAD"):
            await _call(pools(server.url), "HEAD", None)
    assert server.requests == []
