"""Timeouts of the aiohttp transport against the raw-bytes loopback server:
``connect``; one deadline on the whole response head (``first_byte``), which
aiohttp's own socket-read timer, restarted by every byte, does not give;
``read`` between pieces of the body once the head is in; ``total``; the wait
for a pooled connection (``pool`` + ``connect``, as aiohttp's ``connect``
covers both). Each ends in its typed error, and closes the connection so the
server sees it."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ollama_async import (
    ConnectTimeout,
    FirstByteTimeout,
    Limits,
    PoolTimeout,
    ReadTimeout,
    Timeout,
    TotalTimeout,
)

from ._scripted import (
    CHUNKED_HEAD,
    EXPECTED,
    GEN_JSON,
    LAST_CHUNK,
    LINES,
    VERSION,
    Handler,
    Request,
    ServeFn,
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


async def _never_answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await read_request(reader)
    await until_closed(reader)


async def test_connect_timeout() -> None:
    """A listener whose accept queue is full drops SYNs: connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex(("127.0.0.1", port))
            _, writable, _ = await asyncio.to_thread(
                select.select, [], [filler], [], 0.3
            )
            if not writable:
                break
        else:
            pytest.skip("this kernel never fills a listen backlog; cannot black-hole")
        async with client_for(
            f"http://127.0.0.1:{port}", timeout=Timeout(connect=0.2)
        ) as client:
            started = time.monotonic()
            with pytest.raises(ConnectTimeout):
                await client.version()
            assert time.monotonic() - started < 2
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_first_byte_timeout(scripted_server: ServeFn) -> None:
    server = await scripted_server(_never_answer)
    async with client_for(server.url, timeout=Timeout(first_byte=0.1)) as client:
        with pytest.raises(FirstByteTimeout):
            await client.version()
        with pytest.raises(FirstByteTimeout):
            await generate_parts(client)
        await until(lambda: server.eof == 2)  # the timed-out connections closed


async def test_timers_on_a_reused_connection(scripted_server: ServeFn) -> None:
    """The inactivity timer outlives an exchange on a kept-alive connection:
    a short limit left by one call must not fail the next call's longer one,
    and a shorter limit on the next call must still fire on time."""
    delays = iter([0.0, 0.4, 3600.0])

    async def respond(request: Request) -> bytes:
        await asyncio.sleep(next(delays))
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        assert (await client.version(timeout=Timeout(first_byte=0.2))).version
        # Answered after 0.4 s, past the first call's 0.2 s: within its own 5 s.
        assert (await client.version(timeout=Timeout(first_byte=5))).version
        started = time.monotonic()
        with pytest.raises(FirstByteTimeout):
            await client.version(timeout=Timeout(first_byte=0.3))
        assert 0.25 < time.monotonic() - started < 3
    assert server.accepted == 1  # all three on one connection


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\n", id="header-bytes"),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", id="after-100"
        ),
        pytest.param(b"HTTP/1.1 200 ", id="reason-phrase"),
    ],
)
async def test_trickling_headers_hit_first_byte(
    scripted_server: ServeFn, head: bytes
) -> None:
    """``first_byte`` bounds the whole head, not the silence between its bytes
    (aiohttp's ``sock_read`` alone would restart on every byte)."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(head)
        try:
            for _ in range(100):
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(0.02)
        except ConnectionError:
            current_server().eof += 1  # the client left

    server = await scripted_server(handler)
    timeout = Timeout(first_byte=0.3, read=0.1)
    async with client_for(server.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(FirstByteTimeout):
            await client.version()
        assert time.monotonic() - started < 1.5
        await until(lambda: server.eof == 1)


async def test_empty_lines_before_a_head_hit_first_byte(
    scripted_server: ServeFn,
) -> None:
    """llhttp skips empty lines before a status line (RFC 9112 §2.2 lets a
    recipient): a server sending nothing else is a server that did not
    answer."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"\r\n\r\n")
        await writer.drain()
        await until_closed(reader)

    server = await scripted_server(handler)
    async with client_for(server.url, timeout=Timeout(first_byte=0.2)) as client:
        with pytest.raises(FirstByteTimeout):
            await client.version()
        await until(lambda: server.eof == 1)


@pytest.mark.parametrize("status", [100, 102, 103])
async def test_endless_interim_responses_hit_first_byte(
    scripted_server: ServeFn, status: int
) -> None:
    """An endless run of 1xx heads, each complete: still one deadline."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        try:
            for _ in range(500):
                writer.write(b"HTTP/1.1 %d Wait\r\n\r\n" % status)
                await writer.drain()
                await asyncio.sleep(0.01)
        except ConnectionError:
            current_server().eof += 1  # the client left

    server = await scripted_server(handler)
    timeout = Timeout(first_byte=0.3, read=0.1)
    async with client_for(server.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(FirstByteTimeout):
            await generate_parts(client)
        assert time.monotonic() - started < 1.5
        await until(lambda: server.eof == 1)


def _stall_after(data: bytes, then: bytes = b"", delay: float = 3600) -> Handler:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            writer.write(data)
            await writer.drain()
            try:  # the client sends nothing more before the body ends
                if not await asyncio.wait_for(reader.read(1), delay):
                    current_server().eof += 1  # it left
                    return
            except TimeoutError:
                pass
            writer.write(then)
            await writer.drain()

    return handler


async def test_read_timeout_between_chunks(scripted_server: ServeFn) -> None:
    server = await scripted_server(_stall_after(CHUNKED_HEAD + chunk(LINES[0])))
    async with client_for(server.url, timeout=Timeout(read=0.1)) as client:
        parts = []
        with pytest.raises(ReadTimeout) as info:
            async with client.generate("m", "hi", stream=True) as stream:
                async for part in stream:
                    parts.append((part.response, part.done))
        assert not isinstance(info.value, FirstByteTimeout)
        assert parts == EXPECTED[:1]
        await until(lambda: server.eof == 1)


async def test_read_timeout_in_a_whole_body(scripted_server: ServeFn) -> None:
    """A non-streamed body that stalls after its head: ``read``, not
    ``first_byte``, and the connection is closed."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(response(GEN_JSON)[:-5])
        await writer.drain()
        await until_closed(reader)

    server = await scripted_server(handler)
    timeout = Timeout(first_byte=30, read=0.1)
    async with client_for(server.url, timeout=timeout) as client:
        with pytest.raises(ReadTimeout) as info:
            await client.generate("m", "hi")
        assert not isinstance(info.value, FirstByteTimeout)
        await until(lambda: server.eof == 1)


async def test_short_read_after_long_first_byte(scripted_server: ServeFn) -> None:
    """The timer armed for ``first_byte`` moves earlier for ``read``."""
    server = await scripted_server(_stall_after(CHUNKED_HEAD + chunk(LINES[0])))
    timeout = Timeout(first_byte=30, read=0.1)
    async with client_for(server.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            await generate_parts(client)
        assert time.monotonic() - started < 2
        await until(lambda: server.eof == 1)


async def test_slow_stream_without_read_timeout(scripted_server: ServeFn) -> None:
    """With ``read=None`` a pause longer than ``first_byte`` is fine: the
    first-byte deadline is over once the head is in."""
    payload = CHUNKED_HEAD + chunk(LINES[0])
    rest = b"".join(chunk(line) for line in LINES[1:]) + LAST_CHUNK
    server = await scripted_server(_stall_after(payload, rest, delay=0.3))
    timeout = Timeout(first_byte=0.1, read=None)
    async with client_for(server.url, timeout=timeout) as client:
        assert await generate_parts(client) == EXPECTED


async def test_read_timeout_resets_on_data(scripted_server: ServeFn) -> None:
    """``read`` bounds the silence between pieces, not the whole body."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(CHUNKED_HEAD)
        for line in LINES[:-1] * 5 + LINES[-1:]:
            await asyncio.sleep(0.04)
            writer.write(chunk(line))
        writer.write(LAST_CHUNK)

    server = await scripted_server(handler)
    async with client_for(
        server.url, timeout=Timeout(first_byte=0.1, read=0.1)
    ) as client:
        assert len(await generate_parts(client)) == 16


async def test_a_silence_is_caught_between_read_and_a_quarter_more(
    scripted_server: ServeFn,
) -> None:
    """The body's silences are checked four times per ``read`` period (one
    timer per connection, not one per piece): a silence fails the stream no
    sooner than ``read`` and no later than about 1.25 x ``read`` after the
    last byte."""
    arrived: list[float] = []
    server = await scripted_server(_stall_after(CHUNKED_HEAD + chunk(LINES[0])))
    async with client_for(server.url, timeout=Timeout(read=0.4)) as client:
        with pytest.raises(ReadTimeout):
            async with client.generate("m", "hi", stream=True) as stream:
                async for _ in stream:
                    arrived.append(time.monotonic())
        silent_for = time.monotonic() - arrived[0]
    assert 0.4 <= silent_for < 0.4 * 1.25 + 0.3  # + scheduling slack


async def test_a_reader_behind_is_not_a_silent_server(
    scripted_server: ServeFn,
) -> None:
    """While our own reader is slow (aiohttp has paused reading until it
    catches up), the server is not silent: no ReadTimeout, however long the
    reader takes."""
    big = b'{"model":"m","created_at":"t","response":"%s","done":false}\n' % (
        b"x" * 4096
    )
    lines = [big] * 300 + [LINES[-1]]

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(CHUNKED_HEAD + b"".join(chunk(line) for line in lines))
        writer.write(LAST_CHUNK)
        await writer.drain()

    server = await scripted_server(handler)
    async with client_for(server.url, timeout=Timeout(read=0.1)) as client:
        count = 0
        async with client.generate("m", "hi", stream=True) as stream:
            async for _ in stream:
                count += 1
                if count % 100 == 0:
                    await asyncio.sleep(0.3)  # the reader falls behind
    assert count == len(lines)


async def test_a_first_byte_deadline_after_a_long_read_period(
    scripted_server: ServeFn,
) -> None:
    """A kept-alive connection whose last body was watched with a long
    ``read`` period still honours a short ``first_byte`` on its next call."""
    calls = iter([0.0, 3600.0])

    async def respond(request: Request) -> bytes:
        await asyncio.sleep(next(calls))
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        assert (await client.version(timeout=Timeout(read=60))).version
        started = time.monotonic()
        with pytest.raises(FirstByteTimeout):
            await client.version(timeout=Timeout(first_byte=0.3, read=60))
        assert 0.3 <= time.monotonic() - started < 2
    assert server.accepted == 1


async def test_total_timeout(scripted_server: ServeFn) -> None:
    async def trickle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            writer.write(CHUNKED_HEAD)
            try:
                while True:
                    writer.write(chunk(LINES[0]))
                    await writer.drain()
                    await asyncio.sleep(0.02)
            except ConnectionError:
                current_server().eof += 1  # the client left
                return

    server = await scripted_server(trickle)
    timeout = Timeout(read=1, total=0.3)
    async with client_for(server.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(TotalTimeout):
            await generate_parts(client)
        with pytest.raises(TotalTimeout):
            await client.generate("m", "hi")
        assert time.monotonic() - started < 3
        await until(lambda: server.eof == 2)
    slow = await scripted_server(_never_answer)
    async with client_for(slow.url, timeout=timeout) as client:
        with pytest.raises(TotalTimeout):
            await client.version()
        await until(lambda: slow.eof == 1)


async def test_total_timeout_while_consumer_is_busy(scripted_server: ServeFn) -> None:
    """The deadline firing between reads of an until-close body is an error,
    not the end of the body."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(response(length=False))
        for line in LINES[:-1] * 50:
            writer.write(line)
            await writer.drain()
            await asyncio.sleep(0.01)

    server = await scripted_server(handler)
    async with client_for(server.url, timeout=Timeout(total=0.2)) as client:
        with pytest.raises(TotalTimeout):
            async with client.generate("m", "hi", stream=True) as stream:
                async for index, _ in aenumerate(stream):
                    if index == 0:
                        await asyncio.sleep(0.3)


async def aenumerate(iterable: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
    index = 0
    async for item in iterable:
        yield index, item
        index += 1


async def test_timers_do_not_outlive_the_response(scripted_server: ServeFn) -> None:
    """After a response is released its timers are gone: the pooled
    connection survives idle time longer than every timeout. (Errors from
    stray timers would reach the loop's exception handler, which the
    ``loop_errors`` fixture checks.)"""
    server = await scripted_server(
        keep_alive(
            lambda request: (
                response(GEN_JSON)
                if b'"stream":false' in request.body
                else chunked(LINES)
            )
        )
    )
    timeout = Timeout(first_byte=0.05, read=0.05, total=0.1)
    async with client_for(server.url, timeout=timeout) as client:
        for _ in range(3):
            assert await generate_parts(client) == EXPECTED
            await client.generate("m", "hi")
            await asyncio.sleep(0.2)
    assert server.accepted == 1
    assert server.eof in (0, 1)  # 1 only from aclose at the end


# -- waiting for a connection -------------------------------------------------------


async def test_pool_timeout_when_the_pool_is_full(scripted_server: ServeFn) -> None:
    """``pool`` (plus ``connect``: aiohttp times the wait for a free connection
    and the connecting together) bounds the wait, as a PoolTimeout; the slot
    is free again once the holder is done."""
    server = await scripted_server(stream_held_open())
    async with client_for(server.url, limits=Limits(max_connections=1)) as client:
        async with client.generate("m", "hi", stream=True) as stream:
            assert (await anext(aiter(stream))).response == "Hel"
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(PoolTimeout, match="max_connections"):
                await client.version(timeout=Timeout(pool=0.1, connect=0.1))
            assert 0.15 < loop.time() - started < 1.5
        assert (await client.version(timeout=Timeout(pool=0.1))).version == "0.33.0"
    assert server.accepted == 2


async def test_total_covers_the_wait_for_a_connection(
    scripted_server: ServeFn,
) -> None:
    server = await scripted_server(stream_held_open())
    async with client_for(server.url, limits=Limits(max_connections=1)) as client:
        async with client.generate("m", "hi", stream=True) as stream:
            assert (await anext(aiter(stream))).response == "Hel"
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(
                TotalTimeout, match=r"longer than total=\S+ s \(Timeout\.total\)"
            ):
                await client.version(timeout=Timeout(total=0.2))
            assert loop.time() - started < 1
        # the timed-out waiter left no one stranded
        assert (await asyncio.wait_for(client.version(), 2)).version == "0.33.0"
