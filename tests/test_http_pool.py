"""Keep-alive and the connection pool of the lean HTTP/1.1 client, seen from
a raw loopback server that counts connections: reuse, limits and FIFO
waiters, cancellation, expiry, stale connections (retried only when that is
safe) and closing. The server fixture comes from ``test_http.py``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_http import (
    CHUNKED_HEAD,
    EXPECTED,
    LAST_CHUNK,
    LINES,
    VERSION,
    Request,
    ServeFn,
    _current,
    answer,
    chunk,
    chunked,
    client_for,
    generate_parts,
    keep_alive,
    read_request,
    response,
    scripted_server,
    until,
)

from ollama_async import (
    Limits,
    RemoteProtocolError,
    Timeout,
    TransportError,
    UsageError,
)

__all__ = ["scripted_server"]  # the fixture, imported for pytest


async def test_connections_are_reused(scripted_server: ServeFn) -> None:
    server = await scripted_server(
        keep_alive(lambda r: chunked(LINES) if r.method == "POST" else VERSION)
    )
    async with client_for(server.url) as client:
        for _ in range(5):
            assert (await client.version()).version == "0.33.0"
            assert await generate_parts(client) == EXPECTED
        await asyncio.gather(*(client.version() for _ in range(3)))
    assert server.accepted == 3  # one, then three at once
    assert len(server.requests) == 13
    await until(lambda: server.eof == 3)  # aclose closed them all


async def test_max_connections_bounds_concurrency(scripted_server: ServeFn) -> None:
    active = peak = 0

    async def respond(request: Request) -> bytes:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.03)
        active -= 1
        return VERSION

    async def route(request: Request) -> bytes:
        return chunked(LINES) if request.method == "POST" else await respond(request)

    server = await scripted_server(keep_alive(route))
    async with client_for(server.url, limits=Limits(max_connections=2)) as client:
        results = await asyncio.gather(*(client.version() for _ in range(10)))
        assert [r.version for r in results] == ["0.33.0"] * 10
        assert server.accepted == 2
        assert peak == 2
        # streams count too: while one is open, the other slot serves calls
        async with client.generate("m", "hi", stream=True) as stream:
            await asyncio.gather(*(client.version() for _ in range(4)))
            assert [(p.response, p.done) async for p in stream] == EXPECTED
    assert server.accepted == 2


async def test_waiters_are_served_in_order(scripted_server: ServeFn) -> None:
    gate = asyncio.Event()

    async def respond(request: Request) -> bytes:
        if request.target == "/api/ps":
            await gate.wait()
            return response(b'{"models":[]}')
        return response(b'{"modelfile":"x"}')

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url, limits=Limits(max_connections=1)) as client:
        holder = asyncio.create_task(client.ps())
        await until(lambda: len(server.requests) == 1)
        tasks = []
        for n in range(6):
            tasks.append(asyncio.create_task(client.show(f"m{n}")))
            await asyncio.sleep(0.005)
        gate.set()
        await asyncio.wait_for(asyncio.gather(holder, *tasks), 5)
    names = [r.body for r in server.requests[1:]]
    assert names == [b'{"model":"m%d"}' % n for n in range(6)]
    assert server.accepted == 1


async def test_cancelled_waiter_frees_its_turn(scripted_server: ServeFn) -> None:
    """A call cancelled while waiting for a connection, before or after it was
    handed the turn, does not leak the slot: later calls still run."""
    server = await scripted_server(
        keep_alive(lambda r: chunked(LINES) if r.method == "POST" else VERSION)
    )
    async with client_for(server.url, limits=Limits(max_connections=1)) as client:
        async with client.generate("m", "hi", stream=True) as stream:
            waiting = [asyncio.create_task(client.version()) for _ in range(3)]
            await asyncio.sleep(0.05)
            waiting[0].cancel()  # cancelled while queued
            await asyncio.gather(waiting[0], return_exceptions=True)
            async for _ in stream:
                pass
            # the end of the stream released the connection and handed the
            # turn to waiting[1], which has not run yet: cancel it now
            assert not waiting[1].done()
            waiting[1].cancel()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError)
        assert isinstance(results[1], asyncio.CancelledError)
        assert results[2].version == "0.33.0"
        for _ in range(3):
            assert (await asyncio.wait_for(client.version(), 2)).version == "0.33.0"
    assert server.accepted == 1


async def test_failed_calls_free_their_slot(scripted_server: ServeFn) -> None:
    bad = b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"

    def respond(request: Request) -> bytes:
        return bad if request.target == "/api/ps" else VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url, limits=Limits(max_connections=1)) as client:
        for _ in range(3):
            with pytest.raises(RemoteProtocolError):
                await client.ps()
            assert (await asyncio.wait_for(client.version(), 2)).version == "0.33.0"
    assert server.accepted == 4


async def test_keepalive_expiry(scripted_server: ServeFn) -> None:
    server = await scripted_server(answer(VERSION))
    limits = Limits(keepalive_expiry=0.05)
    async with client_for(server.url, limits=limits) as client:
        await client.version()
        await client.version()
        assert server.accepted == 1
        await asyncio.sleep(0.1)
        await client.version()
        assert server.accepted == 2
        await until(lambda: server.eof == 1)  # the expired one was closed


async def test_server_closed_idle_connection(scripted_server: ServeFn) -> None:
    """A server that closes each connection after answering, without saying
    so: once the client has seen the close, every call (even one that must
    not be retried) simply gets a new connection."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(VERSION if server.requests[-1].method == "GET" else response())
        await writer.drain()
        writer.close()

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        await client.version()
        await asyncio.sleep(0.05)
        await client.copy("a", "b")
        await asyncio.sleep(0.05)
        await client.version()
    assert server.accepted == 3


def _closes_second_request(answer_post: bytes = b"") -> Any:
    """Answers the first request on each connection, then reads the next one
    and closes without answering: the race of a keep-alive timeout."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request = await read_request(reader)
        assert request is not None
        if request.method == "GET" and request.target == "/api/version":
            writer.write(VERSION)
        else:
            writer.write(answer_post or response(b'{"status":"success"}'))
        await writer.drain()
        await read_request(reader)
        writer.close()

    return handler


async def test_stale_connection_retried_when_idempotent(
    scripted_server: ServeFn,
) -> None:
    server = await scripted_server(_closes_second_request())
    async with client_for(server.url) as client:
        await client.version()
        assert (await client.version()).version == "0.33.0"  # retried transparently
        assert server.accepted == 2
        assert [r.target for r in server.requests] == ["/api/version"] * 3


async def test_stale_stream_retried_when_idempotent(scripted_server: ServeFn) -> None:
    server = await scripted_server(_closes_second_request(chunked(LINES)))
    async with client_for(server.url) as client:
        assert await generate_parts(client) == EXPECTED
        assert await generate_parts(client) == EXPECTED
    assert server.accepted == 2


@pytest.mark.parametrize("call", ["copy", "delete", "create", "push", "create-stream"])
async def test_stale_connection_not_retried_when_not_idempotent(
    scripted_server: ServeFn, call: str
) -> None:
    server = await scripted_server(_closes_second_request())
    async with client_for(server.url) as client:
        await client.version()
        with pytest.raises(RemoteProtocolError):
            if call == "copy":
                await client.copy("a", "b")
            elif call == "delete":
                await client.delete("a")
            elif call == "create":
                await client.create("a", from_="b")
            elif call == "push":
                await client.push("a")
            else:
                async with client.create("a", from_="b", stream=True) as stream:
                    async for _ in stream:
                        pass
        # sent once, on the stale connection, and not again
        assert len(server.requests) == 2
        assert server.accepted == 1
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 2


async def test_aclose_closes_idle_and_busy_connections(
    scripted_server: ServeFn,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await read_request(reader)) is not None:
            if request.target == "/api/generate":
                writer.write(CHUNKED_HEAD + chunk(LINES[0]))
                await writer.drain()
                # keep the stream open; notice the client leaving
                while await reader.read(1024):
                    pass
                _current.get().eof += 1
                return
            writer.write(VERSION)

    server = await scripted_server(handler)
    client = client_for(server.url)
    stream = client.generate("m", "hi", stream=True)
    await stream
    iterator = aiter(stream)
    assert (await anext(iterator)).response == "Hel"
    await client.version()  # a second connection, now idle
    assert server.accepted == 2
    await client.aclose()
    await until(lambda: server.eof == 2)  # both closed, busy and idle
    with pytest.raises(TransportError):
        await anext(iterator)
    with pytest.raises(UsageError):
        await client.version()
    assert server.accepted == 2


async def test_aclose_fails_queued_acquirers(scripted_server: ServeFn) -> None:
    gate = asyncio.Event()

    async def respond(request: Request) -> bytes:
        await gate.wait()
        return VERSION

    server = await scripted_server(keep_alive(respond))
    client = client_for(server.url, limits=Limits(max_connections=1))
    busy = asyncio.create_task(client.version())
    await until(lambda: len(server.requests) == 1)
    queued = [asyncio.create_task(client.version()) for _ in range(3)]
    await asyncio.sleep(0.02)
    await client.aclose()
    results = await asyncio.gather(busy, *queued, return_exceptions=True)
    assert isinstance(results[0], RemoteProtocolError)
    assert all(isinstance(r, UsageError) for r in results[1:]), results
    gate.set()
    assert server.accepted == 1


async def test_aclose_during_reused_request_opens_nothing(
    scripted_server: ServeFn,
) -> None:
    """A call waiting on a reused connection when the client closes fails; it
    is not 'retried' on a fresh connection of the closed pool (a socket
    nobody would ever close)."""
    gate = asyncio.Event()

    async def respond(request: Request) -> bytes:
        if len(server.requests) > 1:
            await gate.wait()
        return VERSION

    server = await scripted_server(keep_alive(respond))
    client = client_for(server.url)
    await client.version()
    call = asyncio.create_task(client.version())  # on the reused connection
    await until(lambda: len(server.requests) == 2)
    await client.aclose()
    # Its connection is dropped under it (a transport error) and the stale
    # retry finds the client closed (a usage error); either way, no new socket.
    with pytest.raises((TransportError, UsageError)):
        await call
    await asyncio.sleep(0.05)
    gate.set()
    assert server.accepted == 1


async def test_slow_stream_holds_its_slot_until_closed(
    scripted_server: ServeFn,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await read_request(reader)) is not None:
            if request.target == "/api/generate":
                writer.write(CHUNKED_HEAD + chunk(LINES[0]))
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.write(b"".join(chunk(x) for x in LINES[1:]) + LAST_CHUNK)
            else:
                writer.write(VERSION)

    server = await scripted_server(handler)
    async with client_for(server.url, limits=Limits(max_connections=1)) as client:
        async with client.generate("m", "hi", stream=True) as stream:
            call = asyncio.create_task(client.version())
            parts = [(p.response, p.done) async for p in stream]
            assert not call.done() or parts
        assert parts == EXPECTED
        assert (await call).version == "0.33.0"
    assert server.accepted == 1  # the stream ended cleanly and was reused


async def test_connection_paused_at_its_last_read_is_reused(
    scripted_server: ServeFn,
) -> None:
    """A (content-length) body whose last read pushes the buffer over the
    high-water mark ends with reading paused; back in the pool the connection must read
    again, or the next response on it never arrives."""
    high_water = 4 * 1024 * 1024

    def line(size: int) -> bytes:
        return b'{"status":"' + b"x" * (size - 14) + b'"}\n'

    first = line(1024) * (high_water // 1024 - 1) + line(524)  # 500 bytes short
    second = line(1000) + b'{"status":"success"}\n'

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await read_request(reader)) is not None:
            if request.target == "/api/pull":
                writer.write(response(first + second)[: -len(second)])
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.write(second)
            else:
                writer.write(VERSION)
            await writer.drain()

    assert len(first) == high_water - 500
    server = await scripted_server(handler)
    async with client_for(server.url, timeout=Timeout(first_byte=2)) as client:
        async with client.pull("m", stream=True) as stream:
            await asyncio.sleep(0.4)  # all of it arrives before we read
            count = sum([1 async for _ in stream])
        assert count == high_water // 1024 + 2
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 1


async def test_total_covers_the_wait_for_a_connection(fake_ollama) -> None:  # type: ignore[no-untyped-def]
    from ollama_async import AsyncClient, Limits, Timeout, TotalTimeout

    fake_ollama.tokens_per_second = 50
    hi = [{"role": "user", "content": "hi"}]
    async with (
        AsyncClient(
            fake_ollama.url, limits=Limits(max_connections=1), retry=None
        ) as client,
        client.chat("llama3.2", hi, stream=True) as stream,
    ):
        async for _ in stream:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TotalTimeout, match="waiting for a connection"):
                await client.version(timeout=Timeout(total=0.2))
            assert loop.time() - started < 1
            break
