"""Hostile or broken servers: every case ends in one of our typed errors
with bounded memory, never a hang, an unbounded buffer or a silently
truncated answer."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ollama_async import (
    AsyncClient,
    DecodeError,
    FirstByteTimeout,
    LineTooLongError,
    OllamaError,
    Retry,
    ServerError,
    Timeout,
)

HI = [{"role": "user", "content": "hi"}]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """A raw TCP server on loopback running ``handler`` per connection."""
    servers: list[asyncio.Server] = []
    writers: list[asyncio.StreamWriter] = []

    async def start(handler: Handler) -> str:
        async def wrapped(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            writers.append(writer)
            try:
                await reader.readuntil(b"\r\n\r\n")
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass

        server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for writer in writers:
        writer.transport.abort()
    for server in servers:
        server.close()
        await server.wait_closed()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


NDJSON_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
LINES = [
    b'{"model":"m","message":{"role":"assistant","content":"%d "},"done":false}\n' % i
    for i in range(5)
] + [b'{"model":"m","message":{"role":"assistant","content":""},"done":true}\n']
FULL = NDJSON_HEAD + b"".join(_chunk(line) for line in LINES) + b"0\r\n\r\n"
CONTENT = "0 1 2 3 4 "


async def test_a_reset_at_every_point_never_truncates(serve) -> None:
    cut = [0]

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(FULL[: cut[0]])
        await writer.drain()
        writer.transport.abort()  # RST, mid-whatever

    url = await serve(handler)
    outcomes: dict[str, int] = {}
    async with AsyncClient(url, retry=None) as client:
        for cut[0] in range(len(FULL) + 1):
            try:
                answer = await client.chat("m", HI, stream=True).collect()
            except OllamaError as exc:
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
                continue
            assert answer.done  # success only with the final line in hand
            assert answer.message.content == CONTENT
            outcomes["ok"] = outcomes.get("ok", 0) + 1
    assert outcomes.get("ok", 0) >= 1
    assert outcomes.get("RemoteProtocolError", 0) > len(FULL) // 2


async def test_a_line_that_never_ends(serve) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(NDJSON_HEAD)
        piece = _chunk(b"x" * 65536)
        for _ in range(200):  # 13 MB without a newline
            writer.write(piece)
            await writer.drain()

    url = await serve(handler)
    tracemalloc.start()
    try:
        async with AsyncClient(url, max_line_size=1_000_000) as client:
            with pytest.raises(LineTooLongError):
                await client.chat("m", HI, stream=True).collect()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12_000_000


async def test_a_gzip_bomb_is_bounded(serve) -> None:
    bomb = gzip.compress(b"0" * 200_000_000, compresslevel=9)  # ~200 KB

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n%b" % (len(bomb), bomb)
        )
        await writer.drain()

    url = await serve(handler)
    tracemalloc.start()
    try:
        async with AsyncClient(url, max_body_size=4_000_000) as client:
            with pytest.raises(DecodeError, match="max_body_size"):
                await client.version()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40_000_000


async def test_headers_that_trickle_in_hit_the_first_byte_timeout(serve) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            writer.write(b"X")  # a header name, one byte at a time
            await writer.drain()
            await asyncio.sleep(0.05)

    url = await serve(handler)
    async with AsyncClient(url, timeout=Timeout(first_byte=0.5), retry=None) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(FirstByteTimeout):
            await client.version()
        assert loop.time() - started < 2


async def test_a_server_that_never_answers(serve) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await asyncio.sleep(30)

    url = await serve(handler)
    async with AsyncClient(
        url, timeout=Timeout(first_byte=0.3), retry=Retry.never()
    ) as client:
        with pytest.raises(FirstByteTimeout):
            await client.chat("m", HI, stream=True).collect()


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b'{"model":"m","done":false}', id="chat-chunk-without-message"),
        pytest.param(
            b'{"model":"m","message":{"role":"assistant","content":"\xff\xfe"}}',
            id="invalid-utf8",
        ),
        pytest.param(
            b'{"model":"m","message":"hello","done":true}', id="message-not-an-object"
        ),
        pytest.param(b"[1,2,3]", id="not-an-object"),
    ],
)
async def test_wrong_shapes_raise_decode_errors(serve, line: bytes) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(NDJSON_HEAD + _chunk(line + b"\n") + b"0\r\n\r\n")
        await writer.drain()

    url = await serve(handler)
    async with AsyncClient(url) as client:
        with pytest.raises(DecodeError):
            await client.chat("m", HI, stream=True).collect()


async def test_an_error_body_that_is_not_utf8(serve) -> None:
    body = b'{"error":"bad \xff byte"}'

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(
            b"HTTP/1.1 500 Internal Server Error\r\n"
            b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
        )
        await writer.drain()

    url = await serve(handler)
    async with AsyncClient(url, retry=None) as client:
        with pytest.raises(ServerError) as info:
            await client.version()
    assert info.value.status_code == 500
    assert "bad" in info.value.error
