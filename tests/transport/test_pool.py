"""Keep-alive and the connection pool of the aiohttp transport, seen from the
raw-bytes loopback server that counts connections: reuse, limits and FIFO
waiters, cancellation, expiry; a connection that carried bytes after its
response is never reused; no hidden re-sends (aiohttp's own retry of
idempotent requests is off, the ``Retry`` policy alone decides, and counts
are taken at the server); ``break``, cancel and ``aclose`` close connections
so the server sees it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ollama_async import (
    AsyncClient,
    Limits,
    RemoteProtocolError,
    Retry,
    Timeout,
    TransportError,
    UsageError,
)

from ._scripted import (
    CHUNKED_HEAD,
    EXPECTED,
    LAST_CHUNK,
    LINES,
    VERSION,
    Handler,
    Request,
    ServeFn,
    answer,
    chunk,
    chunked,
    client_for,
    current_server,
    generate_parts,
    keep_alive,
    read_request,
    response,
    stream_held_open,
    until,
    until_closed,
)

HI = [{"role": "user", "content": "hi"}]
CHAT_JSON = (
    b'{"model":"m","created_at":"2025-01-01T00:00:00Z",'
    b'"message":{"role":"assistant","content":"ok"},"done":true}'
)


def _acquired(client: AsyncClient) -> int:
    """Connections the client's aiohttp connector holds for calls."""
    connector = client._transport.session().connector  # type: ignore[attr-defined]
    return len(connector._acquired)


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
    """A call cancelled while waiting for a connection, before or right after
    the connection was released to it, does not leak the slot: later calls
    still run on the one connection."""
    gate = asyncio.Event()

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await read_request(reader)) is not None:
            if request.method == "POST":
                # aiohttp frees the slot once the body is in: hold it back.
                writer.write(CHUNKED_HEAD + chunk(LINES[0]))
                await writer.drain()
                await gate.wait()
                writer.write(b"".join(chunk(x) for x in LINES[1:]) + LAST_CHUNK)
            else:
                writer.write(VERSION)
            await writer.drain()

    server = await scripted_server(handler)
    async with client_for(server.url, limits=Limits(max_connections=1)) as client:
        async with client.generate("m", "hi", stream=True) as stream:
            waiting = [asyncio.create_task(client.version()) for _ in range(3)]
            await asyncio.sleep(0.05)
            assert not any(task.done() for task in waiting)
            waiting[0].cancel()  # cancelled while queued
            await asyncio.gather(waiting[0], return_exceptions=True)
            gate.set()
            async for _ in stream:
                pass
            # the end of the body released the connection, waking
            # waiting[1]: cancel it before it could use it
            waiting[1].cancel()
        gathered = asyncio.gather(*waiting, return_exceptions=True)
        results = await asyncio.wait_for(gathered, 5)
        assert isinstance(results[0], asyncio.CancelledError)
        assert isinstance(results[1], asyncio.CancelledError)
        assert results[2].version == "0.33.0"
        for _ in range(3):
            assert (await asyncio.wait_for(client.version(), 2)).version == "0.33.0"
        assert _acquired(client) == 0
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
        assert _acquired(client) == 0
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
    not be re-sent) simply gets a new connection."""

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


# -- no hidden re-sends ------------------------------------------------------------


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


async def test_aiohttp_does_not_resend_on_a_stale_connection(
    scripted_server: ServeFn,
) -> None:
    """aiohttp would send a GET again, once, on a fresh connection when a
    kept-alive one turns out closed; the transport turns that off, so with
    ``retry=None`` the GET goes out exactly once and fails with our error."""
    server = await scripted_server(_closes_second_request())
    async with client_for(server.url, retry=None) as client:
        await client.version()
        with pytest.raises(RemoteProtocolError, match="disconnected"):
            await client.version()
        assert client._transport.session()._retry_connection is False  # type: ignore[attr-defined]
    assert [r.target for r in server.requests] == ["/api/version"] * 2
    assert server.accepted == 1


async def test_the_retry_policy_resends_idempotent_calls(
    scripted_server: ServeFn,
) -> None:
    """With the default policy, the same GET (and a stream, before any part of
    it reached the caller) is sent again, once, on a new connection."""
    server = await scripted_server(_closes_second_request())
    async with client_for(server.url, retry=Retry(backoff=0)) as client:
        await client.version()
        assert (await client.version()).version == "0.33.0"
    assert [r.target for r in server.requests] == ["/api/version"] * 3
    assert server.accepted == 2


async def test_the_retry_policy_resends_a_stale_stream(
    scripted_server: ServeFn,
) -> None:
    server = await scripted_server(_closes_second_request(chunked(LINES)))
    async with client_for(server.url, retry=Retry(backoff=0)) as client:
        assert await generate_parts(client) == EXPECTED
        assert await generate_parts(client) == EXPECTED
    assert len(server.requests) == 3
    assert server.accepted == 2


@pytest.mark.parametrize("stream", [False, True], ids=["chat", "chat-stream"])
async def test_the_retry_policy_resends_a_chat(
    scripted_server: ServeFn, stream: bool
) -> None:
    """chat is idempotent for the policy (nothing of the answer reached the
    caller yet): the policy, not aiohttp, sends it once more."""
    server = await scripted_server(_closes_second_request(response(CHAT_JSON)))
    async with client_for(server.url, retry=Retry(backoff=0)) as client:
        await client.chat("m", HI)
        if stream:
            reply = await client.chat("m", HI, stream=True).collect()
        else:
            reply = await client.chat("m", HI)
        assert reply.message.content == "ok"
    assert [r.method for r in server.requests] == ["POST"] * 3
    assert server.accepted == 2


@pytest.mark.parametrize("stream", [False, True], ids=["chat", "chat-stream"])
async def test_a_written_post_is_sent_once_without_a_policy(
    scripted_server: ServeFn, stream: bool
) -> None:
    """aiohttp never re-sends a POST; with ``retry=None`` nothing else does."""
    server = await scripted_server(_closes_second_request(response(CHAT_JSON)))
    async with client_for(server.url, retry=None) as client:
        await client.chat("m", HI)
        with pytest.raises(RemoteProtocolError):
            if stream:
                await client.chat("m", HI, stream=True).collect()
            else:
                await client.chat("m", HI)
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert server.accepted == 1


@pytest.mark.parametrize("call", ["copy", "delete", "create", "push", "create-stream"])
async def test_stale_connection_not_resent_when_not_idempotent(
    scripted_server: ServeFn, call: str
) -> None:
    """Calls that change the server are not re-sent once written, whatever
    the policy."""
    server = await scripted_server(_closes_second_request())
    async with client_for(server.url, retry=Retry(backoff=0)) as client:
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


# -- bytes after a response --------------------------------------------------------

_EXTRA = b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n" + b'{"version":"evil"}'


@pytest.mark.parametrize(
    ("extra", "first"),
    [
        # A whole response more: ours stands, the extra one is never read.
        pytest.param(_EXTRA, "0.33.0", id="a-response"),
        # Not a response: llhttp fails on it while reading ours.
        pytest.param(b"GARBAGE", RemoteProtocolError, id="garbage"),
    ],
)
async def test_bytes_in_the_same_write_as_a_response(
    scripted_server: ServeFn, extra: bytes, first: Any
) -> None:
    """Bytes after a complete response, in the same write: never taken as the
    answer to a later call, and the connection is not reused."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        index = current_server().accepted
        while await read_request(reader) is not None:
            writer.write(VERSION + extra if index == 1 else VERSION)
            await writer.drain()

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        if isinstance(first, str):
            assert (await client.version()).version == first
        else:
            with pytest.raises(first):
                await client.version()
        for _ in range(3):
            assert (await client.version()).version == "0.33.0"
    assert server.accepted == 2
    assert len(server.requests) == 4


def _answers_then_sends(extra: bytes, sent: asyncio.Event) -> Handler:
    """Answers every request with VERSION and, once, 20 ms after the first
    answer (the connection idle in the client's pool), writes ``extra``."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            writer.write(VERSION)
            await writer.drain()
            if not sent.is_set():
                await asyncio.sleep(0.02)
                writer.write(extra)
                await writer.drain()
                sent.set()

    return handler


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(_EXTRA, id="a-response"),
        pytest.param(b"GARBAGE\r\n\r\n", id="garbage"),
    ],
)
async def test_bytes_while_idle_in_the_pool(
    scripted_server: ServeFn, extra: bytes
) -> None:
    """A connection that received bytes while idle is closed before anything
    is written to it (``_Request.send`` checks ``should_close``): the next
    call goes out on a new connection, and gets its own answer."""
    sent = asyncio.Event()
    server = await scripted_server(_answers_then_sends(extra, sent))
    async with client_for(server.url) as client:
        assert (await client.version()).version == "0.33.0"
        await sent.wait()
        await asyncio.sleep(0.05)  # the bytes reach the idle connection
        for _ in range(3):
            assert (await client.version()).version == "0.33.0"
        await until(lambda: server.eof == 1)  # the stale connection was closed
    assert [r.target for r in server.requests] == ["/api/version"] * 4
    assert server.accepted == 2


async def test_half_a_head_while_idle_is_dropped(scripted_server: ServeFn) -> None:
    """Known limit: the start of a head arriving on an idle connection leaves
    no trace aiohttp shows (its parser for the finished response takes the
    bytes and waits for more), so the connection is reused. The bytes go
    with that parser: the next call still gets its own answer."""
    sent = asyncio.Event()
    server = await scripted_server(
        _answers_then_sends(b"HTTP/1.1 200 OK\r\nContent-Le", sent)
    )
    async with client_for(server.url) as client:
        assert (await client.version()).version == "0.33.0"
        await sent.wait()
        await asyncio.sleep(0.05)
        for _ in range(3):
            assert (await client.version()).version == "0.33.0"
    assert len(server.requests) == 4


# -- closing -------------------------------------------------------------------------


async def test_break_closes_the_connection(scripted_server: ServeFn) -> None:
    """``break`` inside ``async with``: the server sees the disconnect at once
    (how Ollama learns to stop generating)."""
    server = await scripted_server(stream_held_open())
    async with client_for(server.url) as client:
        async with client.generate("m", "hi", stream=True) as stream:
            async for _ in stream:
                break
        await until(lambda: server.eof == 1, 2)
        assert _acquired(client) == 0
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 2


@pytest.mark.parametrize("where", ["waiting-for-head", "mid-body"])
async def test_cancel_closes_the_connection(
    scripted_server: ServeFn, where: str
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        if where == "mid-body":
            writer.write(CHUNKED_HEAD + chunk(LINES[0]))
            await writer.drain()
        await until_closed(reader)

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        parts: list[Any] = []

        async def consume() -> None:
            async with client.generate("m", "hi", stream=True) as stream:
                async for part in stream:
                    parts.append(part)

        task = asyncio.create_task(consume())
        await until(lambda: len(server.requests) == 1)
        if where == "mid-body":
            await until(lambda: len(parts) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: server.eof == 1, 2)
        assert _acquired(client) == 0


async def test_aclose_closes_idle_and_busy_connections(
    scripted_server: ServeFn,
) -> None:
    server = await scripted_server(stream_held_open())
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
    """Calls waiting for a connection when the client closes fail with our
    error: aiohttp cancels their wait, which must not surface as a
    CancelledError in a task nobody cancelled."""
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
    """A call waiting on a reused connection when the client closes fails; no
    new connection is opened on the closed client (a socket nobody would
    ever close)."""
    gate = asyncio.Event()

    async def respond(request: Request) -> bytes:
        if len(server.requests) > 1:
            await gate.wait()
        return VERSION

    server = await scripted_server(keep_alive(respond))
    client = client_for(server.url, retry=Retry(backoff=0))
    await client.version()
    call = asyncio.create_task(client.version())  # on the reused connection
    await until(lambda: len(server.requests) == 2)
    await client.aclose()
    # Its connection is dropped under it (a transport error), and a retry
    # finds the client closed (a usage error); either way, no new socket.
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
    """A 4 MiB (content-length) body that arrives whole before the consumer
    reads: aiohttp pauses reading at its buffer's high-water mark; once the
    body is read, the connection back in the pool must read again, or the
    next response on it never arrives."""
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
