"""The lean HTTP/1.1 client (``_http``, ``_transport``) against a raw asyncio
TCP server that writes exact bytes: framing, broken servers, timeouts,
back-pressure, uploads, redirects, event-loop changes and TLS. Everything goes
through the public ``AsyncClient``. Keep-alive and the pool are in
``test_http_pool.py``, which reuses the server fixture defined here.
"""

from __future__ import annotations

import asyncio
import contextvars
import gzip
import hashlib
import inspect
import re
import select
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ollama_async import (
    AsyncClient,
    BadRequestError,
    ConnectError,
    ConnectTimeout,
    FirstByteTimeout,
    IncompleteStreamError,
    ReadTimeout,
    RemoteProtocolError,
    Timeout,
    TotalTimeout,
)

# -- the scripted server -----------------------------------------------------


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""
    chunks: list[int] | None = None  # the sizes of a chunked body's chunks


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class ScriptedServer:
    """A loopback TCP server running ``handler(reader, writer)`` per connection."""

    handler: Handler
    accepted: int = 0
    eof: int = 0  # connections on which the server saw the client close
    requests: list[Request] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    url: str = ""
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        return self

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.accepted += 1
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        _current.set(self)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # stopped at teardown
        except Exception as exc:
            self.errors.append(exc)
        finally:
            # A graceful close: abort() would drop what is still buffered.
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (Exception, asyncio.CancelledError):
                _abort(writer)
            self._tasks.discard(task)

    async def stop(self) -> None:
        for writer in self._writers:
            _abort(writer)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except BaseException:
                pass
        for writer in self._writers:
            _abort(writer)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.sleep(0)


_current: contextvars.ContextVar[ScriptedServer] = contextvars.ContextVar("server")


def _abort(writer: asyncio.StreamWriter) -> None:
    """Drop a connection; a no-op when it is already gone.

    CPython's selector transport has a race (see agronholm/anyio#1250): when
    ``close()`` left data buffered and the buffer then drains, the transport
    detaches from its loop without counting the connection as lost, and a
    later ``abort()`` raises AttributeError on the detached loop.
    """
    try:
        writer.transport.abort()
    except AttributeError:
        pass  # the socket is closed already, which is all abort() is for


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a connection (strictly parsed), or ``None`` once
    the client closed it."""
    server = _current.get()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        server.eof += 1
        return None
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ")
    assert version == "HTTP/1.1"
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(": ")
        assert colon and name == name.strip(), line
        headers[name.lower()] = value
    request = Request(method, target, headers)
    if headers.get("transfer-encoding") == "chunked":
        assert "content-length" not in headers
        request.chunks = []
        parts = []
        while True:
            size_line = (await reader.readuntil(b"\r\n"))[:-2]
            assert re.fullmatch(rb"[0-9a-f]+", size_line), size_line
            size = int(size_line, 16)
            if size == 0:
                assert await reader.readexactly(2) == b"\r\n"
                break
            parts.append(await reader.readexactly(size))
            request.chunks.append(size)
            assert await reader.readexactly(2) == b"\r\n"
        request.body = b"".join(parts)
    elif "content-length" in headers:
        request.body = await reader.readexactly(int(headers["content-length"]))
    server.requests.append(request)
    return request


Respond = Callable[[Request], "bytes | Awaitable[bytes | None] | None"]


def keep_alive(respond: Respond) -> Handler:
    """A handler answering each request on a connection with ``respond(request)``
    (``None``: close without answering)."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await read_request(reader)) is not None:
            out = respond(request)
            if inspect.isawaitable(out):
                out = await out
            if out is None:
                return
            writer.write(out)
            await writer.drain()

    return handler


def response(
    body: bytes = b"",
    status: str = "200 OK",
    headers: tuple[str, ...] = (),
    *,
    length: bool = True,
    version: str = "HTTP/1.1",
) -> bytes:
    lines = [f"{version} {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunk(data: bytes, ext: bytes = b"", *, upper: bool = False) -> bytes:
    size = b"%X" % len(data) if upper else b"%x" % len(data)
    return size + ext + b"\r\n" + data + b"\r\n"


CHUNKED_HEAD = response(
    headers=("Content-Type: application/x-ndjson", "Transfer-Encoding: chunked"),
    length=False,
)
LAST_CHUNK = b"0\r\n\r\n"


def chunked(pieces: list[bytes], *, trailers: bytes = b"", **kw: Any) -> bytes:
    body = b"".join(chunk(p, **kw) for p in pieces)
    return CHUNKED_HEAD + body + b"0\r\n" + trailers + b"\r\n"


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


ServeFn = Callable[..., Awaitable[ScriptedServer]]


@pytest.fixture
async def scripted_server() -> AsyncIterator[ServeFn]:
    """``await scripted_server(handler)`` starts a server; all stop at teardown,
    and an assertion failing inside a handler fails the test."""
    servers: list[ScriptedServer] = []

    async def serve(
        handler: Handler, tls: ssl.SSLContext | None = None
    ) -> ScriptedServer:
        server = await ScriptedServer(handler).start(tls)
        servers.append(server)
        return server

    yield serve
    for server in servers:
        await server.stop()
    for server in servers:
        assert not server.errors, server.errors


# Retries are another module's business (and would multiply requests and time
# here); turn them off where the client supports them.
NO_RETRY: dict[str, Any] = (
    {"retry": None} if "retry" in inspect.signature(AsyncClient).parameters else {}
)


def client_for(url: str, **kw: Any) -> AsyncClient:
    return AsyncClient(url, **NO_RETRY, **kw)


# -- a recorded stream ---------------------------------------------------------

_T = '"model":"m","created_at":"2025-01-01T00:00:00Z"'
LINES = [
    b'{%s,"response":"Hel","done":false}\n' % _T.encode(),
    # U+0085 (NEL) raw inside a JSON string: not a line break
    b'{%s,"response":"lo \xc2\x85 w","done":false}\n' % _T.encode(),
    b'{%s,"response":"orld","done":false}\n' % _T.encode(),
    b'{%s,"response":"","done":true,"done_reason":"stop","eval_count":3}\n'
    % _T.encode(),
]
EXPECTED = [("Hel", False), ("lo \x85 w", False), ("orld", False), ("", True)]
VERSION = response(b'{"version":"0.33.0"}', headers=("Content-Type: application/json",))


async def generate_parts(client: AsyncClient) -> list[tuple[str, bool]]:
    async with client.generate("m", "hi", stream=True) as stream:
        return [(part.response, part.done) async for part in stream]


def answer(data: bytes) -> Handler:
    return keep_alive(lambda request: data)


# -- framing ---------------------------------------------------------------------


async def test_content_length_body(scripted_server: ServeFn) -> None:
    server = await scripted_server(answer(VERSION))
    async with client_for(server.url) as client:
        assert (await client.version()).version == "0.33.0"
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 1
    request = server.requests[0]
    assert (request.method, request.target) == ("GET", "/api/version")
    assert request.headers["host"] == f"127.0.0.1:{server.port}"


async def test_chunked_stream_split_at_every_byte(scripted_server: ServeFn) -> None:
    """The recorded stream, written in two pieces split at every byte, and
    then one byte per write, gives the same chunks each time on one connection."""
    payload = chunked(LINES)
    splits = iter(range(1, len(payload)))
    one_by_one = False

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            if one_by_one:
                pieces = [payload[i : i + 1] for i in range(len(payload))]
            else:
                at = next(splits)
                pieces = [payload[:at], payload[at:]]
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.0005)

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        for at in range(1, len(payload)):
            assert await generate_parts(client) == EXPECTED, f"split at {at}"
        one_by_one = True
        assert await generate_parts(client) == EXPECTED
        assert (await client.generate("m", "hi", stream=True).collect()).response == (
            "Hello \x85 world"
        )
    assert server.accepted == 1  # every response ended cleanly: one connection


@pytest.mark.parametrize(
    ("payload"),
    [
        pytest.param(chunked(LINES, ext=b";ext=1"), id="extension"),
        pytest.param(chunked(LINES, ext=b' ; a=1 ; b="x"'), id="extensions"),
        pytest.param(chunked([b"".join(LINES) * 20], upper=True), id="uppercase-hex"),
        pytest.param(
            chunked(LINES, trailers=b"X-Trailer: 1\r\nX-Other: 2\r\n"), id="trailers"
        ),
        pytest.param(
            response(b"".join(LINES), headers=("Content-Type: application/x-ndjson",)),
            id="content-length",
        ),
        pytest.param(
            CHUNKED_HEAD
            + b"".join(
                chunk(piece) for piece in re.findall(rb".{1,7}", b"".join(LINES), re.S)
            )
            + LAST_CHUNK,
            id="lines-across-chunks",
        ),
    ],
)
async def test_chunked_variants(scripted_server: ServeFn, payload: bytes) -> None:
    server = await scripted_server(answer(payload))
    async with client_for(server.url) as client:
        assert await generate_parts(client) == EXPECTED
        assert await generate_parts(client) == EXPECTED
    assert server.accepted == 1


async def test_until_close_body_is_not_reused(scripted_server: ServeFn) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(
            response(headers=("Content-Type: application/x-ndjson",), length=False)
        )
        for line in LINES:
            writer.write(line)
            await writer.drain()
            await asyncio.sleep(0.005)
        writer.close()

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        assert await generate_parts(client) == EXPECTED
        assert await generate_parts(client) == EXPECTED
    assert server.accepted == 2


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            response(b'{"version":"1"}', headers=("Connection: close",)), id="close"
        ),
        pytest.param(
            response(b'{"version":"1"}', headers=("connection: Close",)), id="Close"
        ),
        pytest.param(response(b'{"version":"1"}', version="HTTP/1.0"), id="http1.0"),
        pytest.param(
            response(
                b'{"version":"1"}',
                headers=("Connection: keep-alive",),
                version="HTTP/1.0",
            ),
            id="http1.0-keep-alive",
        ),
    ],
)
async def test_connection_not_kept(scripted_server: ServeFn, data: bytes) -> None:
    """The server may keep its side open: the client still closes and does
    not reuse the connection."""
    server = await scripted_server(answer(data))
    async with client_for(server.url) as client:
        assert (await client.version()).version == "1"
        assert (await client.version()).version == "1"
        await until(lambda: server.eof == 2)
    assert server.accepted == 2


async def test_http10_until_close(scripted_server: ServeFn) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.0 200 OK\r\n\r\n{"version":"1.0"}')
        await writer.drain()
        writer.close()

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        assert (await client.version()).version == "1.0"


async def test_head_and_bodiless_statuses(scripted_server: ServeFn) -> None:
    """HEAD, 204 and 304 carry no body whatever their headers say, and the
    connection stays in sync for the next response."""

    def respond(request: Request) -> bytes:
        if request.method == "HEAD":
            found = request.target.endswith("1" * 64)
            status = "200 OK" if found else "404 Not Found"
            return f"HTTP/1.1 {status}\r\nContent-Length: 1234\r\n\r\n".encode()
        if request.target == "/api/copy":
            return b"HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"
        if request.target == "/api/delete":
            return b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        assert await client.blob_exists("sha256:" + "1" * 64) is True
        assert await client.blob_exists("sha256:" + "2" * 64) is False
        assert (await client.version()).version == "0.33.0"
        await client.copy("a", "b")
        await client.delete("a")
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 1
    assert [r.method for r in server.requests] == [
        "HEAD",
        "HEAD",
        "GET",
        "POST",
        "DELETE",
        "GET",
    ]
    assert server.requests[4].body == b'{"model":"a"}'


@pytest.mark.parametrize(
    "separate", [False, True], ids=["one-write", "separate-writes"]
)
async def test_interim_responses_skipped(
    scripted_server: ServeFn, separate: bool
) -> None:
    interim = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    )

    async def respond(request: Request) -> bytes:
        if not separate:
            return interim + VERSION
        return interim  # the handler below sends the rest

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            writer.write(interim)
            if separate:
                await writer.drain()
                await asyncio.sleep(0.02)
            writer.write(VERSION)
            await writer.drain()

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        assert (await client.version()).version == "0.33.0"
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 1


JSON_BODY = b'{"version":"gz"}'


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", gzip.compress(JSON_BODY)),
        ("x-gzip", gzip.compress(JSON_BODY)),
        ("deflate", zlib.compress(JSON_BODY)),
        ("deflate", _raw_deflate(JSON_BODY)),  # no zlib header, as some servers send
        ("identity", JSON_BODY),
    ],
)
async def test_compressed_body(
    scripted_server: ServeFn, encoding: str, data: bytes
) -> None:
    server = await scripted_server(
        answer(response(data, headers=(f"Content-Encoding: {encoding}",)))
    )
    async with client_for(server.url) as client:
        assert (await client.version()).version == JSON_BODY[12:-2].decode()
        assert (await client.version()).version == JSON_BODY[12:-2].decode()


@pytest.mark.parametrize("framing", ["chunked", "until-close"])
async def test_gzip_stream_read_slowly(scripted_server: ServeFn, framing: str) -> None:
    """A gzip-encoded stream arriving in many reads while the consumer is busy
    (several reads buffered before it takes them) inflates exactly once."""
    compressor = zlib.compressobj(wbits=31)
    lines = LINES[:-1] * 5 + LINES[-1:]
    pieces = [
        compressor.compress(line) + compressor.flush(zlib.Z_SYNC_FLUSH)
        for line in lines
    ]
    pieces.append(compressor.flush())
    te = "Transfer-Encoding: chunked" if framing == "chunked" else "X-Framing: none"

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(response(headers=("Content-Encoding: gzip", te), length=False))
        for piece in pieces:
            writer.write(chunk(piece) if framing == "chunked" else piece)
            await writer.drain()
            await asyncio.sleep(0.003)
        if framing == "chunked":
            writer.write(LAST_CHUNK)
        else:
            writer.close()

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        parts = []
        async with client.generate("m", "hi", stream=True) as stream:
            async for part in stream:
                parts.append((part.response, part.done))
                if len(parts) == 1:
                    await asyncio.sleep(0.1)  # the rest arrives meanwhile
    assert parts == EXPECTED[:-1] * 5 + EXPECTED[-1:]


@pytest.mark.parametrize("wbits", [15, -15], ids=["zlib", "bare"])
async def test_deflate_stream_one_byte_per_chunk(
    scripted_server: ServeFn, wbits: int
) -> None:
    """ "deflate" with or without the zlib header, even when the header's two
    bytes arrive in separate reads."""
    compressor = zlib.compressobj(wbits=wbits)
    data = compressor.compress(b"".join(LINES)) + compressor.flush()

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(
            response(
                headers=("Content-Encoding: deflate", "Transfer-Encoding: chunked"),
                length=False,
            )
        )
        for byte in data:
            writer.write(chunk(bytes([byte])))
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(LAST_CHUNK)

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        assert await generate_parts(client) == EXPECTED


async def test_gzip_stream_cut_short_raises(scripted_server: ServeFn) -> None:
    """Chunked framing that ends cleanly inside the gzip stream, right after a
    whole line: an error, never a short answer that looks complete."""
    compressor = zlib.compressobj(wbits=31)
    data = compressor.compress(b"".join(LINES[:-1])) + compressor.flush(
        zlib.Z_SYNC_FLUSH
    )
    server = await scripted_server(
        answer(
            response(
                headers=("Content-Encoding: gzip", "Transfer-Encoding: chunked"),
                length=False,
            )
            + chunk(data)
            + LAST_CHUNK
        )
    )
    async with client_for(server.url) as client:
        parts = []
        with pytest.raises(RemoteProtocolError, match="cut short"):
            async for part in await client.generate("m", "hi", stream=True):
                parts.append((part.response, part.done))
    assert parts == EXPECTED[: len(parts)]


async def test_empty_compressed_body(scripted_server: ServeFn) -> None:
    """A body with no bytes at all is empty, whatever its Content-Encoding."""
    server = await scripted_server(
        answer(
            response(
                headers=("Content-Encoding: gzip", "Transfer-Encoding: chunked"),
                length=False,
            )
            + LAST_CHUNK
        )
    )
    async with client_for(server.url) as client:
        await client.delete("m")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_gzip_expansion_is_bounded(
    scripted_server: ServeFn, framing: str
) -> None:
    """A 48 MB stream gzipped to ~50 KB arrives in one read or two: it is
    inflated a few MB at a time as the consumer reads, and arrives whole."""
    line_count = 48_000
    body = b'{"status":"%s"}\n' % (b"x" * 985) * line_count + b'{"status":"success"}\n'
    data = gzip.compress(body, compresslevel=9)
    assert len(data) < 100_000
    if framing == "chunked":
        head = response(
            headers=("Content-Encoding: gzip", "Transfer-Encoding: chunked"),
            length=False,
        )
        payload = head + chunk(data) + LAST_CHUNK
    else:
        payload = response(data, headers=("Content-Encoding: gzip",))
    server = await scripted_server(answer(payload))
    tracemalloc.start()
    try:
        async with client_for(server.url) as client:
            count = 0
            async with client.pull("m", stream=True) as stream:
                async for _ in stream:
                    count += 1
            _, peak = tracemalloc.get_traced_memory()
            assert (await client.pull("m", stream=True).collect()).status == "success"
    finally:
        tracemalloc.stop()
    assert count == line_count + 1
    assert peak < 16_000_000, f"peak {peak / 1e6:.1f} MB"
    assert server.accepted == 1


async def test_bytes_after_complete_response(scripted_server: ServeFn) -> None:
    """Garbage right after a response (in the same packet or later, while the
    connection idles in the pool): the response stands, the connection is not
    reused, and the next call gets a clean connection."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        index = server.accepted
        request = await read_request(reader)
        assert request is not None
        if index == 1:
            writer.write(VERSION + b"GARBAGE")
        elif index == 2:
            writer.write(VERSION)
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        else:
            writer.write(VERSION)
        await writer.drain()
        while await read_request(reader) is not None:
            writer.write(VERSION)

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        assert (await client.version()).version == "0.33.0"
        assert (await client.version()).version == "0.33.0"
        await asyncio.sleep(0.15)
        assert (await client.version()).version == "0.33.0"
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 3


# -- broken servers ----------------------------------------------------------------

_OK_HEAD = b"HTTP/1.1 200 OK\r\n"
_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"HTTP/1.1 2OO OK\r\n\r\n", id="status-not-digits"),
        pytest.param(b"HTTP/1.1 20 OK\r\n\r\n", id="status-two-digits"),
        pytest.param(b"HTTP/1.1 2\xb20 OK\r\n\r\n", id="status-superscript-digit"),
        pytest.param(b"HTP/1.1 200 OK\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/2 200 OK\r\n\r\n", id="http2"),
        pytest.param(b"\r\n\r\n", id="empty-status-line"),
        pytest.param(_OK_HEAD + b"No colon here\r\n\r\n", id="header-no-colon"),
        pytest.param(_OK_HEAD + b": empty name\r\n\r\n", id="header-empty-name"),
        pytest.param(
            _OK_HEAD + b"Name : space\r\n\r\n", id="header-space-before-colon"
        ),
        pytest.param(_OK_HEAD + b"A: 1\r\n folded\r\n\r\n", id="obs-fold"),
        pytest.param(_OK_HEAD + b"Content-Length: abc\r\n\r\n", id="length-not-number"),
        pytest.param(_OK_HEAD + b"Content-Length: -1\r\n\r\n", id="length-negative"),
        pytest.param(
            _OK_HEAD + b"Content-Length: \xb2\r\n\r\nxx", id="length-superscript"
        ),
        pytest.param(_OK_HEAD + b"Content-Encoding: br\r\n\r\n", id="encoding-br"),
        pytest.param(
            _OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
            id="corrupt-gzip",
        ),
        pytest.param(
            _OK_HEAD
            + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
            % (len(gzip.compress(b'{"version":"1"}')) - 8)
            + gzip.compress(b'{"version":"1"}')[:-8],
            id="gzip-cut-short",
        ),
        pytest.param(
            _OK_HEAD + b"Content-Encoding: deflate\r\nContent-Length: 1\r\n\r\nx",
            id="deflate-one-byte",
        ),
        pytest.param(_CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", id="chunk-negative"),
        pytest.param(_CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", id="chunk-not-hex"),
        pytest.param(_CHUNKED + b"+5\r\nhello\r\n0\r\n\r\n", id="chunk-plus"),
        pytest.param(_CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", id="chunk-0x"),
        pytest.param(_CHUNKED + b"0_5\r\nhello\r\n0\r\n\r\n", id="chunk-underscore"),
        pytest.param(_CHUNKED + b"\r\nhello\r\n0\r\n\r\n", id="chunk-empty-size"),
        pytest.param(_CHUNKED + b"5\r\nhelloXX0\r\n\r\n", id="chunk-no-crlf"),
        pytest.param(_CHUNKED + b"5\r\nhello\n0\r\n\r\n", id="chunk-lf-only"),
        pytest.param(_CHUNKED + b"1" * 5000, id="chunk-size-line-too-long"),
        pytest.param(
            _OK_HEAD + b"X-Big: " + b"a" * 70_000 + b"\r\nContent-Length: 2\r\n\r\n{}",
            id="headers-over-64k-one-write",
        ),
        pytest.param(
            _OK_HEAD + b"X-Big: " + b"a" * 70_000, id="headers-over-64k-unended"
        ),
    ],
)
async def test_malformed_response(scripted_server: ServeFn, data: bytes) -> None:
    server = await scripted_server(answer(data))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError):
            await client.version()
        # the failed connection was closed, its slot freed
        await until(lambda: server.eof == 1)


async def test_no_stray_loop_errors_from_malformed_data(
    scripted_server: ServeFn,
) -> None:
    """A parse error is ours to raise, not an exception escaping
    ``data_received`` into the loop's exception handler."""
    contexts: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))
    try:
        for data in (
            _OK_HEAD + b"Content-Length: \xb2\r\n\r\nxx",
            _OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
        ):
            server = await scripted_server(answer(data))
            async with client_for(server.url) as client:
                with pytest.raises(RemoteProtocolError):
                    await client.version()
        await asyncio.sleep(0.01)
    finally:
        loop.set_exception_handler(None)
    assert contexts == []


def _close_after(data: bytes, *, reset: bool = False) -> Handler:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(data)
        await writer.drain()
        await asyncio.sleep(0.02)
        if reset:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            writer.transport.abort()
        else:
            writer.close()

    return handler


GEN_JSON = b'{%s,"response":"hi","done":true}' % _T.encode()


@pytest.mark.parametrize(
    ("data", "reset"),
    [
        pytest.param(b"", False, id="before-any-byte"),
        pytest.param(b"", True, id="reset-before-any-byte"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", False, id="mid-headers"),
        pytest.param(b"HTTP/1.1 200", False, id="mid-status-line"),
        pytest.param(response(GEN_JSON)[:-3], False, id="content-length-short"),
        pytest.param(response(GEN_JSON)[:-3], True, id="content-length-short-reset"),
        pytest.param(_CHUNKED + chunk(GEN_JSON), False, id="chunked-no-last-chunk"),
        pytest.param(_CHUNKED + chunk(GEN_JSON)[:-1], False, id="chunked-mid-crlf"),
        pytest.param(_CHUNKED + chunk(GEN_JSON) + b"0\r\n", False, id="chunked-no-end"),
        pytest.param(response(GEN_JSON, length=False), True, id="until-close-reset"),
    ],
)
async def test_connection_closed_early(
    scripted_server: ServeFn, data: bytes, reset: bool
) -> None:
    """Never a silently truncated answer: a body that did not end as framed is
    a RemoteProtocolError, even when the bytes so far are valid JSON."""
    server = await scripted_server(_close_after(data, reset=reset))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError):
            await client.generate("m", "hi")
    assert server.accepted == 1  # a fresh connection is not retried


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        pytest.param(
            CHUNKED_HEAD + b"".join(chunk(x) for x in LINES[:2]), 2, id="chunked"
        ),
        pytest.param(
            response(
                b"".join(LINES[:3]) + b"{",
                headers=("Content-Length: 999",),
                length=False,
            ),
            3,
            id="content-length",
        ),
    ],
)
async def test_stream_closed_mid_body(
    scripted_server: ServeFn, data: bytes, complete: int
) -> None:
    server = await scripted_server(_close_after(data))
    async with client_for(server.url) as client:
        parts = []
        with pytest.raises(RemoteProtocolError):
            async with client.generate("m", "hi", stream=True) as stream:
                async for part in stream:
                    parts.append((part.response, part.done))
        assert parts == EXPECTED[:complete]


async def test_until_close_stream_cut_is_incomplete(scripted_server: ServeFn) -> None:
    """Until-close framing cannot tell a cut from the end: the stream's own
    final-line check catches it."""
    server = await scripted_server(
        _close_after(response(b"".join(LINES[:2]), length=False))
    )
    async with client_for(server.url) as client:
        with pytest.raises(IncompleteStreamError):
            await generate_parts(client)


async def test_connect_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with client_for(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(ConnectError, match="ollama serve"):
            await client.version()


# -- timeouts ---------------------------------------------------------------------


async def _never_answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await read_request(reader)
    if not await reader.read():
        _current.get().eof += 1


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
    delays = iter([0.0, 0.6, 3600.0])

    async def respond(request: Request) -> bytes:
        await asyncio.sleep(next(delays))
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        assert (await client.version(timeout=Timeout(first_byte=0.2))).version
        # Answered after 0.6 s, past the first call's 0.2 s: within its own 5 s.
        assert (await client.version(timeout=Timeout(first_byte=5))).version
        started = time.monotonic()
        with pytest.raises(FirstByteTimeout):
            await client.version(timeout=Timeout(first_byte=0.3))
        assert 0.25 < time.monotonic() - started < 3
    assert server.accepted == 1  # all three on one connection


async def test_trickling_headers_hit_first_byte(scripted_server: ServeFn) -> None:
    """``first_byte`` bounds the whole head, not the silence between its bytes."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
        for _ in range(100):
            writer.write(b"X")
            await writer.drain()
            await asyncio.sleep(0.02)

    server = await scripted_server(handler)
    async with client_for(server.url, timeout=Timeout(first_byte=0.3)) as client:
        started = time.monotonic()
        with pytest.raises(FirstByteTimeout):
            await client.version()
        assert time.monotonic() - started < 1.5


def _stall_after(data: bytes, then: bytes = b"", delay: float = 3600) -> Handler:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            writer.write(data)
            await writer.drain()
            await asyncio.sleep(delay)
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


async def test_short_read_after_long_first_byte(scripted_server: ServeFn) -> None:
    """The lazy timer armed for ``first_byte`` moves earlier for ``read``."""
    server = await scripted_server(_stall_after(CHUNKED_HEAD + chunk(LINES[0])))
    timeout = Timeout(first_byte=30, read=0.1)
    async with client_for(server.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            await generate_parts(client)
        assert time.monotonic() - started < 2


async def test_slow_stream_without_read_timeout(scripted_server: ServeFn) -> None:
    """With ``read=None`` a pause longer than ``first_byte`` is fine: the
    first-byte timer must not fire once the headers are in."""
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


async def test_total_timeout(scripted_server: ServeFn) -> None:
    async def trickle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await read_request(reader) is not None:
            writer.write(CHUNKED_HEAD)
            while True:
                writer.write(chunk(LINES[0]))
                await writer.drain()
                await asyncio.sleep(0.02)

    server = await scripted_server(trickle)
    timeout = Timeout(read=1, total=0.3)
    async with client_for(server.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(TotalTimeout):
            await generate_parts(client)
        with pytest.raises(TotalTimeout):
            await client.generate("m", "hi")
        assert time.monotonic() - started < 3
    slow = await scripted_server(_never_answer)
    async with client_for(slow.url, timeout=timeout) as client:
        with pytest.raises(TotalTimeout):
            await client.version()


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
    connection survives idle time longer than every timeout."""
    contexts: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))
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
    try:
        async with client_for(server.url, timeout=timeout) as client:
            for _ in range(3):
                assert await generate_parts(client) == EXPECTED
                await client.generate("m", "hi")
                await asyncio.sleep(0.2)
    finally:
        loop.set_exception_handler(None)
    assert server.accepted == 1
    assert server.eof == 0 or server.eof == 1  # 1 only from aclose at the end
    assert contexts == []


# -- back-pressure ------------------------------------------------------------------


async def test_slow_consumer_bounds_buffering(scripted_server: ServeFn) -> None:
    """A 24 MB stream that the server writes as fast as it can, read by a
    consumer that stalls: reading pauses, so the client holds a few MB at
    most, and every byte arrives in order."""
    line_count = 24_000
    pad = "x" * 960

    def line(i: int) -> bytes:
        return b'{"status":"pulling %08d","completed":%d,"digest":"%s"}\n' % (
            i,
            i,
            pad.encode(),
        )

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(CHUNKED_HEAD)
        batch = 64
        for start in range(0, line_count, batch):
            writer.write(chunk(b"".join(line(i) for i in range(start, start + batch))))
            await writer.drain()
        writer.write(chunk(b'{"status":"success"}\n') + LAST_CHUNK)
        await writer.drain()

    server = await scripted_server(handler)
    tracemalloc.start()
    try:
        async with client_for(server.url) as client:
            seen = 0
            async with client.pull("m", stream=True) as stream:
                async for part in stream:
                    if part.status == "success":
                        break
                    assert part.completed == seen
                    seen += 1
                    if seen in (1, 8000, 16000):
                        await asyncio.sleep(0.5)  # the server could send it all now
                        tracemalloc.reset_peak()
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == line_count
    assert peak < 14_000_000, f"peak {peak / 1e6:.1f} MB while stalled"


# -- uploads ------------------------------------------------------------------------


@pytest.fixture
def blob_file(tmp_path: Path) -> tuple[Path, str]:
    data = bytes(range(256)) * (5 * 1024 * 1024 // 256) + b"tail"
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    return path, "sha256:" + hashlib.sha256(data).hexdigest()


async def test_create_blob_chunked_upload(
    scripted_server: ServeFn, blob_file: tuple[Path, str]
) -> None:
    path, digest = blob_file

    def respond(request: Request) -> bytes:
        if request.method == "HEAD":
            return response(status="404 Not Found")
        return response(status="201 Created")

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        assert await client.create_blob(path) == digest
    head, post = server.requests
    assert (head.method, head.target) == ("HEAD", f"/api/blobs/{digest}")
    assert (post.method, post.target) == ("POST", f"/api/blobs/{digest}")
    assert post.headers["content-type"] == "application/octet-stream"
    assert post.body == path.read_bytes()  # framing checked strictly by read_request
    assert post.chunks is not None and len(post.chunks) > 1
    assert max(post.chunks) <= 1024 * 1024
    assert server.accepted == 1


@pytest.mark.parametrize("then", ["keep-open", "drain", "close"])
async def test_upload_answered_early(
    scripted_server: ServeFn, blob_file: tuple[Path, str], then: str
) -> None:
    """The server rejects the upload after its headers: the client stops
    sending and raises the server's error, without hanging."""
    path, _ = blob_file
    error = response(b'{"error":"digest mismatch"}', status="400 Bad Request")

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)  # HEAD
        writer.write(response(status="404 Not Found"))
        await reader.readuntil(b"\r\n\r\n")  # the POST's headers only
        writer.write(error)
        await writer.drain()
        if then == "keep-open":
            await asyncio.sleep(3600)  # read nothing more: the client's writes block
        elif then == "drain":
            while await reader.read(65536):
                pass
        else:
            writer.close()

    server = await scripted_server(handler)
    async with client_for(server.url, timeout=Timeout(first_byte=5, read=5)) as client:
        started = time.monotonic()
        if then == "close":
            # the reset may overtake the answer on the client side
            with pytest.raises((BadRequestError, RemoteProtocolError)):
                await client.create_blob(path)
        else:
            with pytest.raises(BadRequestError, match="digest mismatch"):
                await client.create_blob(path)
        assert time.monotonic() - started < 4


# -- redirects --------------------------------------------------------------------


async def test_same_origin_redirects(scripted_server: ServeFn) -> None:
    def respond(request: Request) -> bytes:
        moves = {
            "/api/chat": ("307 Temporary Redirect", "/v2/api/chat"),
            "/v2/api/chat": ("308 Permanent Redirect", "{url}/v3/api/chat"),
            "/api/show": ("302 Found", "/api/show-get"),
            "/api/embed": ("301 Moved Permanently", "other/embed"),
            "/api/other/embed": ("303 See Other", "/api/tags?x=1"),
        }
        if request.target in moves:
            status, location = moves[request.target]
            return response(
                b"moved",
                status=status,
                headers=(f"Location: {location.format(url=server.url)}",),
            )
        if request.target == "/v3/api/chat":
            return response(
                b'{%s,"message":{"role":"assistant","content":"ok"},"done":true}'
                % _T.encode()
            )
        if request.target == "/api/show-get":
            return response(b'{"modelfile":"m"}')
        return response(b'{"model":"m","embeddings":[[1.5]]}')

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        reply = await client.chat("m", messages=[{"role": "user", "content": "hi"}])
        assert reply.message.content == "ok"
        assert (await client.show("m")).modelfile == "m"
        assert (await client.embed("m", "x")).embeddings == [[1.5]]
    seen = [(r.method, r.target, r.body[:9]) for r in server.requests]
    assert seen == [
        ("POST", "/api/chat", b'{"model":'),
        ("POST", "/v2/api/chat", b'{"model":'),  # 307: method and body kept
        ("POST", "/v3/api/chat", b'{"model":'),  # 308 to an absolute same-origin URL
        ("POST", "/api/show", b'{"model":'),
        ("GET", "/api/show-get", b""),  # 302 on POST becomes GET without body
        ("POST", "/api/embed", b'{"model":'),
        ("GET", "/api/other/embed", b""),  # relative Location, 301 on POST
        ("GET", "/api/tags?x=1", b""),  # 303
    ]
    assert "content-length" not in server.requests[4].headers
    assert server.accepted == 1  # redirect bodies were read and the connection kept


async def test_redirect_loop_is_bounded(scripted_server: ServeFn) -> None:
    def respond(request: Request) -> bytes:
        hop = (
            int(request.target.rpartition("/")[2] or 0)
            if request.target[-1].isdigit()
            else 0
        )
        return response(
            status="307 Temporary Redirect", headers=(f"Location: /hop/{hop + 1}",)
        )

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match="redirects"):
            await client.version()
    assert len(server.requests) == 6  # the request and 5 redirects followed


@pytest.mark.parametrize(
    "location",
    [
        "{other}/api/version",  # another port
        "https://127.0.0.1:{port}/api/version",  # another scheme
        "http://localhost:{port}/api/version",  # another host name
        "//127.0.0.1:{other_port}/api/version",  # scheme-relative
    ],
)
async def test_cross_origin_redirect_refused(
    scripted_server: ServeFn, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-secret")
    other = await scripted_server(answer(VERSION))
    server = await scripted_server(
        keep_alive(
            lambda request: response(
                status="302 Found",
                headers=(
                    "Location: "
                    + location.format(
                        other=other.url, port=server.port, other_port=other.port
                    ),
                ),
            )
        )
    )
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match="another origin") as info:
            await client.version()
        assert "sk-secret" not in str(info.value)
    assert server.requests[0].headers["authorization"] == "Bearer sk-secret"
    assert other.accepted == 0  # nothing, let alone the key, went to the other origin


@pytest.mark.parametrize("location", ["", "/api/a b", "/api/tags?a b", "/\x01"])
async def test_unusable_location_refused(
    scripted_server: ServeFn, location: str
) -> None:
    server = await scripted_server(
        answer(
            response(status="301 Moved Permanently", headers=(f"Location: {location}",))
        )
    )
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError):
            await client.version()
    assert len(server.requests) == 1


async def test_redirect_under_path_prefix(scripted_server: ServeFn) -> None:
    def respond(request: Request) -> bytes:
        if request.target == "/ollama/api/version":
            return response(
                status="308 Permanent Redirect", headers=("Location: /ollama/api/v2",)
            )
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url + "/ollama") as client:
        assert (await client.version()).version == "0.33.0"
    assert [r.target for r in server.requests] == [
        "/ollama/api/version",
        "/ollama/api/v2",
    ]


async def test_redirect_out_of_path_prefix_refused(scripted_server: ServeFn) -> None:
    server = await scripted_server(
        answer(
            response(
                status="308 Permanent Redirect", headers=("Location: /api/version",)
            )
        )
    )
    async with client_for(server.url + "/ollama") as client:
        with pytest.raises(RemoteProtocolError, match="not followed"):
            await client.version()
    assert [r.target for r in server.requests] == ["/ollama/api/version"]


async def test_upload_not_replayed_on_redirect(
    scripted_server: ServeFn, blob_file: tuple[Path, str]
) -> None:
    """A 307 asks for the same body again: a streamed upload cannot be."""
    path, _ = blob_file

    def respond(request: Request) -> bytes:
        if request.method == "HEAD":
            return response(status="404 Not Found")
        return response(status="307 Temporary Redirect", headers=("Location: /api/b2",))

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match="upload"):
            await client.create_blob(path)
    assert [r.method for r in server.requests] == ["HEAD", "POST"]
    assert server.requests[1].body == path.read_bytes()


async def test_redirects_not_followed_when_disabled(scripted_server: ServeFn) -> None:
    server = await scripted_server(
        answer(response(status="307 Temporary Redirect", headers=("Location: /x",)))
    )
    async with client_for(server.url, follow_redirects=False) as client:
        with pytest.raises(Exception):  # noqa: B017 - only: not followed
            await client.version()
    assert len(server.requests) == 1


# -- event loops ---------------------------------------------------------------------


class _ThreadedServer:
    """A blocking keep-alive server in threads, outliving the test's loops."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        self.closed += 1
                        return
                    buffer += data
                _, _, buffer = buffer.partition(b"\r\n\r\n")
                conn.sendall(VERSION)
        except OSError:
            self.closed += 1

    def stop(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.listener.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        for thread in [self._accept_thread, *self._threads]:
            thread.join(5)


def test_client_across_event_loops() -> None:
    """One client, three ``asyncio.run()`` calls: each loop gets a working
    pool, and the connections left on a finished loop are closed (the test
    fails on a leaked socket)."""
    server = _ThreadedServer()
    try:
        client = client_for(f"http://127.0.0.1:{server.port}")

        async def call() -> str:
            return (await client.version()).version

        async def call_and_close() -> str:
            try:
                return (await client.version()).version
            finally:
                await client.aclose()

        assert asyncio.run(call()) == "0.33.0"
        assert asyncio.run(call()) == "0.33.0"
        assert asyncio.run(call_and_close()) == "0.33.0"
        deadline = time.monotonic() + 5
        while server.closed < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (server.accepted, server.closed) == (3, 3)
    finally:
        server.stop()


def test_client_closed_after_its_loop() -> None:
    """``aclose()`` on a later loop closes connections of a finished one."""
    server = _ThreadedServer()
    try:
        client = client_for(f"http://127.0.0.1:{server.port}")

        async def call() -> str:
            return (await client.version()).version

        assert asyncio.run(call()) == "0.33.0"
        asyncio.run(client.aclose())
        deadline = time.monotonic() + 5
        while server.closed < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (server.accepted, server.closed) == (1, 1)
    finally:
        server.stop()


# -- TLS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts from a CA made for this module."""
    trustme = pytest.importorskip(
        "trustme", reason="trustme makes the test certificates"
    )
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


async def test_https_with_trusted_ca(
    scripted_server: ServeFn, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_context, client_context = tls_contexts
    server = await scripted_server(
        keep_alive(
            lambda r: chunked(LINES) if r.target == "/api/generate" else VERSION
        ),
        tls=server_context,
    )
    assert server.url.startswith("https://")
    async with client_for(server.url, ssl=client_context) as client:
        assert (await client.version()).version == "0.33.0"
        assert await generate_parts(client) == EXPECTED
    assert server.accepted == 1


async def test_https_verifies_by_default(
    scripted_server: ServeFn, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_context, _ = tls_contexts
    server = await scripted_server(answer(VERSION), tls=server_context)
    async with client_for(server.url) as client:
        with pytest.raises(ConnectError, match=r"(?i)certificate"):
            await client.version()


async def test_ssl_context_ignored_for_http(
    scripted_server: ServeFn, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """``ssl=`` configures https:// hosts; a plain http:// host stays plain."""
    server = await scripted_server(answer(VERSION))
    async with client_for(server.url, ssl=tls_contexts[1]) as client:
        assert (await client.version()).version == "0.33.0"
