"""What the client sees of a response, and reading one whole: the
:class:`Response` and :class:`BaseTransport` protocols that streams, calls and
the multi-host router are written against, aiohttp's response behind the
first, and reading a whole body (bounded) or an error body (for its message).

Failures while reading become ours through ``_failures``; nothing here maps
a status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Mapping
from typing import Any, Final, Protocol

import aiohttp

from .._config import Timeout
from .._errors import DecodeError, OllamaError
from ._failures import map_exception

__all__ = [
    "MAX_ERROR_BODY",
    "BaseTransport",
    "Response",
    "SessionResponse",
    "read_body",
    "read_error_body",
]

# An error body is read for its message only; a hostile server cannot make us
# buffer more than this.
MAX_ERROR_BODY: Final = 64 * 1024


class Response(Protocol):
    """What streams and calls need of a response, whichever transport made it.
    ``readany`` may raise aiohttp's exceptions: readers turn them into ours
    with ``map_failure``, which names the host that sent this response (with
    several hosts, the one that answered)."""

    status: int

    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def base_url(self) -> str:
        """The host that answered."""

    async def readany(self) -> bytes: ...
    def at_eof(self) -> bool: ...
    def release(self) -> Any: ...
    def close(self) -> None: ...
    def map_failure(self, exc: BaseException) -> OllamaError: ...


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


class SessionResponse:
    """An aiohttp response behind our :class:`Response` interface.
    ``readany`` is aiohttp's own bound method, so reading costs no extra
    call; the rest, called once per response, go through."""

    __slots__ = (
        "_response",
        "_source",
        "_timeout",
        "base_url",
        "headers",
        "readany",
        "status",
    )

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        base_url: str,
        source: str | None = None,
        timeout: Timeout | None = None,
    ) -> None:
        self._response = response
        self.base_url = base_url
        self._source = source
        self._timeout = timeout
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.readany = response.content.readany

    def at_eof(self) -> bool:
        return self._response.content.is_eof()

    def release(self) -> None:
        self._response.release()

    def close(self) -> None:
        self._response.close()

    def map_failure(self, exc: BaseException) -> OllamaError:
        return map_exception(exc, self.base_url, self._source, self._timeout)


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
    if size >= MAX_ERROR_BODY and not response.at_eof():
        response.close()  # the rest is not worth reading
    else:
        # release() keeps the connection only if the body ended cleanly: a 404
        # (blob_exists() of a missing blob) need not cost a new connection.
        response.release()
    return b"".join(pieces)[:MAX_ERROR_BODY]


async def read_body(response: Response, limit: int) -> bytes:
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
        error = response.map_failure(exc)
    except BaseException:
        response.close()
        raise
    if error is not None:
        response.close()
        raise error  # outside the except block: no chained aiohttp error
    response.release()
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)
