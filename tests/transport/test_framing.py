"""How the aiohttp transport frames what a server sends, driven through the
public ``AsyncClient`` against the raw-bytes loopback server: every framing
Go's net/http server (so Ollama) can produce is read exactly, on one kept-alive
connection; broken framing is a typed error, never a silently short answer;
compressed bodies; uploads; back-pressure.

Where aiohttp's parser (llhttp) differs from the hand-written one these tests
were first written for, the rule is "nothing stricter than the server,
nothing silently wrong": what Go could send is accepted, what Ollama never
sends may be refused, with one of our errors.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import socket
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from ollama_async import (
    BadRequestError,
    ConnectError,
    DecodeError,
    IncompleteStreamError,
    RemoteProtocolError,
    Timeout,
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
    answer,
    chunk,
    chunked,
    client_for,
    generate_parts,
    keep_alive,
    read_request,
    response,
    until,
)

# -- what Go's server sends --------------------------------------------------------


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
        pytest.param(chunked(LINES, ext=b';a="x";b'), id="extensions"),
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
        # Lenient where RFC 9112 lets a recipient be, and never wrong: a bare
        # LF after a chunk's data (§2.2).
        pytest.param(
            CHUNKED_HEAD
            + b"".join(b"%x\r\n%b\n" % (len(line), line) for line in LINES)
            + LAST_CHUNK,
            id="lf-after-data",
        ),
    ],
)
async def test_chunked_variants(scripted_server: ServeFn, payload: bytes) -> None:
    server = await scripted_server(answer(payload))
    async with client_for(server.url) as client:
        assert await generate_parts(client) == EXPECTED
        assert await generate_parts(client) == EXPECTED
    assert server.accepted == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # Valid RFC 9112 (whitespace around the ";") that llhttp refuses.
        pytest.param(
            chunked(LINES, ext=b' ; a=1 ; b="x"'), "chunk extension", id="ext-spaces"
        ),
        pytest.param(
            CHUNKED_HEAD
            + b"".join(b"%x\n%b\r\n" % (len(line), line) for line in LINES)
            + LAST_CHUNK,
            "LF after chunk size",
            id="lf-only-size-line",
        ),
    ],
)
async def test_chunk_lines_go_never_writes_are_a_typed_error(
    scripted_server: ServeFn, payload: bytes, reason: str
) -> None:
    """Go's server writes a chunk-size line as ``%x\r\n`` and nothing more, so
    llhttp refusing other spellings costs nothing, as long as the refusal is
    ours, quick, and closes the connection."""
    server = await scripted_server(answer(payload))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match=reason):
            await generate_parts(client)
        await until(lambda: server.eof == 1)


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


async def test_http10_keep_alive_is_reused(scripted_server: ServeFn) -> None:
    """An HTTP/1.0 answer that says ``Connection: keep-alive`` and frames its
    body keeps the connection (RFC 7230 §A.1.2), as Go's client does."""
    data = response(
        b'{"version":"1"}', headers=("Connection: keep-alive",), version="HTTP/1.0"
    )
    server = await scripted_server(answer(data))
    async with client_for(server.url) as client:
        assert (await client.version()).version == "1"
        assert (await client.version()).version == "1"
    assert server.accepted == 1


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
    """HEAD and 204 carry no body whatever their headers say, and the
    connection stays in sync for the next response."""

    def respond(request: Request) -> bytes:
        if request.method == "HEAD":
            found = request.target.endswith("1" * 64)
            status = "200 OK" if found else "404 Not Found"
            return f"HTTP/1.1 {status}\r\nContent-Length: 1234\r\n\r\n".encode()
        if request.target in ("/api/copy", "/api/delete"):
            return b"HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"
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


@pytest.mark.parametrize("status", ["304 Not Modified", "300 Multiple Choices"])
async def test_a_3xx_that_is_not_a_redirect_is_a_typed_error(
    scripted_server: ServeFn, status: str
) -> None:
    """Ollama never answers 3xx but to redirect; anything else in 3xx is
    refused at once (a 304's chunked header has no body to wait for), and
    the next call works."""

    def respond(request: Request) -> bytes:
        if request.target == "/api/delete":
            return f"HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url, timeout=Timeout(first_byte=5)) as client:
        started = time.monotonic()
        with pytest.raises(RemoteProtocolError, match="not followed"):
            await client.delete("a")
        assert time.monotonic() - started < 2
        assert (await client.version()).version == "0.33.0"


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


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n", id="obs-fold"),
        pytest.param(b"HTTP/1.1 200\r\n", id="no-reason"),
        pytest.param("HTTP/1.1 200 Öké\r\n".encode(), id="utf8-reason"),
        pytest.param("HTTP/1.1 200 OK\r\nX-Name: Öké\r\n".encode(), id="utf8-value"),
        pytest.param(b"\r\nHTTP/1.1 200 OK\r\n", id="empty-line-first"),
        pytest.param(b"HTTP/1.1 200 OK\n", id="lf-only"),
    ],
)
async def test_lenient_heads_are_read(scripted_server: ServeFn, head: bytes) -> None:
    """Heads RFC 9112 lets a recipient accept (obs-fold read as a space, an
    empty line before the status line, a bare LF) or that Go could write
    (no reason phrase, UTF-8 in a value): the body is read as framed."""
    body = b'{"version":"0.33.0"}'
    data = head + b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    server = await scripted_server(answer(data))
    async with client_for(server.url) as client:
        assert (await client.version()).version == "0.33.0"
        assert (await client.version()).version == "0.33.0"
    assert server.accepted == 1


# -- compressed bodies -----------------------------------------------------------------

JSON_BODY = b'{"version":"gz"}'


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", gzip.compress(JSON_BODY)),
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
        assert (await client.version()).version == "gz"
        assert (await client.version()).version == "gz"
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


async def test_x_gzip_is_not_decoded(scripted_server: ServeFn) -> None:
    """aiohttp does not know the obsolete ``x-gzip`` (never asked for: we send
    ``Accept-Encoding: gzip, deflate``): the compressed bytes fail to decode,
    a typed error rather than a wrong answer."""
    data = response(gzip.compress(JSON_BODY), headers=("Content-Encoding: x-gzip",))
    server = await scripted_server(answer(data))
    async with client_for(server.url) as client:
        with pytest.raises(DecodeError):
            await client.version()


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
    whole line: an error, never a short answer that looks complete. (aiohttp
    does not check that a gzip stream ended; the stream's final-line rule
    does.)"""
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
        with pytest.raises(IncompleteStreamError):
            async for part in await client.generate("m", "hi", stream=True):
                parts.append((part.response, part.done))
    assert parts == EXPECTED[: len(parts)]


_LONG_JSON = b'{"version":"%s"}' % "-".join(str(i * i) for i in range(300)).encode()
_GZIP = gzip.compress(_LONG_JSON)
_DEFLATE = zlib.compress(_LONG_JSON)


@pytest.mark.parametrize(
    ("encoding", "data", "error"),
    [
        # aiohttp checks that a deflate stream ended...
        pytest.param("deflate", _DEFLATE[: len(_DEFLATE) // 2], RemoteProtocolError),
        pytest.param("deflate", _DEFLATE[:-4], RemoteProtocolError, id="no-adler32"),
        pytest.param("deflate", _raw_deflate(_LONG_JSON)[:200], RemoteProtocolError),
        # ...but not a gzip one: the half-inflated JSON fails to decode.
        pytest.param("gzip", _GZIP[: len(_GZIP) // 2], DecodeError),
    ],
)
async def test_compressed_body_cut_short_is_not_an_answer(
    scripted_server: ServeFn, encoding: str, data: bytes, error: type[Exception]
) -> None:
    """A compressed body framed as complete but cut inside its compressed
    data: a typed error, never the half-inflated JSON taken as the answer."""
    server = await scripted_server(
        answer(response(data, headers=(f"Content-Encoding: {encoding}",)))
    )
    async with client_for(server.url) as client:
        with pytest.raises(error):
            await client.version()


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
    """A 48 MB stream gzipped to ~50 KB arrives in one read or two: aiohttp
    inflates it a piece at a time as the consumer reads, and it arrives whole."""
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


# -- broken servers ----------------------------------------------------------------

_OK_HEAD = b"HTTP/1.1 200 OK\r\n"
_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"HTTP/1.1 2OO OK\r\n\r\n", id="status-not-digits"),
        pytest.param(b"HTTP/1.1 20 OK\r\n\r\n", id="status-two-digits"),
        pytest.param(b"HTTP/1.1 2000 OK\r\n\r\n", id="status-four-digits"),
        pytest.param(b"HTTP/1.1 2\xb20 OK\r\n\r\n", id="status-superscript-digit"),
        pytest.param(b"HTP/1.1 200 OK\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/2 200 OK\r\n\r\n", id="http2"),
        pytest.param(_OK_HEAD + b"No colon here\r\n\r\n", id="header-no-colon"),
        pytest.param(_OK_HEAD + b": empty name\r\n\r\n", id="header-empty-name"),
        pytest.param(
            _OK_HEAD + b"Name : space\r\n\r\n", id="header-space-before-colon"
        ),
        pytest.param(_OK_HEAD + b"X: a\x00b\r\n\r\n", id="header-nul"),
        pytest.param(_OK_HEAD + b"Content-Length: abc\r\n\r\n", id="length-not-number"),
        pytest.param(_OK_HEAD + b"Content-Length: -1\r\n\r\n", id="length-negative"),
        pytest.param(
            _OK_HEAD + b"Content-Length: \xb2\r\n\r\nxx", id="length-superscript"
        ),
        pytest.param(
            _OK_HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ",
            id="length-twice",
        ),
        pytest.param(
            _OK_HEAD + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
            id="length-and-chunked",
        ),
        pytest.param(_OK_HEAD + b"Content-Encoding: br\r\n\r\n", id="encoding-br"),
        pytest.param(
            _OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
            id="corrupt-gzip",
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
        pytest.param(_CHUNKED + b"1" * 5000, id="chunk-size-line-too-long"),
        pytest.param(
            _CHUNKED + b"2\r\n{}\r\n0\r\nnot a header\r\n\r\n", id="trailer-garbage"
        ),
        pytest.param(
            _OK_HEAD + b"X-Big: " + b"a" * 70_000 + b"\r\nContent-Length: 2\r\n\r\n{}",
            id="headers-over-64k-one-write",
        ),
        pytest.param(
            _OK_HEAD + b"X-Big: " + b"a" * 70_000, id="headers-over-64k-unended"
        ),
        pytest.param(
            _OK_HEAD + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
            id="too-many-headers",
        ),
    ],
)
async def test_malformed_response(scripted_server: ServeFn, data: bytes) -> None:
    server = await scripted_server(answer(data))
    async with client_for(server.url, timeout=Timeout(first_byte=5)) as client:
        started = time.monotonic()
        with pytest.raises(RemoteProtocolError):
            await client.version()
        assert time.monotonic() - started < 2  # refused, not timed out
        # the failed connection was closed, its slot freed
        await until(lambda: server.eof == 1)
        assert (
            client._transport.session().connector._acquired == set()  # type: ignore[attr-defined]
        )


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
    assert server.accepted == 1  # no re-send with retry=None


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
        with pytest.raises(ConnectError, match="Failed to connect to Ollama"):
            await client.version()


# -- back-pressure ------------------------------------------------------------------


async def test_slow_consumer_bounds_buffering(scripted_server: ServeFn) -> None:
    """A 24 MB stream that the server writes as fast as it can, read by a
    consumer that stalls: aiohttp pauses reading, so the client holds a few
    MB at most, and every byte arrives in order."""
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
                        await asyncio.sleep(0.3)  # the server could send it all now
                        tracemalloc.reset_peak()
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == line_count
    assert peak < 14_000_000, f"peak {peak / 1e6:.1f} MB while stalled"


# -- uploads ------------------------------------------------------------------------


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
