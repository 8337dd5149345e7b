"""The part of ``AsyncClient`` every endpoint relies on: configuration, the
lifecycle (lazy pool, ``aclose``), ``with_options``, and the plumbing that
sends a request with retries and timeouts, reads a body, or opens a
``Stream``. The endpoints live in ``_client`` and ``_client_models``."""

from __future__ import annotations

import copy
import enum
import ssl as _ssl
from collections.abc import Callable, Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeVar

import msgspec

from ._config import Limits, Timeout, resolve_host
from ._errors import DecodeError
from ._lines import DEFAULT_MAX_LINE_SIZE
from ._retry import Retry, call_with_retries
from ._stream import Stream, raise_for_line
from ._tls import VerifyArg, tls_context
from ._transport import (
    BaseTransport,
    Transport,
    default_headers,
    map_exception,
    read_body,
)

if TYPE_CHECKING:
    import aiohttp

from .types import (
    Message,
    Options,
    Tool,
)

__all__ = ["DEFAULT_MAX_BODY_SIZE", "USE_CLIENT_DEFAULT", "ClientBase", "TimeoutArg"]

T = TypeVar("T")

DEFAULT_MAX_BODY_SIZE: Final = 256 * 1024 * 1024

_encode = msgspec.json.Encoder().encode


class _UseClientDefault(enum.Enum):
    token = 0


USE_CLIENT_DEFAULT: Final = _UseClientDefault.token
TimeoutArg = Timeout | float | None | _UseClientDefault

MessageArg = Message | Mapping[str, Any]
OptionsArg = Options | Mapping[str, Any]
# A type (Struct, dataclass, pydantic model ...) sends its JSON schema.
FormatArg = Literal["", "json"] | Mapping[str, Any] | type[Any]
ThinkArg = bool | Literal["low", "medium", "high", "max"]
# A function is described from its signature and docstring (see _tools).
ToolArg = Tool | Mapping[str, Any] | Callable[..., Any]


class ClientBase:
    """Configuration, lifecycle and request plumbing shared by every
    endpoint; see :class:`AsyncClient`."""

    def __init__(
        self,
        host: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: Timeout | float | None = Timeout(),  # noqa: B008 - frozen value
        limits: Limits = Limits(),  # noqa: B008 - frozen value
        session: aiohttp.ClientSession | None = None,
        follow_redirects: bool = True,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        retry: Retry | None = Retry(),  # noqa: B008 - frozen value
        ssl: _ssl.SSLContext | None = None,
        verify: VerifyArg = True,
        dangerously_skip_tls_verify: bool = False,
    ) -> None:
        if retry is not None and not isinstance(retry, Retry):
            raise TypeError("retry must be a Retry or None")
        if not isinstance(limits, Limits):
            raise TypeError("limits must be a Limits")
        for name, size in (
            ("max_line_size", max_line_size),
            ("max_body_size", max_body_size),
        ):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"{name} must be a positive int, got {size!r}")
        base_url = resolve_host(host)
        merged_headers = default_headers(headers, auth)
        # Kept for ollama.com's web API when this client talks to ollama.com.
        self._authorization = next(
            (v for k, v in merged_headers.items() if k.lower() == "authorization"),
            None,
        )
        ssl = tls_context(
            ssl=ssl,
            verify=verify,
            skip_verify=dangerously_skip_tls_verify,
            where=base_url,
            session=session is not None,
        )
        self._transport: BaseTransport = Transport(
            base_url,
            headers=merged_headers,
            timeout=Timeout.of(timeout),
            limits=limits,
            follow_redirects=follow_redirects,
            ssl=ssl,
            session=session,
        )
        self._max_line_size = max_line_size
        self._max_body_size = max_body_size
        self._retry = retry
        self._default_timeout: Timeout | None = None  # set by with_options()
        self._map_exception = partial(map_exception, base_url=self._transport.base_url)

    # -- lifecycle -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:11434``."""
        return self._transport.base_url

    @property
    def timeout(self) -> Timeout:
        """The client's default timeouts."""
        return self._default_timeout or self._transport.timeout

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._transport.closed

    async def aclose(self) -> None:
        """Close the connections (unless the session was passed in). Idempotent."""
        await self._transport.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose`, the official client's name."""
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self.is_closed else "open"
        return f"<AsyncClient {self.base_url} ({state})>"

    # -- plumbing --------------------------------------------------------------

    @property
    def retry(self) -> Retry | None:
        """The retry policy of this client (None: no retries)."""
        return self._retry

    def with_options(
        self,
        *,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        retry: Retry | _UseClientDefault | None = USE_CLIENT_DEFAULT,
    ) -> Self:
        """A view of this client with other defaults, sharing its connections
        (closing either closes both)::

            patient = client.with_options(timeout=Timeout(first_byte=900))
            await patient.generate("llama3.3:70b", "Hello")
            await client.with_options(retry=None).chat("llama3.2", msgs)
        """
        clone = copy.copy(self)
        if timeout is not USE_CLIENT_DEFAULT:
            clone._default_timeout = Timeout.of(timeout)
        if retry is not USE_CLIENT_DEFAULT:
            if retry is not None and not isinstance(retry, Retry):
                raise TypeError("retry must be a Retry or None")
            clone._retry = retry
        return clone

    def _timeout(self, timeout: TimeoutArg) -> Timeout | None:
        if timeout is USE_CLIENT_DEFAULT:
            return self._default_timeout
        return Timeout.of(timeout)

    async def _call(
        self,
        method: str,
        path: str,
        body: bytes | None,
        decode: Callable[[bytes], T],
        timeout: TimeoutArg,
        *,
        idempotent: bool = True,
    ) -> T:
        data = await self._exchange(method, path, body, timeout, idempotent=idempotent)
        try:
            return decode(data)
        except (
            msgspec.DecodeError,
            msgspec.ValidationError,
            UnicodeDecodeError,
        ) as exc:
            raise_for_line(data, exc, f"{path} response")
            raise DecodeError(f"empty {path} response") from exc

    async def _call_empty(
        self,
        method: str,
        path: str,
        body: bytes | None,
        timeout: TimeoutArg,
        *,
        idempotent: bool = True,
    ) -> None:
        await self._exchange(method, path, body, timeout, idempotent=idempotent)

    async def _exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        timeout: TimeoutArg,
        *,
        idempotent: bool,
    ) -> bytes:
        """One request and its whole body, retried by the client's policy."""
        send = self._transport.send
        limit = self._max_body_size
        t = self._timeout(timeout)

        base_url = self._transport.base_url

        async def attempt() -> bytes:
            response = await send(method, path, body, timeout=t, idempotent=idempotent)
            return await read_body(response, limit, base_url)

        return await call_with_retries(
            self._retry, attempt, idempotent=idempotent, what=f"{method} {path}"
        )

    def _stream(
        self,
        path: str,
        body: bytes,
        decode: Callable[[bytes], T],
        is_final: Callable[[T], bool],
        fold: Callable[[list[T]], T],
        timeout: TimeoutArg,
        *,
        idempotent: bool = True,
    ) -> Stream[T]:
        transport = self._transport
        transport.check_open()  # a closed client fails here, not at first use
        send = partial(
            transport.send,
            "POST",
            path,
            body,
            timeout=self._timeout(timeout),
            stream=True,
            idempotent=idempotent,
        )
        return Stream(
            # Retries happen only while opening: once a chunk is out, never.
            partial(
                call_with_retries,
                self._retry,
                send,
                idempotent=idempotent,
                what=f"POST {path}",
            ),
            decode=decode,
            is_final=is_final,
            fold=fold,
            map_exception=self._map_exception,
            max_line_size=self._max_line_size,
            what=path.rpartition("/")[2],
        )
