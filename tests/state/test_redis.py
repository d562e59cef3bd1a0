"""What only the Redis backend promises: its prefix and a TTL on every key it writes, one
round trip per step, a bounded wait and a masked name when the server is gone, and recovery
without a restart once it is back."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
import trustme

from gateway.state.base import StoreUnavailable
from gateway.state.memory import MemoryStore
from gateway.state.open import open_store
from gateway.state.redis import RedisStore
from gateway.state.url import has_password, mask_url, scheme_of
from tests.support.redis_server import RedisServer, require_redis_server


def _info_calls(server: RedisServer) -> int:
    # Every command the server ran, by INFO commandstats (the INFO itself counted out later).
    total = 0
    for line in server.command("INFO", "commandstats").decode().splitlines():
        if line.startswith("cmdstat_"):
            fields = dict(part.split("=") for part in line.split(":", 1)[1].split(","))
            total += int(fields["calls"])
    return total


async def test_every_key_is_prefixed_and_expires(redis_server: RedisServer, key: str) -> None:
    store = RedisStore(redis_server.url, prefix="pfx:", timeout=2.0)
    try:
        await store.set(key + ":s", b"v", 60)
        await store.incr(key + ":n", 1, 60)
        await store.hash_incr(key + ":h", {"a": 1}, 60)
        await store.hash_set(key + ":h2", {"a": b"x"}, 60)
        await store.set_add(key + ":set", ["m"], 60)
        token = await store.claim(key + ":c", 60)
        assert token
        assert await store.extend(key + ":c", token, 90)
        assert await store.compare_and_set(key + ":cas", None, b"a", 60)
        assert await store.compare_and_set(key + ":cas", b"a", b"b", 60)
        names = redis_server.command("KEYS", f"pfx:{key}*").decode().split()
        assert len(names) == 7
        for name in names:
            ttl_ms = int(redis_server.command("PTTL", name))
            assert 0 < ttl_ms <= 90_000, (name, ttl_ms)
        assert redis_server.command("KEYS", f"{key}*").strip() == b""  # nothing unprefixed
    finally:
        await store.close()


async def test_each_step_is_one_command_or_one_transaction(
    redis_server: RedisServer, key: str
) -> None:
    store = RedisStore(redis_server.url, prefix="rt:", timeout=2.0)
    try:
        await store.ping()  # connect first: the handshake's commands are not the step's
        token = await store.claim(key, 60)  # loads nothing yet; measure the steady state
        assert token
        await store.release(key, token)
        # A pipeline is written at once and read at once: one round trip for its commands.
        steps = [
            (lambda: store.claim(key, 60), 1),  # SET NX PX
            (lambda: store.release(key, "x"), 2),  # EVALSHA, and the GET it runs
            (lambda: store.hash_incr(key + ":h", {"a": 1, "b": 2}, 60), 5),  # MULTI..EXEC
            (lambda: store.incr(key + ":n", 1, 60), 4),
            (lambda: store.get(key + ":absent"), 1),
        ]
        for step, commands in steps:
            before = _info_calls(redis_server)
            await step()
            # The first INFO is counted in the second reading.
            assert _info_calls(redis_server) - before - 1 == commands
        clients = redis_server.command("CLIENT", "LIST").decode().count("name=sms-gateway")
        assert clients == 1  # one pool, one connection used in turn
    finally:
        await store.close()


def _refusing_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_store_raises_with_masked_name() -> None:
    port = _refusing_port()
    store = RedisStore(f"redis://user:hunter2@127.0.0.1:{port}/0", timeout=0.5)
    try:
        ops = (store.ping(), store.get("k"), store.claim("k", 5), store.hash_incr("h", {"a": 1}, 5))
        for op in ops:
            with pytest.raises(StoreUnavailable) as info:
                await op
            assert "hunter2" not in str(info.value)
            assert f"redis://user:***@127.0.0.1:{port}/0" in str(info.value)
            assert info.value.__cause__ is None and info.value.__suppress_context__
    finally:
        await store.close()


async def test_a_silent_server_costs_at_most_the_timeout() -> None:
    # Accepts connections and never answers: only the store's own timeout ends the wait.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.get("k")
        assert time.monotonic() - started < 5  # bounded (0.3 s asked; generous under load)
    finally:
        await store.close()
        silent.close()


async def test_recovers_after_a_restart(own_redis_server: RedisServer, key: str) -> None:
    store = RedisStore(own_redis_server.url, timeout=1.0)
    try:
        await store.set(key, b"before", 60)
        own_redis_server.stop()
        with pytest.raises(StoreUnavailable):
            await store.get(key)
        own_redis_server.start()
        # Same store object, pooled connections dead: the next calls reconnect by themselves.
        for _ in range(3):
            assert await store.get(key) is None  # the restarted server persisted nothing
        token = await store.claim(key + ":c", 60)
        assert token and await store.release(key + ":c", token)  # scripts reloaded as needed
    finally:
        await store.close()


async def test_many_concurrent_calls_share_the_pool(redis_server: RedisServer, key: str) -> None:
    store = RedisStore(redis_server.url, timeout=5.0, max_connections=4)
    try:
        counts = await asyncio.gather(*(store.incr(key, 1, 60) for _ in range(200)))
        assert sorted(counts) == list(range(1, 201))
    finally:
        await store.close()


def test_open_store_picks_the_backend_by_scheme() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    for url in ("redis://127.0.0.1:1/0", "rediss://:pw@example.test:6380/1", "unix:///tmp/r.sock"):
        store = open_store(url, prefix="p:", timeout=0.1)
        assert isinstance(store, RedisStore) and store.kind == "redis"
    with pytest.raises(ValueError, match="memory://, redis://, rediss://, unix://"):
        open_store("http://example.test/")
    assert scheme_of("REDIS://h/0") == "redis"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("memory://", "memory://"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://app:s3cret@h:6380/2", "rediss://app:***@h:6380/2"),
        ("redis://s3cret@h/0", "redis://***@h/0"),
        ("unix:///run/redis.sock?db=1&password=s3cret", "unix:///run/redis.sock?db=1&password=***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "s3cret" not in mask_url(url)
    assert has_password(url) == (url != masked)


def test_missing_server_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        require_redis_server()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install redis-server"):
        require_redis_server()


def _server(tmp_path: Path, *extra: str, port: int | None = None) -> RedisServer:
    server = RedisServer(require_redis_server(), tmp_path, *extra, port=port)
    server.start()
    return server


async def test_rediss_with_a_private_ca(tmp_path: Path, key: str) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    port = _refusing_port()
    server = _server(
        tmp_path, "--tls-port", str(port), "--tls-cert-file", str(tmp_path / "cert.pem"),
        "--tls-key-file", str(tmp_path / "key.pem"), "--tls-ca-cert-file",
        str(tmp_path / "ca.pem"), "--tls-auth-clients", "no", port=port,
    )
    try:
        store = open_store(
            f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tmp_path / 'ca.pem'}", timeout=2.0
        )
        try:
            token = await store.claim(key, 60)
            assert token and await store.get(key) == token.encode()
        finally:
            await store.close()
        # Without the CA the server's certificate is not trusted: unavailable, not insecure.
        untrusting = open_store(f"rediss://127.0.0.1:{port}/0", timeout=2.0)
        try:
            with pytest.raises(StoreUnavailable):
                await untrusting.ping()
        finally:
            await untrusting.close()
    finally:
        server.stop()


async def test_unix_socket_and_password(tmp_path: Path, key: str) -> None:
    sock = tmp_path / "redis.sock"
    server = _server(tmp_path, "--unixsocket", str(sock), "--requirepass", "s3cret-pw")
    try:
        store = open_store(f"unix://{sock}?db=1&password=s3cret-pw", timeout=2.0)
        try:
            await store.set(key, b"v", 60)
            assert await store.get(key) == b"v"
        finally:
            await store.close()
        wrong = open_store(f"redis://:not-it@127.0.0.1:{server.port}/0", timeout=2.0)
        try:
            with pytest.raises(StoreUnavailable) as info:
                await wrong.get(key)
            assert "not-it" not in str(info.value) and ":***@" in str(info.value)
        finally:
            await wrong.close()
    finally:
        server.stop()
