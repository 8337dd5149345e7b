"""The HTTP layer the client talks to: base URL, default headers, timeouts,
the pool, status checking and redirects, over the lean HTTP/1.1 exchange in
``_http``. A caller's own ``aiohttp.ClientSession`` is served by ``_aiohttp``
instead, behind the same interface. Must not import aiohttp."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
import ssl as _ssl
import sys
from collections.abc import AsyncIterable, Mapping
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Final, Protocol
from urllib.parse import urljoin, urlsplit

from . import _pool
from ._config import Limits, Timeout
from ._errors import (
    AuthenticationError,
    BadRequestError,
    DecodeError,
    NotFoundError,
    OllamaError,
    PermissionDeniedError,
    RateLimitError,
    RemoteProtocolError,
    RequestError,
    ServerBusyError,
    ServerError,
    StatusError,
    TransportError,
    UsageError,
    error_message,
)
from ._version import __version__

__all__ = [
    "BaseTransport",
    "Response",
    "Transport",
    "default_headers",
    "map_exception",
    "status_error",
    "user_agent",
]

# An error body is read for its message only; a hostile server cannot make us
# buffer more than this.
MAX_ERROR_BODY: Final = 64 * 1024
_MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})

_STATUS_ERRORS: Final[dict[int, type[StatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    503: ServerBusyError,
}


class Response(Protocol):
    """What streams and calls need of a response, whichever transport made it."""

    status: int

    @property
    def headers(self) -> Mapping[str, str]: ...
    async def readany(self) -> bytes: ...
    def at_eof(self) -> bool: ...
    def release(self) -> None: ...
    def close(self) -> None: ...


class BaseTransport(Protocol):
    """The interface of :class:`Transport` and the aiohttp-session transport."""

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
    ) -> Response: ...
    async def aclose(self) -> None: ...


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
        if not isinstance(name, str) or not isinstance(value, str):
            raise RequestError(f"header {name!r} must map a str to a str")
        if (
            not name
            or any(c in name for c in " \t:\r\n\0")
            or any(c in value for c in "\r\n\0")
        ):
            raise RequestError(f"header {name!r} has an invalid name or value")
        merged[name.lower()] = (name, value)
    if auth is not None:
        if "authorization" in merged:
            raise ValueError("pass auth= or an Authorization header, not both")
        merged["authorization"] = ("Authorization", _basic_credentials(auth))
    api_key = os.environ.get("OLLAMA_API_KEY")
    if api_key and "authorization" not in merged:
        merged["authorization"] = ("Authorization", f"Bearer {api_key}")
    return dict(merged.values())


def _basic_credentials(auth: object) -> str:
    """``Basic base64(user:password)`` (RFC 7617, UTF-8), as httpx sends for
    ``auth=(user, password)``; e.g. for Ollama behind a reverse proxy that
    asks for a login."""
    if (
        not isinstance(auth, tuple)
        or len(auth) != 2
        or not all(isinstance(part, str) for part in auth)
    ):
        raise TypeError("auth must be a (username, password) tuple of str")
    user, password = auth
    if ":" in user:
        raise ValueError("auth: a username may not contain ':' (RFC 7617)")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


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
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return max(seconds, 0.0) if seconds == seconds else None


def map_exception(exc: BaseException, base_url: str) -> OllamaError:
    """Our exception for an unexpected one raised during a call."""
    if isinstance(exc, OllamaError):
        return exc
    if isinstance(exc, OSError):
        return RemoteProtocolError(
            f"the connection to Ollama at {base_url} failed: {exc}"
        )
    return TransportError(f"HTTP error talking to Ollama at {base_url}: {exc!r}")


async def read_error_body(response: Response) -> bytes:
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
    # release() keeps the connection only if the body ended cleanly: a 404
    # (blob_exists() of a missing blob) need not cost a new connection.
    response.release()
    return b"".join(pieces)[:MAX_ERROR_BODY]


async def read_body(response: Response, limit: int) -> bytes:
    """The whole body of a response; more than ``limit`` bytes raise."""
    pieces: list[bytes] = []
    size = 0
    try:
        while piece := await response.readany():
            size += len(piece)
            if size > limit:
                raise DecodeError(
                    f"response body larger than max_body_size={limit} bytes",
                    data=(pieces[0] if pieces else piece)[:200],
                )
            pieces.append(piece)
    except BaseException:
        response.close()
        raise
    response.release()
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class Transport:
    """Requests to one Ollama base URL over the lean HTTP/1.1 pool.

    The pool is made on first use, on the running loop, so a client can be
    built at module level or in a notebook cell; a later loop (a second
    ``asyncio.run()``) gets a fresh pool.
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
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.limits = limits
        self.follow_redirects = follow_redirects
        url = urlsplit(base_url)
        self._scheme = url.scheme
        self._host = url.hostname or "127.0.0.1"
        if ":" in self._host:
            self._host = f"[{self._host}]"
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._prefix = url.path
        # TLS for https:// only; a context given for an http:// host is unused.
        self._ssl = (ssl or _default_ssl()) if url.scheme == "https" else None
        lines = [f"{k}: {v}" for k, v in headers.items()]
        if not any(k.lower() == "host" for k in headers):
            # A caller's own Host (a virtual host behind a proxy) replaces ours.
            lines.insert(0, f"Host: {self._host}:{self._port}")
        self._static = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._heads: dict[tuple[str, str, str | None, bool, bool], bytes] = {}
        self._pool: _pool.ConnectionPool | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        if self._closed:
            raise UsageError("this AsyncClient is closed; create a new one")

    def _head(
        self,
        method: str,
        path: str,
        content_type: str | None,
        *,
        stream: bool,
        chunked: bool,
    ) -> bytes:
        key = (method, path, content_type, stream, chunked)
        head = self._heads.get(key)
        if head is None:
            accept = "application/x-ndjson" if stream else "application/json"
            head = (
                f"{method} {self._prefix}{path} HTTP/1.1\r\n".encode("latin-1")
                + self._static
                + f"Accept: {accept}\r\n".encode()
                + (
                    f"Content-Type: {content_type}\r\n".encode()
                    if content_type
                    else b""
                )
                + (b"Transfer-Encoding: chunked\r\n" if chunked else b"")
            )
            if len(self._heads) < 64:  # blob paths vary; keep the cache small
                self._heads[key] = head
        return head

    def pool(self) -> _pool.ConnectionPool:
        """The pool for the running loop, made on first use."""
        self.check_open()
        pool = self._pool
        if pool is not None and pool.loop is asyncio.get_running_loop():
            return pool
        if pool is not None:
            if pool.loop.is_running():
                # Its connections belong to a loop that is still serving them.
                raise UsageError(
                    "this AsyncClient is in use on another event loop (another "
                    "thread?); create one client per event loop"
                )
            _abandon(pool)
        limits = self.limits
        maximum = limits.max_connections
        if limits.max_connections_per_host is not None:
            maximum = min(
                maximum or limits.max_connections_per_host,
                limits.max_connections_per_host,
            )
        pool = self._pool = _pool.ConnectionPool(
            self._host,
            self._port,
            ssl=self._ssl,
            max_connections=maximum,
            keepalive_expiry=limits.keepalive_expiry,
        )
        return pool

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
    ) -> Response:
        """Send a request; return the response once its headers arrived with a
        status below 400 (after same-origin redirects)."""
        pool = self.pool()
        t = timeout or self.timeout
        if body is not None and content_type is None:
            content_type = "application/json"
        for _ in range(_MAX_REDIRECTS + 1):
            chunked = body is not None and not isinstance(body, bytes)
            head = self._head(
                method, path, content_type, stream=stream, chunked=chunked
            )
            if isinstance(body, bytes):
                head += b"Content-Length: %d\r\n" % len(body)
            response = await _pool.exchange(
                pool,
                head + b"\r\n",
                body,
                head_request=method == "HEAD",
                connect_timeout=t.connect,
                pool_timeout=t.pool,
                first_byte_timeout=t.first_byte,
                read_timeout=t.read,
                total_timeout=t.total,
                retry_stale=idempotent,
            )
            status = response.status
            if status < 300:
                return response
            if status in _REDIRECTS and self.follow_redirects:
                location = response.headers.get("location")
                target = self._same_origin_path(path, location)
                response.release() if response.at_eof() else response.close()
                if target is None:
                    raise RemoteProtocolError(
                        f"Ollama at {self.base_url} redirected to another origin "
                        f"or an invalid target ({location!r}); not followed, so "
                        "credentials stay here"
                    )
                path = target
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, body, content_type = "GET", None, None
                elif body is not None and not isinstance(body, bytes):
                    raise RemoteProtocolError(
                        f"Ollama at {self.base_url} redirected an upload "
                        f"({location!r}); a streamed body cannot be sent again"
                    )
                continue
            if status >= 400:
                data = await read_error_body(response)
                raise status_error(status, data, response.headers.get("retry-after"))
            return response
        raise RemoteProtocolError(
            f"more than {_MAX_REDIRECTS} redirects from {self.base_url}"
        )

    def _same_origin_path(self, path: str, location: str | None) -> str | None:
        """The path, below our prefix, that ``location`` (relative to the
        request to ``path``) points to if it is on our origin, under our
        prefix and can go on a request line, else None."""
        if not location:
            return None
        target = urlsplit(urljoin(self.base_url + path, location))
        port = target.port or (443 if target.scheme == "https" else 80)
        host = target.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if (target.scheme, host, port) != (self._scheme, self._host, self._port):
            return None
        result = (target.path or "/") + (f"?{target.query}" if target.query else "")
        if any(ord(c) < 33 or ord(c) == 127 for c in result):
            return None  # would break the request line
        if self._prefix:
            if not result.startswith(self._prefix + "/"):
                return None  # every request goes out under the prefix
            result = result[len(self._prefix) :]
        return result

    async def aclose(self) -> None:
        """Close every connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if pool.loop is current:
            pool.close()
        elif pool.loop.is_running():
            pool.loop.call_soon_threadsafe(pool.close)  # its thread closes it
        else:
            _abandon(pool)


def _default_ssl() -> _ssl.SSLContext:
    return _ssl.create_default_context()


def _abandon(pool: _pool.ConnectionPool) -> None:
    """Close a pool whose loop no longer runs (an earlier ``asyncio.run()``,
    a notebook's replaced loop), without that loop's help."""
    for conn in list(pool._all):
        transport = conn.transport
        if transport is None:
            continue
        conn.cancel_timers()
        # abort() would only schedule the socket's closing on a loop that
        # will not run it; run that cleanup here instead.
        lost = getattr(transport, "_call_connection_lost", None)
        if lost is None:
            transport.abort()
            continue
        try:
            lost(None)
        except Exception:
            pass
    pool._all.clear()
    pool._idle.clear()
