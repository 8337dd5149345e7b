"""The transport for a caller's own ``aiohttp.ClientSession`` (proxies,
tracing, custom connectors): same interface as ``_transport.Transport``, with
aiohttp's exceptions mapped onto ours. Imported only when a session is given.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Mapping
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ._config import Timeout
from ._errors import (
    ConnectError,
    ConnectTimeout,
    OllamaError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    TotalTimeout,
    TransportError,
    UsageError,
)
from ._transport import read_error_body, status_error

__all__ = ["SessionTransport", "map_aiohttp_exception"]


def map_aiohttp_exception(exc: BaseException, base_url: str) -> OllamaError:
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


class _SessionResponse:
    """An aiohttp response behind our ``Response`` interface."""

    __slots__ = ("_base_url", "_response", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse, base_url: str) -> None:
        self._response = response
        self._base_url = base_url
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def readany(self) -> bytes:
        try:
            return await self._response.content.readany()
        except OllamaError:
            raise
        except Exception as exc:
            raise map_aiohttp_exception(exc, self._base_url) from exc

    def at_eof(self) -> bool:
        return self._response.content.is_eof()

    def release(self) -> None:
        self._response.release()

    def close(self) -> None:
        self._response.close()


class SessionTransport:
    """Requests through a caller's ``aiohttp.ClientSession``, which we never
    close. The session's own defaults apply; our timeouts are passed per
    request."""

    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession,
        *,
        headers: dict[str, str],
        timeout: Timeout,
        follow_redirects: bool = True,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._session = session
        self._headers = headers
        self._follow_redirects = follow_redirects
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        if self._closed:
            raise UsageError("this AsyncClient is closed; create a new one")
        if self._session.closed:
            raise UsageError("the aiohttp.ClientSession given to AsyncClient is closed")

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
    ) -> _SessionResponse:
        self.check_open()
        t = timeout or self.timeout
        headers = CIMultiDict(self._headers)
        headers["Accept"] = "application/x-ndjson" if stream else "application/json"
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        data: Any = body
        try:
            response = await self._session.request(
                method,
                URL(self.base_url + path, encoded=True),
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(
                    total=t.total,
                    # aiohttp's `connect` covers the wait for a pooled
                    # connection plus connecting; `sock_connect` the latter.
                    connect=None if t.pool is None else t.pool + (t.connect or 0),
                    sock_connect=t.connect,
                    sock_read=t.first_byte,
                ),
                allow_redirects=self._follow_redirects,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise map_aiohttp_exception(exc, self.base_url) from exc
        if t.read != t.first_byte:
            # The headers are in: from now on `read` bounds the silences. The
            # pending timer still runs on `first_byte`, so re-arm it now.
            connection = response.connection
            protocol = connection.protocol if connection is not None else None
            if protocol is not None:
                protocol.read_timeout = t.read
                if not response.content.is_eof():
                    protocol.start_timeout()
        wrapped = _SessionResponse(response, self.base_url)
        if response.status >= 400:
            data = await read_error_body(wrapped)
            raise status_error(
                response.status, data, response.headers.get("Retry-After")
            )
        return wrapped

    async def aclose(self) -> None:
        self._closed = True  # the session is the caller's to close
