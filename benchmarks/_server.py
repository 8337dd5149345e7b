"""A fast fake Ollama for benchmarks: raw asyncio Protocols, pre-encoded bytes.

Not the test emulator (`ollama_async.testing`): that one is built on
aiohttp.web for fidelity and scripting; this one exists so the server side
costs next to nothing and never limits what the clients show.

Serves POST /api/chat and /api/generate (streamed or `stream:false`),
POST /api/embed, GET / and GET /_bench/stats (the server's own CPU and wall
clocks, so a worker can report the server's CPU share of a scenario, the
number of paced streams open right now, and the last blob upload), and the
blob endpoints: HEAD /api/blobs/<digest> always answers 404 (so every
`create_blob` uploads) and POST /api/blobs/<digest> reads the body
(Content-Length or chunked), counts and discards it, and answers 201. With
`--verify-blobs` it also hashes the body and answers 400 on a digest
mismatch (every client then pays the same server cost; off by default so
the server's hashing never limits an upload's speed).

Streams use chunked transfer encoding with one HTTP chunk per NDJSON line, as
Ollama's Go server flushes them. Two modes per request:

* burst (pace 0): the whole response is cached bytes written in 64 KiB
  slices, many chunks per `transport.write`, with write flow control;
* paced (pace > 0 ms): headers and the first chunk at once (first chunk
  immediately, for time-to-first-chunk), then one chunk per write every pace
  ms per stream, the done line with the terminating chunk last.

Chunk count: `options.num_predict` in the body (else `--chunks`). Pace: the
`X-Bench-Pace-Ms` request header (else `--pace-ms`).

Run: python -m benchmarks._server --port 0 [--pace-ms 20] [--cpu 0]
It prints `PORT <n>` once listening and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import signal
import sys
import time
from email.utils import formatdate
from functools import cache
from typing import cast

import msgspec

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _payloads as P

WRITE_SLICE = 64 * 1024
# Bodies up to this size go out in one write(); the transport buffers the
# rest. Larger ones are sliced and respect pause_writing().
ONE_WRITE_MAX = 256 * 1024
MAX_HEAD = 64 * 1024


class _Options(msgspec.Struct):
    num_predict: int | None = None


class _Body(msgspec.Struct):
    stream: bool | None = None
    options: _Options | None = None
    input: str | list[str] | None = None


_decode_body = msgspec.json.Decoder(_Body).decode
_DATE = formatdate(usegmt=True).encode()


def _frame(line: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(line), line)


def _head_ndjson() -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        b"Date: " + _DATE + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )


def _response(status: bytes, ctype: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype + b"\r\nDate: " + _DATE
    ) + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def _json(body: bytes, status: bytes = b"200 OK") -> bytes:
    return _response(status, b"application/json; charset=utf-8", body)


@cache
def _frames(kind: str) -> tuple[bytes, ...]:
    return tuple(_frame(P.chunk_line(kind, t)) for t in P.TOKENS)


@cache
def _last(kind: str, n: int) -> bytes:
    return _frame(P.final_object(kind, n) + b"\n") + b"0\r\n\r\n"


@cache
def _burst(kind: str, n: int) -> bytes:
    """Whole streamed response (head, n chunks, done line, terminator)."""
    frames = _frames(kind)
    k = len(frames)
    full, rest = divmod(n, k)
    parts = [_head_ndjson(), b"".join(frames) * full, *frames[:rest], _last(kind, n)]
    return b"".join(parts)


@cache
def _single(kind: str, n: int) -> bytes:
    return _json(P.final_object(kind, n, P.expected_text(n)))


@cache
def _embed(count: int) -> bytes:
    return _json(P.embed_body(count))


NOT_FOUND = _response(b"404 Not Found", b"text/plain", b"404 page not found")
# HEAD /api/blobs/<digest>: Ollama's "no such blob", no body.
BLOB_MISSING = b"HTTP/1.1 404 Not Found\r\nDate: %s\r\nContent-Length: 0\r\n\r\n" % (
    _DATE
)
BLOB_CREATED = b"HTTP/1.1 201 Created\r\nDate: %s\r\nContent-Length: 0\r\n\r\n" % (
    _DATE
)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
BAD_REQUEST = _json(b'{"error":"bad request"}', b"400 Bad Request")
ROOT = _response(b"200 OK", b"text/plain; charset=utf-8", b"Ollama is running")
KINDS = {b"/api/chat": "chat", b"/api/generate": "generate"}


def _header(lower_head: bytes, name: bytes, default: bytes) -> bytes:
    i = lower_head.find(b"\r\n" + name + b":")
    if i < 0:
        return default
    start = i + len(name) + 3
    stop = lower_head.find(b"\r\n", start)
    return lower_head[start : stop if stop >= 0 else None].strip()


class Upload:
    """A blob body being received: counted, optionally hashed, discarded."""

    def __init__(self, digest: bytes, length: int, *, chunked: bool, verify: bool):
        self.digest = digest
        self.chunked = chunked
        self.remaining = 0 if chunked else length  # bytes left in this (chunk) body
        self.need_crlf = False  # chunked: the CRLF after a chunk's data is next
        self.received = 0
        self.hasher = hashlib.sha256() if verify else None


class Config:
    def __init__(self, chunks: int, pace_ms: float, verify_blobs: bool) -> None:
        self.chunks = chunks
        self.pace_ms = pace_ms
        self.verify_blobs = verify_blobs
        self.requests = 0
        self.active = 0  # paced streams being written right now
        self.blobs = 0  # blob uploads received in full
        self.blob_bytes = 0  # size of the last one
        self.blob_digest = ""  # the digest in its URL
        self.blob_verified: bool | None = None  # None unless --verify-blobs
        self.plans: dict[
            tuple[bytes, bytes, bytes], bytes | tuple[str, int, float]
        ] = {}


class HttpProtocol(asyncio.Protocol):
    """One connection: sequential keep-alive requests, one response at a time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False  # a response is being written; hold further requests
        self.keep_alive = True
        self.closed = False
        self.paused = False
        self.resumed: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.upload: Upload | None = None
        self.pacing = False  # counted in config.active

    # -- asyncio callbacks -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: cast.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.upload is not None:
            self._upload_data(data)
            return
        self.buf += data
        if not self.busy:
            self._process()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_pacing()
        if self.timer is not None:
            self.timer.cancel()
        if self.task is not None:
            self.task.cancel()
        self._wake()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake()

    def _wake(self) -> None:
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)

    # -- requests ----------------------------------------------------------
    def _process(self) -> None:
        while not self.busy and not self.closed:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self._fail()
                return
            head = bytes(self.buf[:end])
            # Only three headers matter; searching the lower-cased head is
            # cheaper than building a dict, and server CPU is what we save.
            lower = head.lower()
            request_line = head.split(b"\r\n", 1)[0]
            parts = request_line.split(b" ")
            if len(parts) != 3:
                self._fail()
                return
            method, target, version = parts
            length = int(_header(lower, b"content-length", b"0"))
            if method == b"POST" and target.startswith(b"/api/blobs/"):
                self._start_upload(head, lower, target, version, length)
                return
            if b"\r\ntransfer-encoding:" in lower:
                self._fail()  # only blob uploads come chunked
                return
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            conn = _header(lower, b"connection", b"")
            self.keep_alive = conn != b"close" and (
                version == b"HTTP/1.1" or conn == b"keep-alive"
            )
            pace = _header(lower, b"x-bench-pace-ms", b"")
            self.config.requests += 1
            self._dispatch(method, target.partition(b"?")[0], pace, body)

    def _fail(self) -> None:
        assert self.transport is not None
        self.transport.write(BAD_REQUEST)
        self.transport.close()
        self.closed = True

    def _dispatch(
        self, method: bytes, path: bytes, pace_ms: bytes, body: bytes
    ) -> None:
        if method == b"POST" and path in KINDS:
            # Clients repeat identical bodies; remembering the plan per body
            # skips the JSON decode and keeps server CPU per request low (S3).
            key = (path, pace_ms, body)
            plan = self.config.plans.get(key)
            if plan is None:
                plan = self._plan(path, pace_ms, body)
                if len(self.config.plans) > 4096:
                    self.config.plans.clear()
                self.config.plans[key] = plan
            if isinstance(plan, bytes):
                return self._send(plan)
            return self._start_paced(*plan)
        if method == b"POST" and path == b"/api/embed":
            try:
                req = _decode_body(body)
            except msgspec.DecodeError:
                return self._send(BAD_REQUEST)
            count = 1 if isinstance(req.input, str) else len(req.input or ())
            return self._send(_embed(count))
        if method == b"GET" and path == b"/_bench/stats":
            c = self.config
            stats = {
                "cpu": time.process_time(),
                "wall": time.perf_counter(),
                "requests": c.requests,
                "active": c.active,
                "blobs": c.blobs,
                "blob_bytes": c.blob_bytes,
                "blob_digest": c.blob_digest,
                "blob_verified": c.blob_verified,
            }
            return self._send(_json(msgspec.json.encode(stats)))
        if method in (b"GET", b"HEAD") and path == b"/":
            return self._send(ROOT)
        if method == b"HEAD" and path.startswith(b"/api/blobs/"):
            return self._send(BLOB_MISSING)
        return self._send(NOT_FOUND)

    def _plan(
        self, path: bytes, pace_ms: bytes, body: bytes
    ) -> bytes | tuple[str, int, float]:
        """Bytes to send, or (kind, chunks, pace in s) for a paced stream."""
        try:
            req = _decode_body(body)
        except msgspec.DecodeError:
            return BAD_REQUEST
        n = self.config.chunks
        if req.options is not None and req.options.num_predict is not None:
            n = req.options.num_predict
        kind = KINDS[path]
        if req.stream is False:
            return _single(kind, n)
        pace = float(pace_ms) if pace_ms else self.config.pace_ms
        if pace > 0:
            return (kind, n, pace / 1000)
        return _burst(kind, n)

    # -- blob uploads ------------------------------------------------------
    def _start_upload(
        self, head: bytes, lower: bytes, target: bytes, version: bytes, length: int
    ) -> None:
        """POST /api/blobs/<digest>: from here on the body streams through
        `_upload_data`, never buffered whole."""
        chunked = b"chunked" in _header(lower, b"transfer-encoding", b"")
        conn = _header(lower, b"connection", b"")
        self.keep_alive = conn != b"close" and (
            version == b"HTTP/1.1" or conn == b"keep-alive"
        )
        self.config.requests += 1
        del self.buf[: len(head) + 4]
        self.busy = True
        self.upload = Upload(
            target[len(b"/api/blobs/") :].partition(b"?")[0],
            length,
            chunked=chunked,
            verify=self.config.verify_blobs,
        )
        if _header(lower, b"expect", b"") == b"100-continue":
            assert self.transport is not None
            self.transport.write(CONTINUE)
        rest = bytes(self.buf)
        self.buf.clear()
        if rest or (not chunked and length == 0):
            self._upload_data(rest)

    def _upload_data(self, data: bytes) -> None:
        up = self.upload
        assert up is not None
        if self.buf:  # framing bytes left over from the previous read
            data = bytes(self.buf) + data
            self.buf.clear()
        view = memoryview(data)
        pos, end = 0, len(data)
        while True:
            if up.remaining:
                take = min(up.remaining, end - pos)
                if up.hasher is not None:
                    up.hasher.update(view[pos : pos + take])
                up.received += take
                up.remaining -= take
                pos += take
                if up.remaining:
                    return  # consumed all of this read
                if not up.chunked:
                    break
                up.need_crlf = True
                continue
            if not up.chunked:
                break  # Content-Length: 0
            if up.need_crlf:
                if end - pos < 2:
                    self.buf += data[pos:]
                    return
                pos += 2
                up.need_crlf = False
                continue
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                if end - pos > MAX_HEAD:
                    self._fail()
                else:
                    self.buf += data[pos:]
                return
            size = int(data[pos:eol].split(b";", 1)[0], 16)
            if size:
                pos = eol + 2
                up.remaining = size
                continue
            # Last chunk: no trailers expected, only the blank line.
            if end - eol - 2 < 2:
                self.buf += data[pos:]
                return
            if data[eol + 2 : eol + 4] != b"\r\n":
                self._fail()
                return
            pos = eol + 4
            break
        self.buf += data[pos:]
        self._finish_upload(up)

    def _finish_upload(self, up: Upload) -> None:
        self.upload = None
        c = self.config
        c.blobs += 1
        c.blob_bytes = up.received
        c.blob_digest = up.digest.decode()
        reply = BLOB_CREATED
        if up.hasher is not None:
            c.blob_verified = c.blob_digest == "sha256:" + up.hasher.hexdigest()
            if not c.blob_verified:
                reply = BAD_REQUEST
        self._send(reply)

    # -- responses ---------------------------------------------------------
    def _send(self, data: bytes) -> None:
        assert self.transport is not None
        if len(data) <= ONE_WRITE_MAX:
            self.transport.write(data)
            self._done()
        else:
            self.busy = True
            self.task = self.loop.create_task(self._send_sliced(data))

    async def _send_sliced(self, data: bytes) -> None:
        assert self.transport is not None
        view = memoryview(data)
        for start in range(0, len(view), WRITE_SLICE):
            if self.closed:
                return
            self.transport.write(view[start : start + WRITE_SLICE])
            if self.paused:
                self.resumed = self.loop.create_future()
                await self.resumed
                self.resumed = None
        self.task = None
        self._done()

    def _start_paced(self, kind: str, n: int, pace: float) -> None:
        assert self.transport is not None
        self.busy = True
        frames = _frames(kind)
        if n <= 0:
            self.transport.write(_head_ndjson() + _last(kind, n))
            self._done()
            return
        self.transport.write(_head_ndjson() + frames[0])
        self.pacing = True
        self.config.active += 1
        self.timer = self.loop.call_later(pace, self._tick, kind, n, 1, pace)

    def _stop_pacing(self) -> None:
        if self.pacing:
            self.pacing = False
            self.config.active -= 1

    def _tick(self, kind: str, n: int, i: int, pace: float) -> None:
        assert self.transport is not None
        self.timer = None
        if self.closed:
            return
        if i < n:
            frames = _frames(kind)
            self.transport.write(frames[i % len(frames)])
            self.timer = self.loop.call_later(pace, self._tick, kind, n, i + 1, pace)
        else:
            self.transport.write(_last(kind, n))
            self._stop_pacing()
            self._done()

    def _done(self) -> None:
        self.busy = False
        if not self.keep_alive:
            assert self.transport is not None
            self.transport.close()
            self.closed = True
        elif self.buf:
            self.loop.call_soon(self._process)


def raise_nofile() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (thousands of connections);
    returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def _pin(cpu: int | None) -> None:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        pass  # not allowed here: run unpinned


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    config = Config(args.chunks, args.pace_ms, args.verify_blobs)
    # Thousands of clients connect at once in S6; the kernel caps the backlog
    # at net.core.somaxconn.
    server = await loop.create_server(
        lambda: HttpProtocol(config), "127.0.0.1", args.port, backlog=8192
    )
    # Warm the caches the scenarios use, so the first request costs no more.
    for kind in KINDS.values():
        _frames(kind)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await stop


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--chunks", type=int, default=200, help="default num_predict")
    ap.add_argument("--pace-ms", type=float, default=0.0, help="0 = burst mode")
    ap.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    ap.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    ap.add_argument(
        "--verify-blobs", action="store_true", help="hash blob uploads and check them"
    )
    args = ap.parse_args(argv)
    _pin(args.cpu)
    raise_nofile()
    factory = None
    if args.loop != "asyncio":
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            if args.loop == "uvloop":
                raise
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(args))


if __name__ == "__main__":
    main()
