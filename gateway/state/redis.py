"""``redis://``, ``rediss://`` and ``unix://``: the state store shared by every process and
replica, on redis-py's asyncio client (hiredis parses replies when installed). Valkey answers
the same commands.

One connection pool per process (the store is opened once per process). Every call is bounded
by the store's timeout, and every way a call can fail (refused, reset, timed out, a server
error such as ``OOM``) becomes :class:`StoreUnavailable`, whose message names the backend by its
masked URL. Each logical step is one round trip: a single command, a ``MULTI`` pipeline, or a
Lua script where the step reads before it writes.
"""

from __future__ import annotations

import asyncio
import builtins
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.state.base import StoreUnavailable
from gateway.state.url import mask_url

T = TypeVar("T")

# Give up a claim or push its expiry only while our token still holds it: a claim that lapsed
# and was taken by another process must not be released or extended by the first holder.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


# The client runs with decode_responses=False, so replies are bytes; redis-py's types allow
# str as well.
def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisStore:
    kind = "redis"

    def __init__(
        self, url: str, *, prefix: str = "", timeout: float = 0.5, max_connections: int = 64
    ) -> None:
        self.name = mask_url(url)
        self._prefix = prefix
        self._timeout = timeout
        # One retry, at once, on a broken connection: after a server restart every pooled
        # connection is dead, and the first command on each should reconnect rather than fail.
        self._pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            client_name="sms-gateway",
        )
        self._redis = Redis(connection_pool=self._pool)
        self._release = self._redis.register_script(_RELEASE)
        self._extend = self._redis.register_script(_EXTEND)
        self._cas = self._redis.register_script(_COMPARE_AND_SET)

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def _call(self, op: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await op()
        except (RedisError, OSError, TimeoutError) as exc:
            # The exception's own text may quote the URL; name the backend by its masked form.
            raise StoreUnavailable(
                f"state store {self.name} unavailable: {type(exc).__name__}"
            ) from None

    async def get(self, key: str) -> bytes | None:
        return _bytes(await self._call(lambda: self._redis.get(self._k(key))))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        values = await self._call(lambda: self._redis.mget([self._k(k) for k in keys]))
        return [_bytes(v) for v in values]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._call(lambda: self._redis.set(self._k(key), value, px=_ms(ttl)))

    async def delete(self, key: str) -> None:
        await self._call(lambda: self._redis.delete(self._k(key)))

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        if expected is None:
            return bool(
                await self._call(
                    lambda: self._redis.set(self._k(key), value, px=_ms(ttl), nx=True)
                )
            )
        done = await self._call(
            lambda: self._cas(keys=[self._k(key)], args=[expected, value, _ms(ttl)])
        )
        return bool(done)

    async def claim(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(16)
        taken = await self._call(
            lambda: self._redis.set(self._k(key), token, px=_ms(ttl), nx=True)
        )
        return token if taken else None

    async def release(self, key: str, token: str) -> bool:
        return bool(await self._call(lambda: self._release(keys=[self._k(key)], args=[token])))

    async def extend(self, key: str, token: str, ttl: float) -> bool:
        done = await self._call(
            lambda: self._extend(keys=[self._k(key)], args=[token, _ms(ttl)])
        )
        return bool(done)

    async def _transaction(self, build: Callable[[Any], None]) -> list[Any]:
        async def run() -> list[Any]:
            async with self._redis.pipeline(transaction=True) as pipe:
                build(pipe)
                return list(await pipe.execute())

        return await self._call(run)

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        k = self._k(key)

        def build(pipe: Any) -> None:
            pipe.incrby(k, amount)
            pipe.pexpire(k, _ms(ttl))

        return int((await self._transaction(build))[0])

    async def hash_incr(self, key: str, amounts: Mapping[str, int], ttl: float) -> None:
        if not amounts:
            return
        k = self._k(key)

        def build(pipe: Any) -> None:
            for name, amount in amounts.items():
                pipe.hincrby(k, name, amount)
            pipe.pexpire(k, _ms(ttl))

        await self._transaction(build)

    async def hash_set(self, key: str, values: Mapping[str, bytes], ttl: float) -> None:
        if not values:
            return
        k = self._k(key)

        def build(pipe: Any) -> None:
            pipe.hset(k, mapping=dict(values))
            pipe.pexpire(k, _ms(ttl))

        await self._transaction(build)

    async def hash_get(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        if not fields:
            return []
        values = await self._call(lambda: self._redis.hmget(self._k(key), list(fields)))
        return [_bytes(v) for v in values]

    async def hash_get_all(self, key: str) -> dict[str, bytes]:
        raw = await self._call(lambda: self._redis.hgetall(self._k(key)))
        return {_text(name): _bytes(value) or b"" for name, value in raw.items()}

    async def set_add(self, key: str, members: Sequence[str], ttl: float) -> None:
        if not members:
            return
        k = self._k(key)

        def build(pipe: Any) -> None:
            pipe.sadd(k, *members)
            pipe.pexpire(k, _ms(ttl))

        await self._transaction(build)

    async def set_members(self, key: str) -> builtins.set[str]:
        raw = await self._call(lambda: self._redis.smembers(self._k(key)))
        return {_text(member) for member in raw}

    async def ping(self) -> None:
        await self._call(self._redis.ping)

    async def close(self) -> None:
        try:
            await self._redis.aclose()
            await self._pool.disconnect()
        except (RedisError, OSError):
            pass  # closing a pool whose server is gone has nothing left to tell anyone
