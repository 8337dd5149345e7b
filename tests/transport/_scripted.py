"""The raw-bytes loopback server the transport tests drive the public
``AsyncClient`` against, and the bytes it answers with.

``ScriptedServer`` runs ``handler(reader, writer)`` per accepted connection,
so a test writes exactly the bytes it means (a broken chunk, a head that
trickles in, a reset mid-body) and counts what the client did: connections
accepted, requests read (strictly parsed) and connections the client closed.
aiohttp's own test server would refuse to write most of these.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ollama_async import AsyncClient, OllamaError

__all__ = [
    "CHUNKED_HEAD",
    "EXPECTED",
    "GEN_JSON",
    "LAST_CHUNK",
    "LINES",
    "VERSION",
    "Handler",
    "Request",
    "ScriptedServer",
    "ServeFn",
    "answer",
    "chunk",
    "chunked",
    "client_for",
    "current_server",
    "generate_parts",
    "keep_alive",
    "read_request",
    "response",
    "until",
    "until_closed",
]


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


ServeFn = Callable[..., Awaitable[ScriptedServer]]

_current: contextvars.ContextVar[ScriptedServer] = contextvars.ContextVar("server")


def current_server() -> ScriptedServer:
    """The server whose handler is running (inside a handler only)."""
    return _current.get()


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
    the client closed it (counted in ``ScriptedServer.eof``)."""
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


async def until_closed(reader: asyncio.StreamReader) -> None:
    """Read and drop whatever comes until the client closes; count the close."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    _current.get().eof += 1


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


def answer(data: bytes) -> Handler:
    """Every request on every connection gets ``data``."""
    return keep_alive(lambda request: data)


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


def client_for(url: str, **kw: Any) -> AsyncClient:
    """A client without retries (they would multiply requests and time),
    unless the test passes ``retry=``."""
    kw.setdefault("retry", None)
    return AsyncClient(url, **kw)


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
GEN_JSON = b'{%s,"response":"hi","done":true}' % _T.encode()


async def generate_parts(client: AsyncClient) -> list[tuple[str, bool]]:
    async with client.generate("m", "hi", stream=True) as stream:
        return [(part.response, part.done) async for part in stream]


def stream_held_open() -> Handler:
    """Answers /api/generate with its first line and then nothing until the
    client leaves; everything else with VERSION."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (request := await read_request(reader)) is not None:
            if request.target == "/api/generate":
                writer.write(CHUNKED_HEAD + chunk(LINES[0]))
                await writer.drain()
                await until_closed(reader)
                return
            writer.write(VERSION)
            await writer.drain()

    return handler


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything chained to it (cause and context, suppressed
    context included), as a traceback would show."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def assert_ours(exc: BaseException) -> None:
    """One of our errors, with no aiohttp exception anywhere in its chain
    (they hold the request's headers)."""
    assert isinstance(exc, OllamaError), repr(exc)
    for item in exception_chain(exc):
        assert not type(item).__module__.startswith("aiohttp"), repr(item)
