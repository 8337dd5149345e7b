"""A lean HTTP/1.1 connection: an asyncio Protocol that writes requests from
pre-built header bytes and de-frames responses (content-length, chunked,
until-close, gzip/deflate) inside ``data_received``. The pool and the
request/response exchange over it are in ``_pool``.

Why not aiohttp here: Ollama streams one HTTP chunk per NDJSON line, and a
general client spends several Python calls on every chunk (feed, chunk end,
per-chunk reads, a read timer re-armed per packet) and ~100 µs on every
request. This module does the same work in one pass per network read and
keeps timers lazy. It speaks only what Ollama (and proxies in front of it)
send; anything else raises :class:`RemoteProtocolError`.

Must not import aiohttp.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._pool import ConnectionPool

from ._errors import (
    FirstByteTimeout,
    OllamaError,
    ReadTimeout,
    RemoteProtocolError,
    TotalTimeout,
)

__all__ = ["Connection", "NoResponse"]

_MAX_HEADER_BYTES: Final = 64 * 1024
_MAX_CHUNK_LINE: Final = 4096
# Body bytes buffered ahead of the reader before the socket is paused.
_HIGH_WATER: Final = 4 * 1024 * 1024
_NO_BODY_STATUS: Final = frozenset({204, 304})
_HEX_DIGITS: Final = b"0123456789abcdefABCDEF"
# Size lines seen before, parsed: a stream repeats a handful of sizes, and a
# dict lookup is cheaper than validating and parsing the line every chunk.
_CHUNK_SIZES: Final[dict[bytes, int]] = {}
_CHUNK_SIZES_CAP: Final = 4096


def _chunk_size(line: bytes) -> int:
    """The size on an HTTP chunk-size line (extensions ignored), remembered."""
    field = line.split(b";", 1)[0].strip()
    # Hex digits only: int(..., 16) would also take "0x10", "+1", "1_0".
    if not field or field.strip(_HEX_DIGITS):
        raise RemoteProtocolError(f"invalid HTTP chunk size {field[:20]!r}")
    length = int(field, 16)
    if len(_CHUNK_SIZES) < _CHUNK_SIZES_CAP and len(line) <= 16:
        _CHUNK_SIZES[line] = length
    return length


# Parser states.
(
    _HEADERS,
    _LENGTH,
    _CHUNK_SIZE,
    _CHUNK_DATA,
    _CHUNK_END,
    _TRAILERS,
    _UNTIL_CLOSE,
    _DONE,
    _IDLE,  # no request in flight: any byte from the server is unsolicited
    _INFLATING,  # the body has arrived; compressed input is left to inflate
) = range(10)


class NoResponse(RemoteProtocolError):
    """The connection closed before any byte of a response: safe to retry on a
    fresh connection when it had been reused from the pool."""


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; parses the response to the request in flight."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.last_used = 0.0
        self.reused = False
        self._reset()
        self._closed = False
        self._write_waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._deadline: asyncio.TimerHandle | None = None

    def _reset(self) -> None:
        self._state = _IDLE
        self._head = b""
        self._rest = b""  # undecoded bytes of the chunked framing
        self._remaining = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._exc: BaseException | None = None
        self._got_bytes = False
        self._paused = False
        self._head_request = False
        self._decompress: zlib._Decompress | None = None
        self._tail = b""  # compressed input not inflated yet (bounded output)
        # "deflate" input seen before zlib accepted its header; None once it
        # did (or for gzip). Kept to restart as a bare deflate stream.
        self._deflate_start: bytes | None = None
        self._compressed_bytes = 0
        self._wait_since = 0.0
        self._wait_timeout: float | None = 0.0
        self._wait_kind = ""
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.keep_alive = True

    # -- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: BaseException | None) -> None:
        self._closed = True
        self.keep_alive = False
        if self._state == _UNTIL_CLOSE and exc is None and self._exc is None:
            # A clean close ends such a body; a reset, or our own abort after
            # a timeout, cuts it: that must not read as the end.
            self._finish_body()
        elif self._state < _DONE and self._exc is None:
            if not self._got_bytes:
                self._exc = NoResponse(
                    "the server closed the connection without answering"
                )
            else:
                self._exc = RemoteProtocolError(
                    "the server closed the connection mid-response"
                    + (f" ({exc})" if exc else "")
                )
        self._wake()
        waiter = self._write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        if self._write_waiter is None or self._write_waiter.done():
            self._write_waiter = self._loop.create_future()

    def resume_writing(self) -> None:
        waiter = self._write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        try:
            state = self._state
            if _CHUNK_SIZE <= state <= _TRAILERS:
                self._chunked(data)
            elif state == _HEADERS:
                self._headers(data)
            elif state == _LENGTH:
                self._length(data)
            elif state == _UNTIL_CLOSE:
                self._add(data)
            # Bytes after a complete response are a protocol error, but the
            # response itself stands; the connection just is not reused.
            elif data:
                self.keep_alive = False
                if state == _IDLE:
                    self.abort()  # they would be read as the next response
        except OllamaError as exc:
            self._fail(exc)
            return
        except (ValueError, zlib.error) as exc:
            # int() of a non-ASCII digit ("\xb2".isdigit() is true), corrupt
            # gzip: ours to raise, not an error escaping into the loop.
            self._fail(RemoteProtocolError(f"malformed response from Ollama ({exc})"))
            return
        if self._waiter is not None:
            self._wake()

    # -- parsing -----------------------------------------------------------------

    def _headers(self, data: bytes) -> None:
        head = self._head + data if self._head else data
        end = head.find(b"\r\n\r\n")
        if end < 0 or end > _MAX_HEADER_BYTES:  # the cap holds in one read too
            if len(head) > _MAX_HEADER_BYTES:
                raise RemoteProtocolError("response headers larger than 64 KiB")
            self._head = head
            return
        self._head = b""
        lines = head[:end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise RemoteProtocolError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise RemoteProtocolError(f"malformed response header {line[:80]!r}")
            headers[name.lower()] = value.strip()
        rest_bytes = head[end + 4 :]
        if 100 <= status < 200 and status != 101:
            if rest_bytes:
                self._headers(rest_bytes)  # an interim response; the real one follows
            return
        self.status, self.reason, self.headers = status, reason, headers
        if self._write_waiter is not None:
            self.resume_writing()  # an upload blocked on a full socket stops
        connection = headers.get("connection", "").lower()
        self.keep_alive = version == "HTTP/1.1" and "close" not in connection
        encoding = headers.get("content-encoding", "identity").lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            # Only proxies compress (we never ask); bounded by the caps above us.
            self._decompress = zlib.decompressobj(47 if "gzip" in encoding else 15)
            self._deflate_start = None if "gzip" in encoding else b""
        elif encoding not in ("identity", ""):
            raise RemoteProtocolError(f"unsupported content-encoding {encoding!r}")
        if self._head_request or status in _NO_BODY_STATUS:
            self._state = _DONE
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _CHUNK_SIZE
        elif "content-length" in headers:
            length = headers["content-length"]
            if not length.isdigit():
                raise RemoteProtocolError(f"invalid content-length {length!r}")
            self._remaining = int(length)
            self._state = _LENGTH if self._remaining else _DONE
        else:
            self._state = _UNTIL_CLOSE
            self.keep_alive = False
        if self._state == _DONE:
            self._finish_body()
        elif rest_bytes:
            self.data_received(rest_bytes)

    def _length(self, data: bytes) -> None:
        remaining = self._remaining
        if len(data) >= remaining:
            if len(data) > remaining:
                self.keep_alive = False  # trailing garbage: do not reuse
            self._add(data[:remaining] if len(data) > remaining else data)
            self._remaining = 0
            self._finish_body()
        else:
            self._remaining = remaining - len(data)
            self._add(data)

    def _chunked(self, data: bytes) -> None:
        buf = self._rest + data if self._rest else data
        self._rest = b""
        pos, size, state = 0, len(buf), self._state
        # Compressed pieces are collected apart and inflated at the end, so
        # output still unread from an earlier read is not inflated again.
        body = self._body if self._decompress is None else []
        added = 0
        sizes = _CHUNK_SIZES
        while pos < size:
            if state == _CHUNK_DATA:
                end = pos + self._remaining
                if end > size:
                    piece = buf[pos:]
                    self._remaining = end - size
                    body.append(piece)
                    added += len(piece)
                    pos = size
                    break
                body.append(buf[pos:end])
                added += end - pos
                pos = end
                state = _CHUNK_END
            if state == _CHUNK_END:
                if size - pos < 2:
                    break
                if not buf.startswith(b"\r\n", pos):
                    raise RemoteProtocolError("missing CRLF after an HTTP chunk")
                pos += 2
                state = _CHUNK_SIZE
            if state == _CHUNK_SIZE:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if size - pos > _MAX_CHUNK_LINE:
                        raise RemoteProtocolError("HTTP chunk size line too long")
                    break
                line = buf[pos:eol]
                length = sizes.get(line)
                if length is None:
                    length = _chunk_size(line)
                pos = eol + 2
                if length == 0:
                    state = _TRAILERS
                else:
                    self._remaining = length
                    state = _CHUNK_DATA
                    continue
            if state == _TRAILERS:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if size - pos > _MAX_HEADER_BYTES:
                        raise RemoteProtocolError("HTTP trailers too long")
                    break
                if eol == pos:  # the empty line ending the body
                    pos += 2
                    if pos < size:
                        self.keep_alive = False
                    if self._decompress is None:
                        self._body_size += added
                    else:
                        self._inflate(body)
                    self._finish_body()  # flushes the decompressor
                    return
                pos = eol + 2  # a trailer field: ignored
        self._state = state
        if pos < size:
            self._rest = buf[pos:]
        if self._decompress is None:
            self._body_size += added
        else:
            self._inflate(body)
        if self._body_size > _HIGH_WATER:
            self._pause()

    def _add(self, data: bytes) -> None:
        if self._decompress is not None:
            self._inflate([data])
        else:
            self._body.append(data)
            self._body_size += len(data)
        if self._body_size > _HIGH_WATER:
            self._pause()

    def _inflate(self, raw: list[bytes]) -> None:
        """Inflate at most ``_HIGH_WATER`` bytes: a small gzip bomb must not
        expand in one call. The rest waits in ``_tail``, reading paused,
        until the caller asks for more (see :meth:`wait`)."""
        decompress = self._decompress
        assert decompress is not None
        data = b"".join(raw)
        self._compressed_bytes += len(data)
        if self._tail:
            data = self._tail + data
        if self._deflate_start is not None:
            decompress, data = self._sniff_deflate(decompress, data)
        data, self._tail = decompress.decompress(data, _HIGH_WATER), b""
        if decompress.unconsumed_tail:
            self._tail = decompress.unconsumed_tail
            self._pause()
        if data:
            self._body.append(data)
            self._body_size += len(data)

    def _sniff_deflate(
        self, decompress: zlib._Decompress, data: bytes
    ) -> tuple[zlib._Decompress, bytes]:
        """Settle whether a "deflate" body has the zlib header RFC 9110 asks
        for; some servers send the bare stream. Returns the decompressor to
        use and the input to give it."""
        start = self._deflate_start = (self._deflate_start or b"") + data
        if len(start) < 2:
            return decompress, b""  # zlib judges its header on two bytes
        self._deflate_start = None
        try:
            zlib.decompressobj(15).decompress(start[:2])
        except zlib.error:
            decompress = self._decompress = zlib.decompressobj(-15)
        return decompress, start

    def _finish_body(self) -> None:
        if self._decompress is not None and self._state != _DONE:
            if self._tail:
                self._state = _INFLATING  # done once the tail is inflated
                return
            self._body.append(self._decompress.flush())
            if not self._decompress.eof and self._compressed_bytes:
                # The framing ended inside the compressed stream: what was
                # inflated is a prefix, and must not read as the whole body.
                self._fail(RemoteProtocolError("the compressed body is cut short"))
                return
        self._state = _DONE

    def _pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def _fail(self, exc: BaseException) -> None:
        if self._exc is None:
            self._exc = exc
        self.keep_alive = False
        self._wake()
        self.abort()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- used by the pool and the response ---------------------------------------

    @property
    def usable(self) -> bool:
        transport = self.transport
        return not self._closed and transport is not None and not transport.is_closing()

    def begin(self, *, head_request: bool) -> None:
        """Expect the response to a request about to be written."""
        self._state = _HEADERS
        self._head_request = head_request

    def make_idle(self) -> None:
        """Forget the finished exchange so the connection can be reused."""
        if self._paused and self.transport is not None:
            self.transport.resume_reading()  # paused by the body's last read
        self._reset()

    def abort(self) -> None:
        self.cancel_timers()
        self._closed = True
        self.keep_alive = False
        if self.transport is not None:
            self.transport.abort()

    async def write(
        self, head: bytes, body: bytes | AsyncIterable[bytes] | None
    ) -> None:
        """Send one request; ``head`` ends with the blank line."""
        transport = self.transport
        assert transport is not None
        if body is None or isinstance(body, bytes):
            transport.write(head + body if body else head)
            return
        transport.write(head)
        async for piece in body:  # chunked upload, with back-pressure
            if piece:
                transport.write(b"%x\r\n%b\r\n" % (len(piece), piece))
                waiter = self._write_waiter
                if waiter is not None and not waiter.done():
                    await waiter
            if self.status or self._closed:
                break
        else:
            transport.write(b"0\r\n\r\n")
            return
        # The server answered (e.g. 400 digest mismatch) or went away before
        # the upload ended: stop sending. Its answer is what the caller needs;
        # the connection, with half a request on it, is not reused.
        self.keep_alive = False
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
        if not self.status:
            raise self._exc or RemoteProtocolError("connection lost during upload")

    async def wait(self, timeout: float | None, kind: str) -> None:
        """Wait for more of the response; ``timeout`` bounds this wait.

        The timer is lazy: one handle outlives many waits and is only moved
        when it fires early or a shorter wait starts, so a stream does not
        pay for a timer per packet.
        """
        if self._exc is not None:
            raise self._exc
        if self._paused and self.transport is not None:
            if self._tail:  # more output is ready without reading
                self._inflate([])
                if not self._tail and self._state == _INFLATING:
                    self._finish_body()
                return
            self._paused = False
            self.transport.resume_reading()
        waiter = self._waiter = self._loop.create_future()
        if timeout is not None:
            now = self._loop.time()
            self._wait_since, self._wait_timeout, self._wait_kind = now, timeout, kind
            due = now + timeout
            if self._timer is None or self._timer_at > due:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_at(due, self._on_timer)
                self._timer_at = due
        else:
            self._wait_timeout = None  # a timer left by an earlier wait must pass
        await waiter
        if self._exc is not None:
            raise self._exc

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._waiter
        timeout = self._wait_timeout
        if waiter is None or waiter.done() or timeout is None:
            return  # nobody is waiting with a limit; the next wait arms a new timer
        due = self._wait_since + timeout
        if self._loop.time() >= due - 0.001:
            what = self._wait_kind
            cls = FirstByteTimeout if what == "response" else ReadTimeout
            self._fail(cls(f"no {what} from Ollama at {self._pool.origin} in time"))
        else:
            self._timer = self._loop.call_at(due, self._on_timer)
            self._timer_at = due

    def set_deadline(self, when: float, seconds: float) -> None:
        """Fail the exchange with :class:`TotalTimeout` at loop time ``when``
        (the end of a ``total`` of ``seconds``)."""
        self._deadline = self._loop.call_at(when, self._on_deadline, seconds)

    def _on_deadline(self, seconds: float) -> None:
        self._deadline = None
        if self._state != _DONE or self._body:
            self._fail(
                TotalTimeout(
                    f"the call to Ollama at {self._pool.origin} took over {seconds} s"
                )
            )

    def cancel_timers(self) -> None:
        for handle in (self._timer, self._deadline):
            if handle is not None:
                handle.cancel()
        self._timer = self._deadline = None

    def end_exchange(self) -> None:
        """The exchange is over: its total deadline goes. The inactivity timer
        stays armed; firing while nobody waits does nothing, and the next
        exchange usually finds it due later than it needs, so it is not
        moved. Arming and cancelling a timer per request would cost a heap
        push and pop on the loop each time."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def take_body(self) -> bytes:
        body = self._body
        if not body:
            return b""
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        self._body_size = 0
        return data

    @property
    def body_done(self) -> bool:
        return self._state == _DONE

    @property
    def error(self) -> BaseException | None:
        return self._exc
