"""The HTTP layer, and the only module that imports aiohttp: the session (made
lazily on the running loop), timeouts, the pool, status checking, and the
mapping of aiohttp's exceptions onto ours."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
from collections.abc import AsyncIterable, Mapping
from typing import Any, Final

import aiohttp
import msgspec
from multidict import CIMultiDict
from yarl import URL

from ._config import Limits, Timeout
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectTimeout,
    DecodeError,
    NotFoundError,
    OllamaError,
    PermissionDeniedError,
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
)
from ._version import __version__

__all__ = ["Response", "Transport", "map_exception", "user_agent"]

Response = aiohttp.ClientResponse

# An error body is read for its message only; a hostile server cannot make us
# buffer more than this.
_MAX_ERROR_BODY: Final = 64 * 1024

_STATUS_ERRORS: Final[dict[int, type[StatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    503: ServerBusyError,
}


class _ErrorBody(msgspec.Struct):
    error: str


_decode_error_body = msgspec.json.Decoder(_ErrorBody).decode


def user_agent() -> str:
    """``ollama-async/<ver> (<arch> <os>) Python/<ver>``, shaped like the
    official client's."""
    return (
        f"ollama-async/{__version__} "
        f"({platform.machine()} {platform.system().lower()}) "
        f"Python/{platform.python_version()}"
    )


def default_headers(headers: Mapping[str, str] | None) -> CIMultiDict[str]:
    """The caller's headers over ours; ``OLLAMA_API_KEY`` becomes a bearer token
    unless the caller set ``Authorization``."""
    merged: CIMultiDict[str] = CIMultiDict(
        {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": user_agent(),
        }
    )
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise RequestError(f"header {name!r} must map a str to a str")
        if any(c in name + value for c in "\r\n\0"):
            raise RequestError(f"header {name!r} contains CR, LF or NUL")
        merged[name] = value
    api_key = os.environ.get("OLLAMA_API_KEY")
    if api_key and "Authorization" not in merged:
        merged["Authorization"] = f"Bearer {api_key}"
    return merged


def client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for ``timeout``; ``sock_read`` covers the wait for the
    headers, and is switched to ``read`` once they arrived."""
    # Always a full ClientTimeout: bare defaults differ between aiohttp 3 and 4.
    return aiohttp.ClientTimeout(
        total=timeout.total,
        connect=None,
        sock_connect=timeout.connect,
        sock_read=timeout.first_byte,
        ceil_threshold=5,
    )


def status_error(status: int, body: bytes, retry_after: str | None) -> StatusError:
    """The exception for an HTTP error status: the JSON ``error`` message when
    there is one, else the body's text, else the status's reason."""
    try:
        message = _decode_error_body(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        message = body.decode("utf-8", "replace").strip()
    if not message:
        from http import HTTPStatus

        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = f"HTTP {status}"
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else StatusError)
    return cls(message, status, body=body, retry_after=_retry_after(retry_after))


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        import datetime

        seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return max(seconds, 0.0) if seconds == seconds else None


def map_exception(exc: BaseException, base_url: str) -> OllamaError:
    """Our exception for one raised by aiohttp (or the loop) during a call."""
    if isinstance(exc, OllamaError):
        return exc
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout(f"timed out connecting to Ollama at {base_url}")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return ReadTimeout(f"timed out waiting for data from Ollama at {base_url}")
    if isinstance(exc, asyncio.TimeoutError):
        return TotalTimeout(
            f"the call to Ollama at {base_url} exceeded its total timeout"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(
            f"cannot connect to Ollama at {base_url} ({exc.os_error.strerror or exc}). "
            "Is it running? Start it with `ollama serve`, or set OLLAMA_HOST to its "
            "address (https://ollama.com/download)."
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return RequestError(f"invalid URL: {exc}")
    if isinstance(
        exc,
        aiohttp.ClientConnectionError
        | aiohttp.ClientPayloadError
        | aiohttp.ClientResponseError,
    ):
        return RemoteProtocolError(
            f"the connection to Ollama at {base_url} broke mid-response: {exc}"
        )
    return TransportError(f"HTTP error talking to Ollama at {base_url}: {exc!r}")


class Transport:
    """Owns the aiohttp session for one base URL.

    The session is made on first use, on the running loop, so a client can be
    built at module level or in a notebook cell. A caller's own session is used
    as given and never closed by us.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: CIMultiDict[str],
        timeout: Timeout,
        limits: Limits,
        session: aiohttp.ClientSession | None = None,
        follow_redirects: bool = True,
    ) -> None:
        self.base_url = base_url
        self.headers = headers
        self.timeout = timeout
        self.limits = limits
        self.follow_redirects = follow_redirects
        self._client_timeout = client_timeout(timeout)
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._urls: dict[str, URL] = {}

    @property
    def closed(self) -> bool:
        return self._closed

    def url(self, path: str) -> URL:
        """The absolute URL of an API path, parsed once."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.base_url + path, encoded=True)
        return url

    def session(self) -> aiohttp.ClientSession:
        """The session for the running loop, made on first use."""
        if self._closed:
            raise UsageError("this AsyncClient is closed; create a new one")
        session = self._session
        if session is not None and (not self._owns_session or self._loop_is_current()):
            return session
        return self._open_session()

    def _loop_is_current(self) -> bool:
        return self._loop is asyncio.get_running_loop()

    def _open_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        old = self._session
        if old is not None and not old.closed:
            # The client moved to a new loop (e.g. a second asyncio.run()); the
            # old session's connections belong to a loop that cannot run them.
            _abandon(old)
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            limit_per_host=self.limits.max_connections_per_host or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self.headers,
            timeout=self._client_timeout,
            # Ollama sets no cookies; a dummy jar skips per-request cookie work.
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )
        self._loop = loop
        return self._session

    async def send(
        self,
        method: str,
        path: str,
        body: bytes | AsyncIterable[bytes] | None = None,
        *,
        timeout: Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a request; return the response once its headers arrived with a
        status below 400. Every failure is raised as our own exception."""
        session = self.session()
        effective = timeout or self.timeout
        try:
            response = await session.request(
                method,
                self.url(path),
                data=body,
                headers=headers,
                timeout=self._client_timeout
                if timeout is None
                else client_timeout(timeout),
                allow_redirects=self.follow_redirects,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise map_exception(exc, self.base_url) from exc
        if effective.read != effective.first_byte:
            # The headers are in: from now on, `read` bounds the silences.
            connection = response.connection
            protocol = connection.protocol if connection is not None else None
            if protocol is not None:
                protocol.read_timeout = effective.read
                if not response.content.is_eof():
                    # Re-arm now: the pending timer still runs on `first_byte`,
                    # and the next data may be exactly what never comes.
                    protocol.start_timeout()
        if response.status >= 400:
            await self._raise_for_status(response)
        return response

    async def _raise_for_status(self, response: Response) -> None:
        pieces: list[bytes] = []
        size = 0
        try:
            while size < _MAX_ERROR_BODY and (
                piece := await response.content.readany()
            ):
                pieces.append(piece)
                size += len(piece)
        except asyncio.CancelledError:
            response.close()
            raise
        except Exception:
            pass  # the status alone still makes a useful error
        response.close()
        body = b"".join(pieces)[:_MAX_ERROR_BODY]
        raise status_error(response.status, body, response.headers.get("Retry-After"))

    async def read_body(self, response: Response, *, limit: int) -> bytes:
        """The whole body of a response; more than ``limit`` bytes raise."""
        content = response.content
        pieces: list[bytes] = []
        size = 0
        try:
            while piece := await content.readany():
                size += len(piece)
                if size > limit:
                    response.close()
                    raise DecodeError(
                        f"response body larger than max_body_size={limit} bytes",
                        data=(pieces[0] if pieces else piece)[:200],
                    )
                pieces.append(piece)
        except asyncio.CancelledError:
            response.close()
            raise
        except OllamaError:
            raise
        except Exception as exc:
            response.close()
            raise map_exception(exc, self.base_url) from exc
        response.release()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def aclose(self) -> None:
        """Close the session if it is ours. Idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is None or not self._owns_session or session.closed:
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            _abandon(session)
            return
        await session.close()


def _abandon(session: aiohttp.ClientSession) -> None:
    """Drop a session whose loop is gone (e.g. after an earlier
    ``asyncio.run()``), closing its sockets without that loop and without the
    "Unclosed client session" warning."""
    connector = session.connector
    if connector is not None:
        for protocol in _protocols(connector):
            transport = protocol.transport
            if transport is None:
                continue
            try:
                transport.abort()
            except RuntimeError:
                # The loop is closed, so abort() could not schedule its own
                # cleanup; run it here to close the socket.
                lost = getattr(transport, "_call_connection_lost", None)
                if lost is not None:
                    with contextlib.suppress(Exception):
                        lost(None)
        connector._close()
    session.detach()


def _protocols(connector: aiohttp.BaseConnector) -> list[Any]:
    # aiohttp keeps idle connections in `_conns` and busy ones in `_acquired`;
    # both are private, hence the defensive getattr.
    idle = getattr(connector, "_conns", {})
    protocols = [protocol for entries in idle.values() for protocol, _ in entries]
    protocols.extend(getattr(connector, "_acquired", ()))
    return protocols
