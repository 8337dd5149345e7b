"""The floor: the leanest honest pure-Python client, an informational row.

No longer the denominator (issue 14: ratios are to the bare aiohttp loop,
`aiohttp_plain.py`); kept because it is cheap and shows what is left above
the raw sockets.

Raw `asyncio.open_connection`, a hand-written HTTP/1.1 request, chunked
de-framing over 64 KiB reads, one prebuilt msgspec Decoder per response type,
chunks yielded through an async generator, a tiny LIFO keep-alive pool. It is
a correct client for the bench server (lines may span HTTP chunks, several
lines may share one), not a best-case hack that assumes one line per read.
What it skips, on purpose: redirects, proxies, TLS, cookies, retries, timeouts,
error mapping: the things a real SDK adds and must make cheap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import msgspec

from benchmarks.clients._common import MESSAGES, MODEL


class Message(msgspec.Struct):
    role: str
    content: str
    thinking: str | None = None
    images: list[str] | None = None
    tool_calls: list[Any] | None = None


class ChatChunk(msgspec.Struct):
    """Also the `stream:false` response: the same object, content joined."""

    model: str
    created_at: str
    message: Message
    done: bool
    done_reason: str | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None


class EmbedResponse(msgspec.Struct):
    model: str
    embeddings: list[list[float]]
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None


class Options(msgspec.Struct, omit_defaults=True):
    num_predict: int | None = None


class ChatRequest(msgspec.Struct, omit_defaults=True):
    model: str
    messages: list[dict[str, str]]
    stream: bool
    options: Options | None = None


class EmbedRequest(msgspec.Struct):
    model: str
    input: list[str]


_chunk = msgspec.json.Decoder(ChatChunk).decode
_embed = msgspec.json.Decoder(EmbedResponse).decode
_encode = msgspec.json.Encoder().encode

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Pool:
    """At most `size` connections; idle ones reused last-in first-out."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Conn] = []
        self.slots = asyncio.Semaphore(size)

    async def acquire(self) -> Conn:
        await self.slots.acquire()
        if self.idle:
            return self.idle.pop()
        try:
            return await asyncio.open_connection(self.host, self.port)
        except BaseException:
            self.slots.release()
            raise

    def release(self, conn: Conn, reusable: bool) -> None:
        if reusable:
            self.idle.append(conn)
        else:
            conn[1].close()
        self.slots.release()

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _read_head(reader: asyncio.StreamReader) -> int:
    """Status line and headers; returns Content-Length, or -1 when chunked."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    lower = head.lower()
    if b"\r\ntransfer-encoding: chunked" in lower:
        return -1
    i = lower.find(b"\r\ncontent-length:")
    if i < 0:
        raise RuntimeError("neither chunked nor Content-Length")
    return int(lower[i + 17 : lower.index(b"\r\n", i + 17)])


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[ChatChunk]:
    """De-frame chunked transfer encoding and decode one Struct per line."""
    buf = b""
    pos = 0
    partial = b""  # a line split across HTTP chunks
    while True:
        end = len(buf)
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(buf[pos:eol], 16)  # Ollama sends no chunk extensions
            start = eol + 2
            stop = start + size
            if stop + 2 > end:
                break
            pos = stop + 2
            if size == 0:  # last chunk; Ollama sends no trailers
                if partial:
                    yield _chunk(partial)
                return
            data = buf[start:stop]
            # Fast path, the common case: exactly one whole line in this chunk.
            # msgspec accepts the trailing newline as whitespace.
            if not partial and data.find(b"\n") == size - 1:
                yield _chunk(data)
                continue
            *lines, partial = (partial + data).split(b"\n")
            for line in lines:
                if line:
                    yield _chunk(line)
        more = await reader.read(65536)
        if not more:
            raise ConnectionError("connection closed mid-response")
        buf = buf[pos:] + more
        pos = 0


class Bench:
    async def start(self, url: str, connections: int) -> None:
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        self.pool = Pool(parts.hostname, parts.port, connections)
        self.host = parts.netloc.encode()

    def _request(self, path: bytes, body: bytes) -> bytes:
        return (
            b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path, self.host, len(body), body)
        )

    def _chat_body(self, n: int, stream: bool) -> bytes:
        req = ChatRequest(MODEL, MESSAGES, stream, Options(num_predict=n))
        return self._request(b"/api/chat", _encode(req))

    async def stream(self, n: int) -> tuple[int, str]:
        reader, writer = conn = await self.pool.acquire()
        ok = False
        try:
            writer.write(self._chat_body(n, True))
            if await _read_head(reader) != -1:
                raise RuntimeError("expected a chunked stream")
            count = 0
            parts = []
            async for part in _chunks(reader):
                count += 1
                parts.append(part.message.content)
            ok = True
        finally:
            self.pool.release(conn, ok)
        return count, "".join(parts)

    async def _single(self, request: bytes) -> bytes:
        reader, writer = conn = await self.pool.acquire()
        ok = False
        try:
            writer.write(request)
            length = await _read_head(reader)
            if length < 0:
                raise RuntimeError("expected Content-Length")
            body = await reader.readexactly(length)
            ok = True
        finally:
            self.pool.release(conn, ok)
        return body

    async def chat(self, n: int) -> str:
        return _chunk(await self._single(self._chat_body(n, False))).message.content

    async def embed(self, inputs: list[str]) -> list[list[float]]:
        body = _encode(EmbedRequest(MODEL, inputs))
        return _embed(await self._single(self._request(b"/api/embed", body))).embeddings

    async def first_chunk(self, n: int) -> float:
        t0 = time.perf_counter()
        reader, writer = conn = await self.pool.acquire()
        ok = False
        first = 0.0
        try:
            writer.write(self._chat_body(n, True))
            await _read_head(reader)
            async for _ in _chunks(reader):
                if not first:
                    first = time.perf_counter() - t0
            ok = True
        finally:
            self.pool.release(conn, ok)
        return first

    async def close(self) -> None:
        self.pool.close()
