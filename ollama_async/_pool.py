"""The keep-alive pool of ``_http`` connections to one origin, the response
handle a caller reads a body from, and ``exchange``: one request sent and its
headers awaited, retried once on a stale kept-alive connection. Must not
import aiohttp."""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import ssl as _ssl
from collections.abc import AsyncIterable
from functools import partial

from ._errors import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    TotalTimeout,
    UsageError,
)
from ._http import Connection, NoResponse

__all__ = ["ConnectionPool", "Response", "exchange"]


class Response:
    """A response whose headers have arrived; the body is read with
    :meth:`readany`. Close or release it exactly once (both idempotent)."""

    __slots__ = (
        "_conn",
        "_pool",
        "_read_timeout",
        "_released",
        "headers",
        "reason",
        "status",
    )

    def __init__(
        self, conn: Connection, pool: ConnectionPool, read_timeout: float | None
    ) -> None:
        self._conn = conn
        self._pool = pool
        self._read_timeout = read_timeout
        self._released = False
        self.status = conn.status
        self.reason = conn.reason
        self.headers = conn.headers

    async def readany(self) -> bytes:
        """The next piece of the body; ``b""`` once it is complete."""
        conn = self._conn
        while True:
            data = conn.take_body()
            if data or conn.body_done:
                return data
            await conn.wait(self._read_timeout, "data")

    def at_eof(self) -> bool:
        """Whether the whole body has arrived (some of it may be unread)."""
        return self._conn.body_done

    def release(self) -> None:
        """Return the connection to the pool if the body ended cleanly, else
        close it."""
        if self._released:
            return
        self._released = True
        conn = self._conn
        if conn.body_done and conn.keep_alive and conn.error is None:
            self._pool.release(conn)
        else:
            conn.abort()
            self._pool.release(conn)

    def close(self) -> None:
        """Drop the connection now: the server sees the disconnect."""
        if self._released:
            return
        self._released = True
        self._conn.abort()
        self._pool.release(self._conn)


class ConnectionPool:
    """Keep-alive connections to one origin, at most ``max_connections`` open;
    callers beyond that wait in FIFO order."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl: _ssl.SSLContext | None,
        max_connections: int | None,
        keepalive_expiry: float,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.host = host
        self.port = port
        self.origin = f"{'https' if ssl else 'http'}://{host}:{port}"
        self._ssl = ssl
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._idle: collections.deque[Connection] = collections.deque()
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._all: set[Connection] = set()
        self.closed = False

    async def acquire(
        self, connect_timeout: float | None, pool_timeout: float | None = None
    ) -> Connection:
        """An idle connection, or a new one when the pool has room; waits in
        line at most ``pool_timeout`` seconds when it has none."""
        while True:
            if self.closed:  # e.g. a stale-connection retry racing aclose()
                raise _closed_while_waiting()
            idle = self._idle
            while idle:
                conn = idle.pop()  # the most recently used is the warmest
                if conn.usable and self.loop.time() - conn.last_used < self._expiry:
                    conn.reused = True
                    return conn
                self._discard(conn)
            if self._max is None or self._open < self._max:
                return await self._connect(connect_timeout)
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                if pool_timeout is None:
                    await waiter
                else:
                    async with asyncio.timeout(pool_timeout):
                        await waiter
            except TimeoutError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_one()
                raise PoolTimeout(
                    f"all {self._max} connections to {self.origin} stayed busy for "
                    f"{pool_timeout} s (Timeout.pool; raise Limits.max_connections "
                    "or lower the concurrency)"
                ) from None
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass the turn on
                raise

    async def _connect(self, timeout: float | None) -> Connection:
        self._open += 1
        conn = Connection(self)
        host = self.host[1:-1] if self.host.startswith("[") else self.host
        try:
            async with asyncio.timeout(timeout):
                connect = self.loop.create_connection
                if _races_families(self.loop, host):
                    connect = partial(connect, happy_eyeballs_delay=0.25)
                await connect(
                    lambda: conn,
                    host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=host if self._ssl else None,
                )
        except BaseException as exc:
            self._open -= 1
            self._wake_one()
            if isinstance(exc, TimeoutError):
                raise ConnectTimeout(
                    f"timed out connecting to Ollama at {self.origin}"
                ) from None
            if isinstance(exc, OSError):
                reason = exc.strerror or str(exc) or type(exc).__name__
                raise ConnectError(
                    f"cannot connect to Ollama at {self.origin} ({reason}). Is it "
                    "running? Start it with `ollama serve`, or set OLLAMA_HOST to its "
                    "address (https://ollama.com/download)."
                ) from exc
            raise
        if self.closed:  # closed while connecting: nobody would close this one
            self._open -= 1
            conn.abort()
            raise _closed_while_waiting()
        self._all.add(conn)
        conn.reused = False
        return conn

    def release(self, conn: Connection) -> None:
        """Take a connection back after its response."""
        conn.end_exchange()
        if conn.usable and conn.keep_alive and not self.closed:
            conn.make_idle()
            conn.last_used = self.loop.time()
            self._idle.append(conn)
        else:
            self._discard(conn)
            return
        self._wake_one()

    def _discard(self, conn: Connection) -> None:
        if conn in self._all:
            self._all.discard(conn)
            self._open -= 1
            conn.abort()
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        """Close every connection, idle or busy."""
        self.closed = True
        for conn in list(self._all):
            conn.abort()
        self._all.clear()
        self._idle.clear()
        self._open = 0
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(_closed_while_waiting())
        self._waiters.clear()


def _races_families(loop: asyncio.AbstractEventLoop, host: str) -> bool:
    """Whether to race IPv6 and IPv4 ("happy eyeballs") for ``host``: for a
    name (``localhost`` has both), on loops that can; uvloop's
    ``create_connection`` has no such argument."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return isinstance(loop, asyncio.BaseEventLoop)
    return False


async def exchange(
    pool: ConnectionPool,
    head: bytes,
    body: bytes | AsyncIterable[bytes] | None,
    *,
    head_request: bool,
    connect_timeout: float | None,
    first_byte_timeout: float | None,
    read_timeout: float | None,
    total_timeout: float | None,
    retry_stale: bool,
    pool_timeout: float | None = None,
) -> Response:
    """Send one request and wait for the response headers.

    ``total_timeout`` runs from here: waiting for a connection, connecting and
    a retry on a stale connection all count.
    """
    deadline = None if total_timeout is None else pool.loop.time() + total_timeout
    while True:
        if deadline is None:
            conn = await pool.acquire(connect_timeout, pool_timeout)
        else:
            limit = asyncio.timeout_at(deadline)
            try:
                async with limit:
                    conn = await pool.acquire(connect_timeout, pool_timeout)
            except TimeoutError:
                if not limit.expired():
                    raise  # a ConnectTimeout or PoolTimeout of its own
                raise TotalTimeout(
                    f"the call to Ollama at {pool.origin} took over "
                    f"{total_timeout} s (waiting for a connection)"
                ) from None
        conn.begin(head_request=head_request)
        if deadline is not None:
            assert total_timeout is not None
            conn.set_deadline(deadline, total_timeout)
        try:
            await conn.write(head, body)
            if conn.status == 0:
                started = pool.loop.time()
                await conn.wait(first_byte_timeout, "response")
                while conn.status == 0:  # headers trickling in: same deadline
                    left = first_byte_timeout
                    if left is not None:
                        left -= pool.loop.time() - started
                    await conn.wait(left, "response")
        except NoResponse:
            pool.release(conn)
            # A kept-alive connection the server had already closed: the
            # request never reached it, so it is safe to send again.
            if conn.reused and retry_stale and not isinstance(body, AsyncIterable):
                continue
            raise
        except BaseException:
            conn.abort()
            pool.release(conn)
            raise
        return Response(conn, pool, read_timeout)


def _closed_while_waiting() -> UsageError:
    return UsageError("the AsyncClient was closed while this call waited")
