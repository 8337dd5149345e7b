"""Hostile or broken servers against the aiohttp transport, over the raw-bytes
loopback server: every case ends in one of our typed errors (never an aiohttp,
asyncio or builtin exception, never one reaching the loop's exception handler:
the ``loop_errors`` fixture records and checks that for every test here),
quickly, with bounded memory, and never as a silently truncated answer.
Also: a status outside 100-599, error bodies (read up to ``MAX_ERROR_BODY``),
compression bombs, and ``Retry-After`` in every form RFC 9110 allows."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from email.utils import format_datetime
from typing import Any

import pytest

from ollama_async import (
    AsyncClient,
    DecodeError,
    FirstByteTimeout,
    LineTooLongError,
    OllamaError,
    RateLimitError,
    RemoteProtocolError,
    Retry,
    ServerBusyError,
    ServerError,
    StatusError,
    Timeout,
)
from ollama_async._transport import MAX_ERROR_BODY, parse_retry_after

from ._scripted import (
    VERSION,
    Request,
    ServeFn,
    answer,
    assert_ours,
    client_for,
    keep_alive,
    read_request,
    response,
    until,
    until_closed,
)

HI = [{"role": "user", "content": "hi"}]


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


# -- resets, endless lines, bombs -----------------------------------------------------


async def test_a_reset_at_every_point_never_truncates(scripted_server: ServeFn) -> None:
    cut = [0]

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(FULL[: cut[0]])
        await writer.drain()
        writer.transport.abort()  # RST, mid-whatever

    server = await scripted_server(handler)
    outcomes: dict[str, int] = {}
    async with client_for(server.url) as client:
        for cut[0] in range(len(FULL) + 1):
            try:
                answer = await client.chat("m", HI, stream=True).collect()
            except OllamaError as exc:
                assert_ours(exc)
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
                continue
            assert answer.done  # success only with the final line in hand
            assert answer.message.content == CONTENT
            outcomes["ok"] = outcomes.get("ok", 0) + 1
    assert outcomes.get("ok", 0) >= 1
    assert outcomes.get("RemoteProtocolError", 0) > len(FULL) // 2
    assert set(outcomes) <= {"ok", "RemoteProtocolError", "IncompleteStreamError"}


async def test_a_line_that_never_ends(scripted_server: ServeFn) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(NDJSON_HEAD)
        piece = _chunk(b"x" * 65536)
        for _ in range(200):  # 13 MB without a newline
            writer.write(piece)
            await writer.drain()

    server = await scripted_server(handler)
    tracemalloc.start()
    try:
        async with client_for(server.url, max_line_size=1_000_000) as client:
            with pytest.raises(LineTooLongError):
                await client.chat("m", HI, stream=True).collect()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12_000_000


def _bomb(encoding: str, size: int = 200_000_000) -> bytes:
    data = b"0" * size
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=9)  # ~200 KB
    return zlib.compress(data, 9)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compression_bomb_is_bounded(
    scripted_server: ServeFn, encoding: str
) -> None:
    """200 MB of zeros in ~200 KB: aiohttp (>= 3.13.3) inflates a piece at a
    time as the body is read, and ``max_body_size`` stops reading."""
    bomb = _bomb(encoding)
    server = await scripted_server(
        answer(response(bomb, headers=(f"Content-Encoding: {encoding}",)))
    )
    tracemalloc.start()
    try:
        async with client_for(server.url, max_body_size=4_000_000) as client:
            started = time.monotonic()
            with pytest.raises(DecodeError, match="max_body_size"):
                await client.version()
            assert time.monotonic() - started < 3
            await until(lambda: server.eof == 1)  # the rest is not read
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40_000_000, f"peak {peak / 1e6:.1f} MB"


async def test_a_streamed_compression_bomb_is_bounded(scripted_server: ServeFn) -> None:
    """The same bomb as a stream: no newline in it, so ``max_line_size``."""
    bomb = _bomb("gzip")
    server = await scripted_server(
        answer(
            response(
                headers=("Content-Encoding: gzip", "Transfer-Encoding: chunked"),
                length=False,
            )
            + _chunk(bomb)
            + b"0\r\n\r\n"
        )
    )
    tracemalloc.start()
    try:
        async with client_for(server.url, max_line_size=1_000_000) as client:
            with pytest.raises(LineTooLongError):
                await client.chat("m", HI, stream=True).collect()
            await until(lambda: server.eof == 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40_000_000, f"peak {peak / 1e6:.1f} MB"


async def test_an_error_body_bomb_is_read_up_to_the_cap(
    scripted_server: ServeFn,
) -> None:
    bomb = _bomb("gzip")
    server = await scripted_server(
        answer(
            response(
                bomb,
                status="500 Internal Server Error",
                headers=("Content-Encoding: gzip",),
            )
        )
    )
    tracemalloc.start()
    try:
        async with client_for(server.url) as client:
            with pytest.raises(ServerError) as info:
                await client.version()
            await until(lambda: server.eof == 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.body == b"0" * MAX_ERROR_BODY
    assert peak < 40_000_000, f"peak {peak / 1e6:.1f} MB"


async def test_a_server_that_never_answers(scripted_server: ServeFn) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await until_closed(reader)

    server = await scripted_server(handler)
    async with AsyncClient(
        server.url, timeout=Timeout(first_byte=0.3), retry=Retry.never()
    ) as client:
        with pytest.raises(FirstByteTimeout):
            await client.chat("m", HI, stream=True).collect()
        await until(lambda: server.eof == 1)


# -- statuses and error bodies ---------------------------------------------------------


@pytest.mark.parametrize("status", ["000", "099", "600", "999"])
async def test_a_status_outside_100_599_is_refused_at_once(
    scripted_server: ServeFn, status: str
) -> None:
    """Refused as soon as the head is in, whatever follows (here: a body that
    never ends), and the connection is closed."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 %s Odd\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
            % status.encode()
        )
        await writer.drain()
        await until_closed(reader)

    server = await scripted_server(handler)
    async with client_for(server.url, timeout=Timeout(first_byte=5, read=5)) as client:
        for call in (client.version, lambda: client.chat("m", HI, stream=True)):
            started = time.monotonic()
            with pytest.raises(RemoteProtocolError, match="outside 100-599") as info:
                await call()
            assert time.monotonic() - started < 1
            assert_ours(info.value)
        await until(lambda: server.eof == 2)


@pytest.mark.parametrize("framing", ["content-length", "chunked-endless"])
async def test_an_error_body_is_read_up_to_the_cap(
    scripted_server: ServeFn, framing: str
) -> None:
    """A 4xx/5xx body is read for its message, 64 KiB at most; the rest is
    not waited for, and the connection is closed."""
    filler = b"e" * 1024

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        if framing == "content-length":
            writer.write(
                b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % (10 * 2**20)
            )
        else:
            writer.write(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(10 * 1024):
                writer.write(_chunk(filler) if framing != "content-length" else filler)
                await writer.drain()
        except ConnectionError:
            pass
        await until_closed(reader)

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        started = time.monotonic()
        with pytest.raises(ServerError) as info:
            await client.version()
        assert time.monotonic() - started < 2
        await until(lambda: server.eof == 1)
    assert info.value.status_code == 500
    assert info.value.body == filler * 64
    assert len(info.value.body) == MAX_ERROR_BODY


async def test_a_short_error_body_keeps_the_connection(
    scripted_server: ServeFn,
) -> None:
    def respond(request: Request) -> bytes:
        if request.target == "/api/show":
            return response(
                b'{"error":"model \'x\' not found"}', status="404 Not Found"
            )
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        for _ in range(3):
            with pytest.raises(StatusError, match="not found"):
                await client.show("x")
            assert (await client.version()).version == "0.33.0"
    assert server.accepted == 1


async def test_an_error_body_that_is_not_utf8(scripted_server: ServeFn) -> None:
    body = b'{"error":"bad \xff byte"}'
    server = await scripted_server(
        answer(response(body, status="500 Internal Server Error"))
    )
    async with client_for(server.url) as client:
        with pytest.raises(ServerError) as info:
            await client.version()
    assert info.value.status_code == 500
    assert "bad" in info.value.error


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
async def test_wrong_shapes_raise_decode_errors(
    scripted_server: ServeFn, line: bytes
) -> None:
    server = await scripted_server(
        answer(NDJSON_HEAD + _chunk(line + b"\n") + b"0\r\n\r\n")
    )
    async with client_for(server.url) as client:
        with pytest.raises(DecodeError):
            await client.chat("m", HI, stream=True).collect()


# -- typed errors only -------------------------------------------------------------

_OK = b"HTTP/1.1 200 OK\r\n"
_HOSTILE = {
    "garbage": b"\x00\xff" * 100,
    "binary-head": b"HTTP/1.1 200 OK\r\n\xff\xfe: \x00\r\n\r\n",
    "status-1000": b"HTTP/1.1 1000 OK\r\n\r\n",
    "status-600": b"HTTP/1.1 600 OK\r\nContent-Length: 2\r\n\r\n{}",
    "bad-length": _OK + b"Content-Length: 1e3\r\n\r\n",
    "bad-chunk": _OK + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
    "bad-gzip": _OK + b"Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    "brotli": _OK + b"Content-Encoding: br\r\nContent-Length: 4\r\n\r\nnope",
    "unknown-te": _OK + b"Transfer-Encoding: zstd, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "huge-header": _OK + b"X: " + b"a" * 200_000 + b"\r\n\r\n",
    "many-headers": _OK + b"X: 1\r\n" * 10_000 + b"\r\n",
    "upgrade": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nxx",
    "http09": b'{"version":"1"}',
    "text-error": b"HTTP/1.1 418 Teapot\r\nContent-Length: 3\r\n\r\n\xff\xfe\xfd",
    "json-not-object": _OK + b"Content-Length: 4\r\n\r\nnull",
    "cut-head": b"HTTP/1.1 200 OK\r\nContent-Le",
}


def _calls(client: AsyncClient) -> list[Callable[[], Awaitable[Any]]]:
    return [
        client.version,
        lambda: client.generate("m", "hi"),
        lambda: client.chat("m", HI, stream=True).collect(),
        lambda: client.blob_exists("sha256:" + "1" * 64),
        lambda: client.delete("m"),
    ]


@pytest.mark.parametrize("data", list(_HOSTILE.values()), ids=list(_HOSTILE))
@pytest.mark.parametrize("then", ["close", "reset", "hang"])
async def test_typed_errors_only(
    scripted_server: ServeFn, data: bytes, then: str
) -> None:
    """Whatever the bytes, and whatever the server does after them, each call
    either succeeds or raises one of ours, chaining nothing of aiohttp's."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(data)
        await writer.drain()
        if then == "reset":
            writer.transport.abort()
        elif then == "hang":
            await until_closed(reader)

    server = await scripted_server(handler)
    timeout = Timeout(connect=1, first_byte=0.3, read=0.3)
    async with client_for(server.url, timeout=timeout) as client:
        for call in _calls(client):
            try:
                await call()
            except Exception as exc:  # checked: ours only
                assert_ours(exc)
        connector = client._transport.session().connector  # type: ignore[attr-defined]
        assert not connector._acquired


# -- Retry-After -------------------------------------------------------------------


def _in(seconds: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)


def _asctime(when: datetime.datetime) -> str:
    return when.strftime("%a %b ") + f"{when.day:2d}" + when.strftime(" %H:%M:%S %Y")


# (id, header made when the test runs, seconds expected or None: ignored)
_RETRY_AFTER: list[tuple[str, Callable[[], str], float | None]] = [
    ("delay-seconds", lambda: "120", 120),
    ("delay-seconds-spaces", lambda: " 7 ", 7),
    ("zero", lambda: "0", 0),
    ("fraction", lambda: "1.5", 1.5),
    ("negative", lambda: "-5", 0),
    ("imf-fixdate", lambda: format_datetime(_in(120), usegmt=True), 120),
    ("rfc850", lambda: _in(120).strftime("%A, %d-%b-%y %H:%M:%S GMT"), 120),
    ("asctime", lambda: _asctime(_in(120)), 120),
    ("-0000", lambda: _in(120).strftime("%a, %d %b %Y %H:%M:%S -0000"), 120),
    ("+0200", lambda: _in(7320).strftime("%a, %d %b %Y %H:%M:%S +0200"), 120),
    ("in-the-past", lambda: "Wed, 21 Oct 2015 07:28:00 GMT", 0),
    ("far-future", lambda: "Fri, 31 Dec 9999 23:59:59 GMT", 2.5e11),
    ("empty", lambda: "", None),
    ("word", lambda: "soon", None),
    ("overflow", lambda: "1e400", None),
    ("nan", lambda: "nan", None),
    ("inf", lambda: "inf", None),
    ("hex", lambda: "0x10", None),
    ("list", lambda: "120, 130", None),
    ("bad-date", lambda: "Mon, 99 Foo 9999 99:99:99 GMT", None),
    ("bad-zone", lambda: "Wed, 21 Oct 2015 07:28:00 -9999", None),
    ("zone-out-of-range", lambda: "Sun, 06 Nov 1994 08:49:37 +2400", None),
    ("year-1-east", lambda: "Sat, 01 Jan 0001 00:00:00 +1400", 0),
    ("year-9999-west", lambda: "Fri, 31 Dec 9999 23:59:59 -2359", 2.5e11),
    ("iso-8601", lambda: "2030-01-01T00:00:00Z", None),
]
_RETRY_AFTER_PARAMS = [
    pytest.param(header, expected, id=name) for name, header, expected in _RETRY_AFTER
]


def _close_to(value: float | None, expected: float | None) -> bool:
    if expected is None or value is None:
        return value is expected
    return abs(value - expected) <= max(5.0, expected * 0.01)


@pytest.mark.parametrize(("header", "expected"), _RETRY_AFTER_PARAMS)
def test_parse_retry_after(header: Callable[[], str], expected: float | None) -> None:
    assert _close_to(parse_retry_after(header()), expected)


@pytest.mark.parametrize(("header", "expected"), _RETRY_AFTER_PARAMS)
@pytest.mark.parametrize("status", ["429 Too Many Requests", "503 Busy"])
async def test_retry_after_over_the_wire(
    scripted_server: ServeFn,
    header: Callable[[], str],
    expected: float | None,
    status: str,
) -> None:
    """Parsed, or ignored, never a crash: the status's typed error carries it."""
    data = response(
        b'{"error":"slow down"}', status=status, headers=(f"Retry-After: {header()}",)
    )
    server = await scripted_server(answer(data))
    async with client_for(server.url) as client:
        with pytest.raises(
            RateLimitError if status[0:3] == "429" else ServerBusyError
        ) as info:
            await client.version()
    assert info.value.error == "slow down"
    assert _close_to(info.value.retry_after, expected)


async def test_a_retry_after_too_long_is_not_waited_for(
    scripted_server: ServeFn,
) -> None:
    """The policy honours a short Retry-After, and gives up at once on one
    longer than ``max_retry_after`` (an HTTP date a day away)."""
    tomorrow = format_datetime(_in(86400), usegmt=True)
    waits = iter(["0", "0.05", tomorrow])

    def respond(request: Request) -> bytes:
        return response(
            b'{"error":"busy"}',
            status="503 Service Unavailable",
            headers=(f"Retry-After: {next(waits)}",),
        )

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url, retry=Retry(attempts=5)) as client:
        started = time.monotonic()
        with pytest.raises(ServerBusyError) as info:
            await client.version()
        assert time.monotonic() - started < 2
    assert len(server.requests) == 3
    assert info.value.retry_after is not None and info.value.retry_after > 80_000
