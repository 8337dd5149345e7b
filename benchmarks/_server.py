"""A fast fake Ollama for benchmarks: raw asyncio Protocols, pre-encoded bytes.

Not the test emulator (`ollama_async.testing`): that one is built on
aiohttp.web for fidelity and scripting; this one exists so the server side
costs next to nothing and never limits what the clients show.

Serves POST /api/chat and /api/generate (streamed or `stream:false`),
POST /api/embed, GET / and GET /_bench/stats (the server's own CPU and wall
clocks, so a worker can report the server's CPU share of a scenario).

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
import os
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


class Config:
    def __init__(self, chunks: int, pace_ms: float) -> None:
        self.chunks = chunks
        self.pace_ms = pace_ms
        self.requests = 0
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

    # -- asyncio callbacks -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: cast.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._process()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
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
            if len(parts) != 3 or b"\r\ntransfer-encoding:" in lower:
                self._fail()  # no client here sends chunked request bodies
                return
            method, target, version = parts
            length = int(_header(lower, b"content-length", b"0"))
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
            stats = {
                "cpu": time.process_time(),
                "wall": time.perf_counter(),
                "requests": self.config.requests,
            }
            return self._send(_json(msgspec.json.encode(stats)))
        if method in (b"GET", b"HEAD") and path == b"/":
            return self._send(ROOT)
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
        self.timer = self.loop.call_later(pace, self._tick, kind, n, 1, pace)

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
            self._done()

    def _done(self) -> None:
        self.busy = False
        if not self.keep_alive:
            assert self.transport is not None
            self.transport.close()
            self.closed = True
        elif self.buf:
            self.loop.call_soon(self._process)


def _pin(cpu: int | None) -> None:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        pass  # not allowed here: run unpinned


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    config = Config(args.chunks, args.pace_ms)
    server = await loop.create_server(
        lambda: HttpProtocol(config), "127.0.0.1", args.port, backlog=1024
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
    args = ap.parse_args(argv)
    _pin(args.cpu)
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
