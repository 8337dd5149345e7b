"""Where we reach into aiohttp: our subclasses of its connection protocol,
request and response, the timeouts we hand it, and dropping a session whose
loop is gone. These lean on aiohttp's private state (``_payload``,
``_reading_paused``, ``connector._conns``...), which drifts between minors:
CI runs the oldest and newest aiohttp we support.

What they add:

- one deadline on the whole response head (``Timeout.first_byte``), interim
  ``100 Continue`` responses included, and a bound on the body's silences
  (``Timeout.read``), kept by one timer per connection;
- a reset before a body has ended breaks the response instead of ending it;
- a status outside 100-599 is refused as soon as the head is read;
- a pooled connection that received bytes while idle is refused before
  anything is written to it.

The exceptions raised here are aiohttp's (mapped later) or come from
``_failures``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import aiohttp
from aiohttp.client_proto import ResponseHandler
from yarl import URL

from .._config import Timeout
from ._failures import check_status, first_byte_timeout

__all__ = [
    "CheckedRequest",
    "DeadlineProtocol",
    "DeadlineResponse",
    "StaleConnection",
    "abandon",
    "aiohttp_timeout",
    "head_timeouts",
]

# (first_byte, read) of the request each task is sending, read by our
# response class, which aiohttp builds deep inside ClientSession._request.
# Keyed by task rather than a ContextVar, whose set() would leave each task's
# context holding a copy after the request.
head_timeouts: dict[asyncio.Task[Any] | None, tuple[float | None, float | None]] = {}


class DeadlineProtocol(ResponseHandler):
    """aiohttp's connection protocol, with two changes.

    A reset (not a clean close) before a body has ended breaks the response,
    as in Go's client: aiohttp would take a reset as the end of a body read
    until the connection closes, and hand over a possibly truncated answer as
    complete.

    Timeouts are kept by one timer per connection, re-armed only when it
    fires. aiohttp's ``sock_read`` cancels and re-arms a timer for every
    piece it parses (a large part of its per-chunk cost on a stream), and a
    deadline on the head would need one more per request. Here:

    - the response head has an exact deadline (:meth:`expect_head`), interim
      ``100 Continue`` responses included;
    - the body's silences are checked four times per ``read`` period against
      its byte count (:meth:`expect_body`), so one is caught between ``read``
      and 1.25 x ``read`` after it began.
    """

    __slots__ = (
        "_head_due",
        "_head_what",
        "_period",
        "_phase",
        "_seen",
        "_silent",
        "_watch",
    )

    _CHECKS: Final = 4  # checks per `read` period
    _IDLE, _HEAD, _BODY = 0, 1, 2

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._phase = self._IDLE
        self._watch: asyncio.TimerHandle | None = None
        self._period: float | None = None
        self._head_due = 0.0
        self._head_what: tuple[URL, float] | None = None
        self._seen = -1
        self._silent = 0

    def expect_head(
        self, url: URL, first_byte: float | None, read: float | None
    ) -> None:
        """A request went out: its head must arrive within ``first_byte``."""
        self._period = None if read is None else read / self._CHECKS
        if first_byte is None:
            self._phase = self._IDLE
            return
        now = self._loop.time()
        self._phase = self._HEAD
        self._head_due = now + first_byte
        self._head_what = (url, first_byte)
        self._arm(self._next_head_check(now))

    def expect_body(self) -> None:
        """The head is in: from now on, bound the body's silences."""
        if self._period is None:
            self._phase = self._IDLE
            return
        self._phase = self._BODY
        self._seen = -1
        self._silent = 0
        if self._watch is None:
            self._arm(self._loop.time() + self._period)

    def head_done(self) -> None:
        self._phase = self._IDLE

    def _next_head_check(self, now: float) -> float:
        # No later than a read period away, so that the body that follows
        # is watched on time by the same timer.
        if self._period is None:
            return self._head_due
        return min(self._head_due, now + self._period)

    def _arm(self, when: float) -> None:
        watch = self._watch
        if watch is not None:
            if watch.when() <= when:
                return  # an earlier check comes anyway and re-arms
            watch.cancel()
        self._watch = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._watch = None
        now = self._loop.time()
        if self._phase == self._HEAD:
            if now >= self._head_due:
                self._phase = self._IDLE
                self._head_expired()
            else:
                self._watch = self._loop.call_at(
                    self._next_head_check(now), self._check
                )
        elif self._phase == self._BODY:
            if self._body_went_silent():
                self._phase = self._IDLE
                exc = aiohttp.SocketTimeoutError("Timeout on reading data from socket")
                self.set_exception(exc)
                if self._payload is not None:
                    self._payload.set_exception(exc)
            elif self._phase == self._BODY:  # (the body may just have ended)
                assert self._period is not None  # expect_body() checked it
                self._watch = self._loop.call_at(now + self._period, self._check)

    def _body_went_silent(self) -> bool:
        payload = self._payload
        if payload is None or payload.is_eof() or payload.exception() is not None:
            self._phase = self._IDLE  # the body is over
            return False
        seen = payload.total_bytes
        # (`_buffer_paused`: aiohttp 3.14's pause of parsing while the reader
        # is behind; getattr, as it is aiohttp's private state.)
        paused = self._reading_paused or getattr(self, "_buffer_paused", False)
        if seen != self._seen or paused:
            # Bytes came, or our reader is behind (reading is paused until it
            # catches up): not the server's silence.
            self._seen = seen
            self._silent = 0
            return False
        self._silent += 1
        return self._silent >= self._CHECKS

    def _head_expired(self) -> None:
        assert self._head_what is not None
        url, first_byte = self._head_what
        self.set_exception(first_byte_timeout(url.origin(), first_byte))

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        payload = self._payload
        if exc is not None and payload is not None and not payload.is_eof():
            payload.set_exception(
                aiohttp.ClientPayloadError(
                    f"connection lost before the body ended ({type(exc).__name__})"
                )
            )
        super().connection_lost(exc)


class StaleConnection(aiohttp.ClientConnectionError):
    """A pooled connection received bytes while idle; nothing was sent on it."""


class CheckedRequest(aiohttp.ClientRequest):
    """Refuses a pooled connection that carried bytes after its last response
    (a stray or duplicated answer), before anything is written to it."""

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        protocol = conn.protocol
        if protocol is not None and protocol.should_close:
            raise StaleConnection("connection received bytes while idle")
        response: aiohttp.ClientResponse = await super().send(conn)
        return response


class DeadlineResponse(aiohttp.ClientResponse):
    """Has the connection's protocol bound the whole response head by
    ``first_byte`` and then the body's silences by ``read``; refuses a status
    outside 100-599."""

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        first_byte, read = head_timeouts.get(asyncio.current_task(), (None, None))
        protocol = connection.protocol
        if not isinstance(protocol, DeadlineProtocol):  # not from our connector
            await super().start(connection)
            check_status(self.status, self.url.origin())
            return self
        protocol.expect_head(self.url, first_byte, read)
        try:
            await super().start(connection)
        except BaseException:
            protocol.head_done()
            raise
        if self.content.is_eof():
            protocol.head_done()
        else:
            protocol.expect_body()
        check_status(self.status, self.url.origin())
        return self


def aiohttp_timeout(
    t: Timeout, sock_read: float | None = None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for ``t``. No ``sock_read`` by default: on our own
    connections the protocol bounds the head (first_byte) and the body's
    silences (read) itself; see DeadlineProtocol."""
    return aiohttp.ClientTimeout(
        total=t.total,
        # aiohttp's `connect` covers the wait for a pooled connection plus
        # connecting; `sock_connect` only the latter.
        connect=None if t.pool is None else t.pool + (t.connect or 0),
        sock_connect=t.connect,
        sock_read=sock_read,
    )


def abandon(session: aiohttp.ClientSession) -> None:
    """Drop a session whose loop no longer runs (an earlier ``asyncio.run()``,
    a notebook's replaced loop) without that loop's help: its sockets are
    closed here, and the session counts as closed so that nothing warns."""
    connector = session.connector
    if connector is None:
        return
    protocols = [proto for queue in connector._conns.values() for proto, _ in queue]
    protocols += list(connector._acquired)
    for proto in protocols:
        transport = proto.transport
        if transport is None:
            continue
        # close() would only schedule the socket's closing on a loop that will
        # not run it; run that cleanup here instead.
        lost = getattr(transport, "_call_connection_lost", None)
        try:
            lost(None) if lost is not None else transport.abort()
        except Exception:
            pass
        proto.transport = None
    connector._conns.clear()
    connector._acquired.clear()
    connector._closed = True
    session._connector = None
