"""The transport: every request to Ollama goes through an
``aiohttp.ClientSession``, so an application's ``aioresponses`` mocks, its
aiohttp tracing and its proxies see our calls.

By default the client owns a session it makes lazily on the running loop (a
``TCPConnector`` sized from :class:`Limits`, no cookie jar, proxies read from
the environment once). ``session=`` passes the caller's own, which is never
closed here. This module is the only one that imports aiohttp (besides
``testing/``), and the one place that turns aiohttp's and asyncio's failures
into our exception tree.

What aiohttp does not do on its own and this module adds:

- one deadline on the whole response head (``Timeout.first_byte``): aiohttp's
  socket-read timer restarts on every byte, so headers that trickle in, or an
  endless run of ``100 Continue``, would never time out;
- a status outside 100-599 is refused as soon as the head is read;
- a pooled connection that received bytes while idle is closed before
  anything is written to it, so a stray response is never taken as ours;
- aiohttp's own re-send of idempotent requests on a stale keep-alive
  connection is off: the :class:`Retry` policy alone decides re-sends;
- aiohttp's exceptions carry the request's headers (the API key among them),
  so they are mapped to ours without being chained.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import functools
import math
import os
import ssl as _ssl
import sys
import urllib.request
from collections.abc import AsyncIterable, Mapping
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Final, Protocol, TypeAlias

import aiohttp
from aiohttp.client_proto import ResponseHandler
from multidict import CIMultiDict
from yarl import URL

from . import _args
from ._config import Limits, Timeout
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectTimeout,
    DecodeError,
    FirstByteTimeout,
    NotFoundError,
    OllamaError,
    PermissionDeniedError,
    PoolTimeout,
    RateLimitError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    ServerBusyError,
    ServerError,
    StatusError,
    TotalTimeout,
    TransportError,
    UsageError,
    error_message,
)
from ._version import __version__

__all__ = [
    "MAX_ERROR_BODY",
    "BaseTransport",
    "Response",
    "Session",
    "Transport",
    "default_headers",
    "map_exception",
    "parse_retry_after",
    "read_body",
    "status_error",
    "user_agent",
]

Session: TypeAlias = aiohttp.ClientSession
"""A caller's session, for ``AsyncClient(session=...)``: the type is named
here so that no other module imports aiohttp."""

# An error body is read for its message only; a hostile server cannot make us
# buffer more than this.
MAX_ERROR_BODY: Final = 64 * 1024
_MAX_REDIRECTS: Final = 5
# aiohttp raises when the redirect count *reaches* its max_redirects: one more
# lets it follow _MAX_REDIRECTS of them and refuse the next.
_AIOHTTP_MAX_REDIRECTS: Final = _MAX_REDIRECTS + 1
_ACCEPT: Final = {True: "application/x-ndjson", False: "application/json"}

_STATUS_ERRORS: Final[dict[int, type[StatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    503: ServerBusyError,
}


# -- headers -------------------------------------------------------------------


def user_agent() -> str:
    """``ollama-async/<ver> (<arch> <os>) Python/<ver>``, shaped like the
    official client's."""
    uname = os.uname() if hasattr(os, "uname") else None
    machine = uname.machine if uname else "unknown"
    system = uname.sysname.lower() if uname else sys.platform
    python = ".".join(map(str, sys.version_info[:3]))
    return f"ollama-async/{__version__} ({machine} {system}) Python/{python}"


def default_headers(
    headers: Mapping[str, str] | None, auth: tuple[str, str] | None = None
) -> dict[str, str]:
    """The caller's headers over ours, keyed case-insensitively (the caller's
    spelling wins); ``auth`` becomes HTTP Basic credentials, and
    ``OLLAMA_API_KEY`` a bearer token unless either set ``Authorization``."""
    merged = {"user-agent": ("User-Agent", user_agent())}
    for name, value in (headers or {}).items():
        merged[name.lower()] = _args.header(name, value)
    if auth is not None:
        if "authorization" in merged:
            raise RequestError("pass auth= or an Authorization header, not both")
        merged["authorization"] = ("Authorization", _basic_credentials(auth))
    api_key = os.environ.get("OLLAMA_API_KEY")
    if api_key and "authorization" not in merged:
        merged["authorization"] = ("Authorization", f"Bearer {api_key}")
    return dict(merged.values())


def _basic_credentials(auth: object) -> str:
    """``Basic base64(user:password)`` (RFC 7617, UTF-8), as httpx sends for
    ``auth=(user, password)``; e.g. for Ollama behind a reverse proxy that
    asks for a login."""
    user, password = _args.basic_auth(auth)
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _env_proxy(base_url: str) -> URL | None:
    """The proxy ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` name for
    ``base_url`` unless ``NO_PROXY`` exempts it, read once, as httpx does when
    a client is made. (aiohttp's ``trust_env`` would read the environment and
    ``.netrc`` on a thread for every request.)"""
    url = URL(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(f"{url.host}:{url.port}"):
        return None
    return URL(proxy if "://" in proxy else f"http://{proxy}")


# -- errors ----------------------------------------------------------------------


def status_error(status: int, body: bytes, retry_after: str | None) -> StatusError:
    """The exception for an HTTP error status: the JSON ``error`` message when
    there is one, else the body's text, else the status's reason."""
    message = error_message(body)
    if message is None:
        message = body.decode("utf-8", "replace").strip()
    if not message:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = f"HTTP {status}"
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else StatusError)
    return cls(message, status, body=body, retry_after=parse_retry_after(retry_after))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delay-seconds or an HTTP date in
    any of RFC 9110's three forms. Anything else is ignored (None)."""
    if value is None:
        return None
    value = value.strip()
    try:
        # RFC 9110 says whole seconds; proxies send fractions and negatives too.
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" (and the asctime form) parse as naive: they mean UTC.
        when = when.replace(tzinfo=datetime.UTC)
    seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return max(seconds, 0.0)


def map_exception(exc: BaseException, base_url: str) -> OllamaError:
    """Our exception for one raised by aiohttp, asyncio or the OS during a
    call. The result is raised *without* chaining ``exc``: aiohttp's errors
    hold the request's headers."""
    if isinstance(exc, OllamaError):
        return exc
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout(
            f"timed out connecting to Ollama at {base_url} (Timeout.connect)"
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return ReadTimeout(
            f"Ollama at {base_url} sent nothing within the read timeout (Timeout.read)"
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TotalTimeout(
            f"the call to Ollama at {base_url} exceeded its total timeout "
            "(Timeout.total)"
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ConnectError(
            f"TLS certificate of Ollama at {base_url} not trusted: "
            f"{exc.certificate_error}"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or str(exc.os_error) or type(exc).__name__
        return ConnectError(
            f"cannot connect to Ollama at {base_url} ({reason}). Is it running? "
            "Start it with `ollama serve`, or set OLLAMA_HOST to its address "
            "(https://ollama.com/download)."
        )
    if isinstance(exc, aiohttp.TooManyRedirects):
        return RemoteProtocolError(
            f"more than {_MAX_REDIRECTS} redirects from Ollama at {base_url}"
        )
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        # A Location header that is not a URL, or not an http(s) one.
        target = exc.args[0] if exc.args else ""
        return RemoteProtocolError(
            f"Ollama at {base_url} redirected to an invalid target "
            f"({type(exc).__name__}: {target!s:.200})"
        )
    if isinstance(exc, UnicodeError) and not isinstance(exc, UnicodeDecodeError):
        # getaddrinfo() cannot IDNA-encode the host name (an empty label, one
        # longer than 63 characters), the base URL's or a redirect target's.
        return ConnectError(
            f"cannot connect to Ollama at {base_url}: a host name that is not "
            f"valid ({exc})"
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        return RemoteProtocolError(
            f"Ollama at {base_url} sent a malformed response "
            f"({type(exc).__name__}: {_reason(exc)})"
        )
    if isinstance(
        exc,
        aiohttp.ClientPayloadError
        | aiohttp.ClientConnectionError
        | ConnectionError
        | OSError,
    ):
        return RemoteProtocolError(
            f"the connection to Ollama at {base_url} broke mid-response "
            f"({type(exc).__name__}: {_reason(exc)})"
        )
    return TransportError(
        f"HTTP error talking to Ollama at {base_url} ({type(exc).__name__})"
    )


def _reason(exc: BaseException) -> str:
    """A short reason, never a request's details (aiohttp puts the URL and
    headers in some exceptions' ``repr``)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.message[:200] if exc.message else f"status {exc.status}"
    return (str(exc) or "no details")[:200]


# -- reading bodies ----------------------------------------------------------------


class Response(Protocol):
    """What streams and calls need of a response, whichever transport made it.
    ``readany`` may raise aiohttp's exceptions: readers map them."""

    status: int

    @property
    def headers(self) -> Mapping[str, str]: ...
    async def readany(self) -> bytes: ...
    def at_eof(self) -> bool: ...
    def release(self) -> Any: ...
    def close(self) -> None: ...


class BaseTransport(Protocol):
    """What the client needs of a transport: :class:`Transport`, or the
    multi-host router over several of them."""

    base_url: str
    timeout: Timeout

    @property
    def closed(self) -> bool: ...
    def check_open(self) -> None: ...
    async def send(
        self,
        method: str,
        path: str,
        body: bytes | AsyncIterable[bytes] | None = None,
        *,
        timeout: Timeout | None = None,
        content_type: str | None = None,
        stream: bool = False,
        idempotent: bool = True,
        model: str = "",
        loads_model: bool = False,
    ) -> Response: ...
    async def aclose(self) -> None: ...


class _SessionResponse:
    """An aiohttp response behind our :class:`Response` interface.
    ``readany`` is aiohttp's own bound method, so reading costs no extra
    call; the rest, called once per response, go through."""

    __slots__ = ("_response", "headers", "readany", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.readany = response.content.readany

    def at_eof(self) -> bool:
        return self._response.content.is_eof()

    def release(self) -> None:
        self._response.release()

    def close(self) -> None:
        self._response.close()


async def read_error_body(response: Response, base_url: str) -> bytes:
    """Up to 64 KiB of an error response's body; the response is released."""
    pieces: list[bytes] = []
    size = 0
    try:
        while size < MAX_ERROR_BODY and (piece := await response.readany()):
            pieces.append(piece)
            size += len(piece)
    except asyncio.CancelledError:
        response.close()
        raise
    except Exception:
        pass  # the status alone still makes a useful error
    if size >= MAX_ERROR_BODY and not response.at_eof():
        response.close()  # the rest is not worth reading
    else:
        # release() keeps the connection only if the body ended cleanly: a 404
        # (blob_exists() of a missing blob) need not cost a new connection.
        response.release()
    return b"".join(pieces)[:MAX_ERROR_BODY]


async def read_body(response: Response, limit: int, base_url: str) -> bytes:
    """The whole body of a response; more than ``limit`` bytes raise."""
    pieces: list[bytes] = []
    size = 0
    error: OllamaError | None = None
    try:
        while piece := await response.readany():
            size += len(piece)
            if size > limit:
                error = DecodeError(
                    f"response body larger than max_body_size={limit} bytes",
                    data=(pieces[0] if pieces else piece)[:200],
                )
                break
            pieces.append(piece)
    except Exception as exc:
        error = map_exception(exc, base_url)
    except BaseException:
        response.close()
        raise
    if error is not None:
        response.close()
        raise error  # outside the except block: no chained aiohttp error
    response.release()
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


# -- aiohttp hooks ---------------------------------------------------------------

# (first_byte, read) of the request each task is sending, read by our
# response class, which aiohttp builds deep inside ClientSession._request.
# Keyed by task rather than a ContextVar, whose set() would leave each task's
# context holding a copy after the request.
_head_timeouts: dict[asyncio.Task[Any] | None, tuple[float | None, float | None]] = {}


class _Protocol(ResponseHandler):
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
        self.set_exception(
            FirstByteTimeout(
                f"no response head from Ollama at {url.origin()} within "
                f"first_byte={first_byte:g} s (Timeout.first_byte); a model "
                "that takes longer to load needs a larger one"
            )
        )

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


class _StaleConnection(aiohttp.ClientConnectionError):
    """A pooled connection received bytes while idle; nothing was sent on it."""


class _Request(aiohttp.ClientRequest):
    """Refuses a pooled connection that carried bytes after its last response
    (a stray or duplicated answer), before anything is written to it."""

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        protocol = conn.protocol
        if protocol is not None and protocol.should_close:
            raise _StaleConnection("connection received bytes while idle")
        response: aiohttp.ClientResponse = await super().send(conn)
        return response


def _check_status(status: int, origin: object) -> None:
    if not 100 <= status <= 599:
        raise RemoteProtocolError(
            f"Ollama at {origin} answered with HTTP status {status}, outside 100-599"
        )


class _Response(aiohttp.ClientResponse):
    """Has the connection's protocol bound the whole response head by
    ``first_byte`` and then the body's silences by ``read``; refuses a status
    outside 100-599."""

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        first_byte, read = _head_timeouts.get(asyncio.current_task(), (None, None))
        protocol = connection.protocol
        if not isinstance(protocol, _Protocol):  # not from our connector
            await super().start(connection)
            _check_status(self.status, self.url.origin())
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
        _check_status(self.status, self.url.origin())
        return self


def _client_timeout(
    t: Timeout, sock_read: float | None = None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for ``t``. No ``sock_read`` by default: on our own
    connections the protocol bounds the head (first_byte) and the body's
    silences (read) itself; see _Protocol."""
    return aiohttp.ClientTimeout(
        total=t.total,
        # aiohttp's `connect` covers the wait for a pooled connection plus
        # connecting; `sock_connect` only the latter.
        connect=None if t.pool is None else t.pool + (t.connect or 0),
        sock_connect=t.connect,
        sock_read=sock_read,
    )


def _abandon(session: aiohttp.ClientSession) -> None:
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


# -- the transport -------------------------------------------------------------


class Transport:
    """Requests to one Ollama base URL through an aiohttp session.

    Without ``session=``, the session is made on first use, on the running
    loop, so a client can be built at module level or in a notebook cell; a
    later loop (a second ``asyncio.run()``) gets a fresh one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str],
        timeout: Timeout,
        limits: Limits,
        follow_redirects: bool = True,
        ssl: _ssl.SSLContext | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.limits = limits
        self.follow_redirects = follow_redirects
        self._ssl: _ssl.SSLContext | bool = True if ssl is None else ssl
        self._proxy = _env_proxy(base_url) if session is None else None
        self._headers = headers
        # One prepared headers mapping per (streamed, content type): aiohttp
        # copies it into each request.
        self._header_sets: dict[tuple[bool, str | None], CIMultiDict[str]] = {}
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        self._own = session is None
        self._session = session
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        if self._closed:
            raise UsageError("this AsyncClient is closed; create a new one")
        if not self._own and self._session is not None and self._session.closed:
            raise UsageError("the aiohttp.ClientSession given to AsyncClient is closed")

    def session(self) -> aiohttp.ClientSession:
        """The session for the running loop, made on first use."""
        self.check_open()
        session = self._session
        if not self._own:
            assert session is not None
            return session
        loop = asyncio.get_running_loop()
        if session is not None and self._loop is loop:
            return session
        if session is not None:
            assert self._loop is not None
            if self._loop.is_running():
                # Its connections belong to a loop that is still serving them.
                raise UsageError(
                    "this AsyncClient is in use on another event loop (another "
                    "thread?); create one client per event loop"
                )
            _abandon(session)
        limits = self.limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            limit_per_host=limits.max_connections_per_host or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=self._ssl,
        )
        # aiohttp takes no protocol class; its factory attribute is the seam.
        protocol = functools.partial(_Protocol, loop=loop)
        connector._factory = protocol  # type: ignore[assignment]
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=_client_timeout(self.timeout),
            request_class=_Request,
            response_class=_Response,
        )
        # aiohttp re-sends GET/HEAD/DELETE once when a kept-alive connection
        # turns out closed; our Retry policy is the one place that decides.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session, self._loop = session, loop
        return session

    def _request_headers(
        self, content_type: str | None, *, stream: bool
    ) -> CIMultiDict[str]:
        key = (stream, content_type)
        headers = self._header_sets.get(key)
        if headers is None:
            headers = CIMultiDict(self._headers)
            headers.setdefault("Accept", _ACCEPT[stream])
            if content_type is not None:
                headers["Content-Type"] = content_type
            self._header_sets[key] = headers
        return headers

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = URL(self.base_url + path, encoded=True)
            if len(self._urls) < 64:  # blob paths vary; keep the cache small
                self._urls[path] = url
        return url

    async def send(
        self,
        method: str,
        path: str,
        body: bytes | AsyncIterable[bytes] | None = None,
        *,
        timeout: Timeout | None = None,
        content_type: str | None = None,
        stream: bool = False,
        idempotent: bool = True,
        model: str = "",
        loads_model: bool = False,
    ) -> Response:
        """Send a request; return the response once its head arrived with a
        status below 400 (after redirects). ``idempotent`` is the retry
        policy's business, not the transport's: nothing is re-sent here.
        ``model`` and ``loads_model`` are routing hints, unused by one host."""
        session = self.session()
        t = timeout or self.timeout
        client_timeout = self._timeouts.get(t)
        if client_timeout is None:
            client_timeout = self._timeouts[t] = _client_timeout(t)
        if body is not None and content_type is None:
            content_type = "application/json"
        headers = self._request_headers(content_type, stream=stream)
        url = self._url(path)
        # A streamed upload cannot be replayed to follow a 307/308.
        redirects = self.follow_redirects and (body is None or isinstance(body, bytes))
        error: OllamaError | None = None
        task = asyncio.current_task()
        _head_timeouts[task] = (t.first_byte, t.read)
        try:
            if self._own:
                response = await self._request(
                    session,
                    method,
                    url,
                    body,
                    headers,
                    client_timeout,
                    redirects=redirects,
                )
            else:
                response = await self._foreign_request(
                    session, method, url, body, headers, t, redirects=redirects
                )
        except asyncio.CancelledError:
            self._pass_on_wakeup()
            if not self._closed_under(task):
                raise
            # aiohttp cancels the calls waiting for a pooled connection when
            # its session closes; the task itself was not cancelled.
            error = UsageError(
                "the AsyncClient was closed while this call waited for a connection"
            )
        except Exception as exc:
            error = self._error(exc, t)
        finally:
            del _head_timeouts[task]
        if error is not None:
            raise error  # outside the except block: no chained aiohttp error
        status = response.status
        if status >= 300:
            await self._raise_for_status(response, status)
        return _SessionResponse(response)

    def _closed_under(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether a CancelledError in ``task`` came from our session closing
        rather than from someone cancelling the task."""
        if task is None or task.cancelling():
            return False
        return self._closed or (self._session is not None and self._session.closed)

    def _pass_on_wakeup(self) -> None:
        """Wake the next call waiting for a connection, if a slot is free.

        aiohttp hands a freed slot to one waiting call; when that call is
        cancelled or times out before it runs, the slot is not passed on, and
        the other waiters sleep until some later release (with no pool
        timeout: forever). Waking one more is harmless: a waiter that finds
        no slot waits again."""
        session = self._session
        connector = session.connector if session is not None else None
        if connector is not None and connector._waiters:
            connector._release_waiter()

    def _error(self, exc: Exception, t: Timeout) -> OllamaError:
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            self._pass_on_wakeup()  # it may have timed out just as it was woken
            if t.pool is not None and self._pool_full():
                return PoolTimeout(
                    f"no free connection to Ollama at {self.base_url} within "
                    f"pool={t.pool:g} s (Timeout.pool); raise "
                    "Limits.max_connections or the pool timeout"
                )
        return map_exception(exc, self.base_url)

    def _pool_full(self) -> bool:
        session = self._session
        connector = session.connector if session is not None else None
        if connector is None or not connector.limit:
            return False
        return len(connector._acquired) >= connector.limit

    async def _request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        body: bytes | AsyncIterable[bytes] | None,
        headers: CIMultiDict[str],
        timeout: aiohttp.ClientTimeout,
        *,
        redirects: bool,
    ) -> aiohttp.ClientResponse:
        while True:
            try:
                return await session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=redirects,
                    max_redirects=_AIOHTTP_MAX_REDIRECTS,
                    proxy=self._proxy,
                )
            except _StaleConnection:
                continue  # nothing went out on it: not a re-send

    async def _foreign_request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        body: bytes | AsyncIterable[bytes] | None,
        headers: CIMultiDict[str],
        t: Timeout,
        *,
        redirects: bool,
    ) -> aiohttp.ClientResponse:
        """A request through a caller's session, which builds plain aiohttp
        responses: the head's deadline covers connecting too (and the wait
        for a pooled connection when ``pool`` is set), and the checks our
        response class makes while reading the head are made here."""
        timeout = _client_timeout(t, sock_read=t.first_byte)
        parts = (t.first_byte, t.connect, t.pool)
        limit = None if t.first_byte is None else sum(p or 0 for p in parts)
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                response = await session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=redirects,
                    max_redirects=_AIOHTTP_MAX_REDIRECTS,
                )
        except TimeoutError:
            if not deadline.expired():
                raise
            raise FirstByteTimeout(
                f"no response head from Ollama at {self.base_url} within "
                f"{limit:g} s (Timeout.first_byte + connect + pool)"
            ) from None
        try:
            _check_status(response.status, self.base_url)
        except RemoteProtocolError:
            response.close()
            raise
        if t.read != t.first_byte:
            # The head is in: from now on `read` bounds the silences.
            connection = response.connection
            protocol = connection.protocol if connection is not None else None
            if protocol is not None:
                protocol.read_timeout = t.read
                if not response.content.is_eof():
                    protocol.start_timeout()
        return response

    async def _raise_for_status(
        self, response: aiohttp.ClientResponse, status: int
    ) -> None:
        if status < 400:
            # A redirect not followed (disabled, or an upload's).
            response.close()
            location = response.headers.get("Location", "")
            raise RemoteProtocolError(
                f"Ollama at {self.base_url} answered {status} (redirect to "
                f"{location[:200]!r}), which was not followed"
                + ("" if self.follow_redirects else " (follow_redirects=False)")
            )
        data = await read_error_body(_SessionResponse(response), self.base_url)
        raise status_error(status, data, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        """Close the session we made (a caller's stays open). Idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is None or not self._own:
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        loop = self._loop
        if loop is current:
            await session.close()
        elif loop is not None and loop.is_running():
            # Its thread closes it.
            asyncio.run_coroutine_threadsafe(session.close(), loop)
        else:
            _abandon(session)
