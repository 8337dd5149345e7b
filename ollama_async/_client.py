"""``AsyncClient``: its lifecycle and one short method per endpoint. Arguments
are checked and encoded here, before anything is sent; HTTP goes through
``_transport``, streams through ``_stream``."""

from __future__ import annotations

import asyncio
import copy
import enum
import hashlib
import operator
import re
import ssl as _ssl
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final, Literal, Self, TypeVar, overload

import msgspec

from . import _convert as conv
from ._aggregate import fold_chat, fold_generate, fold_progress
from ._batch import Batch, ClientFn, Items, ReqT, RespT, chat_request, run_batch
from ._config import Limits, Timeout, resolve_host
from ._errors import DecodeError, NotFoundError, RequestError
from ._lines import DEFAULT_MAX_LINE_SIZE
from ._retry import Retry, call_with_retries, logger
from ._stream import Stream, raise_for_line
from ._tools import ChunkCallback, ToolLoopResult, run_tool_loop
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
    ChatRequest,
    ChatResponse,
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbedRequest,
    EmbedResponse,
    GenerateRequest,
    GenerateResponse,
    ListModel,
    ListResponse,
    Message,
    Options,
    ProcessModel,
    ProcessResponse,
    ProgressResponse,
    PullRequest,
    PushRequest,
    ShowRequest,
    ShowResponse,
    StatusResponse,
    Tool,
    VersionResponse,
    WebFetchRequest,
    WebFetchResponse,
    WebSearchRequest,
    WebSearchResponse,
)

__all__ = ["AsyncClient"]

T = TypeVar("T")

DEFAULT_MAX_BODY_SIZE: Final = 256 * 1024 * 1024
_BLOB_CHUNK: Final = 1024 * 1024
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

_encode = msgspec.json.Encoder().encode
_decode_chat = msgspec.json.Decoder(ChatResponse).decode
_decode_generate = msgspec.json.Decoder(GenerateResponse).decode
_decode_progress = msgspec.json.Decoder(ProgressResponse).decode
_decode_embed = msgspec.json.Decoder(EmbedResponse).decode
_decode_embeddings = msgspec.json.Decoder(EmbeddingsResponse).decode
_decode_show = msgspec.json.Decoder(ShowResponse).decode
_decode_version = msgspec.json.Decoder(VersionResponse).decode
_decode_web_search = msgspec.json.Decoder(WebSearchResponse).decode
_decode_web_fetch = msgspec.json.Decoder(WebFetchResponse).decode
_is_done: Callable[[Any], bool] = operator.attrgetter("done")


def _is_success(progress: ProgressResponse) -> bool:
    return progress.status == "success"


class _ListWire(msgspec.Struct):
    # Old servers send `"models": null` for an empty list.
    models: list[ListModel] | None = None


class _ProcessWire(msgspec.Struct):
    models: list[ProcessModel] | None = None


_decode_list = msgspec.json.Decoder(_ListWire).decode
_decode_ps = msgspec.json.Decoder(_ProcessWire).decode


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


class AsyncClient:
    """An asyncio client for one Ollama server.

    ::

        async with AsyncClient() as client:
            hi = [{"role": "user", "content": "Hi"}]
            reply = await client.chat("llama3.2", messages=hi)
            print(reply.message.content)

    ``host`` defaults to ``$OLLAMA_HOST``, then ``http://127.0.0.1:11434``.
    ``OLLAMA_API_KEY`` becomes ``Authorization: Bearer ...`` unless ``headers``
    set one. The client can be created outside a running loop; its
    connection pool is made on first use, on the running loop. Pass
    ``session=`` to send through your own ``aiohttp.ClientSession`` instead
    (proxies, tracing); it is then yours to close, and ``limits`` and ``ssl``
    are its connector's business.

    Args:
        timeout: a :class:`Timeout`, a number of seconds for every phase, or
            ``None`` for no timeouts at all.
        limits: connection pool limits.
        max_line_size: longest accepted stream line, in bytes.
        max_body_size: longest accepted non-streamed body, in bytes.
        ssl: the TLS context for an ``https://`` host, e.g. one that trusts a
            private CA (``ssl.create_default_context(cafile=...)``); by
            default certificates are verified against the system's CAs.
            Unused for ``http://`` hosts and with ``session=`` (configure the
            session's connector instead).
        dangerously_skip_tls_verify: accept any certificate from an
            ``https://`` host. Anyone on the path can then read and change
            the traffic, API key included; use a private CA with ``ssl=``
            instead. A warning is logged once per client.
        retry: when to retry calls that failed before anything reached you
            (see :class:`Retry`); ``None`` never retries.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = Timeout(),  # noqa: B008 - frozen value
        limits: Limits = Limits(),  # noqa: B008 - frozen value
        session: aiohttp.ClientSession | None = None,
        follow_redirects: bool = True,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        retry: Retry | None = Retry(),  # noqa: B008 - frozen value
        ssl: _ssl.SSLContext | None = None,
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
        if dangerously_skip_tls_verify:
            if ssl is not None:
                raise ValueError("pass ssl= or dangerously_skip_tls_verify, not both")
            ssl = _ssl.create_default_context()
            ssl.check_hostname = False
            ssl.verify_mode = _ssl.CERT_NONE
            logger.warning(
                "TLS certificate verification is disabled for %s "
                "(dangerously_skip_tls_verify=True)",
                base_url,
            )
        self._transport: BaseTransport
        if session is None:
            self._transport = Transport(
                base_url,
                headers=default_headers(headers),
                timeout=Timeout.of(timeout),
                limits=limits,
                follow_redirects=follow_redirects,
                ssl=ssl,
            )
        else:
            from ._aiohttp import SessionTransport  # imports aiohttp

            self._transport = SessionTransport(
                base_url,
                session,
                headers=default_headers(headers),
                timeout=Timeout.of(timeout),
                follow_redirects=follow_redirects,
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

        async def attempt() -> bytes:
            response = await send(method, path, body, timeout=t, idempotent=idempotent)
            return await read_body(response, limit)

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

    # -- generate / chat -------------------------------------------------------

    @overload
    def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        system: str | None = None,
        template: str | None = None,
        context: Sequence[int] | None = None,
        stream: Literal[False] = False,
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        raw: bool | None = None,
        format: FormatArg | None = None,
        images: Sequence[conv.ImageInput] | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        steps: int | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, GenerateResponse]: ...
    @overload
    def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        system: str | None = None,
        template: str | None = None,
        context: Sequence[int] | None = None,
        stream: Literal[True],
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        raw: bool | None = None,
        format: FormatArg | None = None,
        images: Sequence[conv.ImageInput] | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        steps: int | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[GenerateResponse]: ...
    @overload
    def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        system: str | None = None,
        template: str | None = None,
        context: Sequence[int] | None = None,
        stream: bool,
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        raw: bool | None = None,
        format: FormatArg | None = None,
        images: Sequence[conv.ImageInput] | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        steps: int | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, GenerateResponse] | Stream[GenerateResponse]: ...
    def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        system: str | None = None,
        template: str | None = None,
        context: Sequence[int] | None = None,
        stream: bool = False,
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        raw: bool | None = None,
        format: FormatArg | None = None,
        images: Sequence[conv.ImageInput] | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        steps: int | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, GenerateResponse] | Stream[GenerateResponse]:
        """Generate a completion for ``prompt``.

        With ``stream=False`` (the default) this is awaited to the whole
        :class:`GenerateResponse`; with ``stream=True`` it returns a
        :class:`Stream` of chunks. An empty prompt loads the model; add
        ``keep_alive=0`` to unload it.
        """
        if context is not None and (
            isinstance(context, str | bytes)
            or not all(isinstance(t, int) and not isinstance(t, bool) for t in context)
        ):
            raise RequestError("context must be a list of ints")
        body = _encode(
            GenerateRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                prompt=conv.check_str("prompt", prompt),
                suffix=conv.check_str("suffix", suffix),
                system=conv.check_str("system", system),
                template=conv.check_str("template", template),
                context=conv.opt(None if context is None else list(context)),
                raw=conv.bool_arg("raw", raw),
                images=conv.images_arg(images),
                format=conv.format_arg(format),
                options=conv.options_arg(options),
                keep_alive=conv.keep_alive_arg(keep_alive),
                think=conv.think_arg(think),
                truncate=conv.bool_arg("truncate", truncate),
                shift=conv.bool_arg("shift", shift),
                logprobs=conv.bool_arg("logprobs", logprobs),
                top_logprobs=conv.int_arg("top_logprobs", top_logprobs, 0, 20),
                width=conv.int_arg("width", width, 1, 1 << 16),
                height=conv.int_arg("height", height, 1, 1 << 16),
                steps=conv.int_arg("steps", steps, 1, 1 << 16),
            )
        )
        if stream:
            return self._stream(
                "/api/generate",
                body,
                _decode_generate,
                _is_done,
                fold_generate,
                timeout,
            )
        return self._call("POST", "/api/generate", body, _decode_generate, timeout)

    @overload
    def chat(
        self,
        model: str = "",
        messages: Sequence[MessageArg] | None = None,
        *,
        tools: Sequence[ToolArg] | None = None,
        stream: Literal[False] = False,
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        format: FormatArg | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ChatResponse]: ...
    @overload
    def chat(
        self,
        model: str = "",
        messages: Sequence[MessageArg] | None = None,
        *,
        tools: Sequence[ToolArg] | None = None,
        stream: Literal[True],
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        format: FormatArg | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[ChatResponse]: ...
    @overload
    def chat(
        self,
        model: str = "",
        messages: Sequence[MessageArg] | None = None,
        *,
        tools: Sequence[ToolArg] | None = None,
        stream: bool,
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        format: FormatArg | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ChatResponse] | Stream[ChatResponse]: ...
    def chat(
        self,
        model: str = "",
        messages: Sequence[MessageArg] | None = None,
        *,
        tools: Sequence[ToolArg] | None = None,
        stream: bool = False,
        think: ThinkArg | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        format: FormatArg | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ChatResponse] | Stream[ChatResponse]:
        """Answer a conversation.

        With ``stream=False`` (the default) this is awaited to the whole
        :class:`ChatResponse`; with ``stream=True`` it returns a
        :class:`Stream` of chunks. Messages, options and tools may be typed
        values or plain dicts. No messages loads the model; add
        ``keep_alive=0`` to unload it.
        """
        body = _encode(
            ChatRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                messages=conv.messages_arg(messages),
                tools=conv.tools_arg(tools),
                format=conv.format_arg(format),
                options=conv.options_arg(options),
                keep_alive=conv.keep_alive_arg(keep_alive),
                think=conv.think_arg(think),
                truncate=conv.bool_arg("truncate", truncate),
                shift=conv.bool_arg("shift", shift),
                logprobs=conv.bool_arg("logprobs", logprobs),
                top_logprobs=conv.int_arg("top_logprobs", top_logprobs, 0, 20),
            )
        )
        if stream:
            return self._stream(
                "/api/chat", body, _decode_chat, _is_done, fold_chat, timeout
            )
        return self._call("POST", "/api/chat", body, _decode_chat, timeout)

    # -- embeddings ------------------------------------------------------------

    async def embed(
        self,
        model: str = "",
        input: str | Sequence[str] = "",
        truncate: bool | None = None,  # noqa: FBT001 - the official signature
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        dimensions: int | None = None,
        *,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> EmbedResponse:
        """Embed one text or a list of texts (one normalised vector each)."""
        if not isinstance(input, str):
            items: object = input  # callers may pass anything at run time
            if not isinstance(items, list | tuple) or not all(
                isinstance(item, str) for item in items
            ):
                raise RequestError("input must be a str or a list of str")
            input = list(items)
        body = _encode(
            EmbedRequest(
                model=conv.model_arg(model),
                input=input,
                truncate=conv.bool_arg("truncate", truncate),
                dimensions=conv.int_arg("dimensions", dimensions, 1, 1 << 20),
                options=conv.options_arg(options),
                keep_alive=conv.keep_alive_arg(keep_alive),
            )
        )
        return await self._call("POST", "/api/embed", body, _decode_embed, timeout)

    async def embeddings(
        self,
        model: str = "",
        prompt: str | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        *,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> EmbeddingsResponse:
        """Legacy single embedding (not normalised); prefer :meth:`embed`."""
        body = _encode(
            EmbeddingsRequest(
                model=conv.model_arg(model),
                prompt=conv.check_str("prompt", prompt),
                options=conv.options_arg(options),
                keep_alive=conv.keep_alive_arg(keep_alive),
            )
        )
        return await self._call(
            "POST", "/api/embeddings", body, _decode_embeddings, timeout
        )

    # -- pull / push / create --------------------------------------------------

    def _progress(
        self,
        path: str,
        body: bytes,
        *,
        stream: bool,
        timeout: TimeoutArg,
        idempotent: bool = True,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        if stream:
            return self._stream(
                path,
                body,
                _decode_progress,
                _is_success,
                fold_progress,
                timeout,
                idempotent=idempotent,
            )
        return self._call(
            "POST", path, body, _decode_progress, timeout, idempotent=idempotent
        )

    @overload
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[False] = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[True],
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[ProgressResponse]: ...
    @overload
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]: ...
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        """Download a model from its registry, with progress lines when
        streamed; the last one has ``status == "success"``."""
        body = _encode(
            PullRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                insecure=conv.bool_arg("insecure", insecure or None),
            )
        )
        return self._progress("/api/pull", body, stream=stream, timeout=timeout)

    @overload
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[False] = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[True],
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[ProgressResponse]: ...
    @overload
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]: ...
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        """Upload a model (``namespace/model:tag``) to its registry."""
        body = _encode(
            PushRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                insecure=conv.bool_arg("insecure", insecure or None),
            )
        )
        return self._progress(
            "/api/push", body, stream=stream, timeout=timeout, idempotent=False
        )

    @overload
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: Literal[False] = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: Literal[True],
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[ProgressResponse]: ...
    @overload
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: bool,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]: ...
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: bool = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        """Create a model from an existing one (``from_``) or from uploaded
        blobs (``files``: file name -> ``sha256:`` digest, see
        :meth:`create_blob`)."""
        if from_ is None and files is None:
            raise RequestError("create needs from_ (a model) or files (blob digests)")
        if license is not None and not isinstance(license, str):
            license = list(license)
        body = _encode(
            CreateRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                from_=conv.opt(
                    None if from_ is None else conv.model_arg(from_, "from_")
                ),
                files=conv.opt(_digests("files", files)),
                adapters=conv.opt(_digests("adapters", adapters)),
                template=conv.check_str("template", template),
                license=conv.opt(license),
                system=conv.check_str("system", system),
                parameters=conv.options_arg(parameters, "parameters"),
                messages=conv.messages_arg(messages),
                quantize=conv.check_str("quantize", quantize),
            )
        )
        return self._progress(
            "/api/create", body, stream=stream, timeout=timeout, idempotent=False
        )

    # -- blobs -----------------------------------------------------------------

    async def blob_exists(
        self, digest: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> bool:
        """Whether the server has the blob ``sha256:<64 hex>``."""
        path = f"/api/blobs/{_digest(digest)}"
        try:
            await self._call_empty("HEAD", path, None, timeout)
        except NotFoundError:
            return False
        return True

    async def create_blob(
        self, path: str | Path, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> str:
        """Upload a file as a blob unless the server has it; return its digest.

        The file is hashed and uploaded in 1 MiB pieces, never held in memory.
        """
        file = Path(path)
        digest = await asyncio.to_thread(_sha256, file)
        if await self.blob_exists(digest, timeout=timeout):
            return digest
        response = await self._transport.send(
            "POST",
            f"/api/blobs/{digest}",
            _file_pieces(file),
            timeout=self._timeout(timeout),
            content_type="application/octet-stream",
            idempotent=False,
        )
        await read_body(response, self._max_body_size)
        return digest

    # -- model management ------------------------------------------------------

    async def list(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> ListResponse:
        """The installed models (``GET /api/tags``)."""
        wire = await self._call("GET", "/api/tags", None, _decode_list, timeout)
        return ListResponse(models=wire.models or [])

    async def show(
        self,
        model: str,
        *,
        verbose: bool | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> ShowResponse:
        """Details of a model: Modelfile, parameters, template, capabilities."""
        body = _encode(
            ShowRequest(
                model=conv.model_arg(model), verbose=conv.bool_arg("verbose", verbose)
            )
        )
        return await self._call("POST", "/api/show", body, _decode_show, timeout)

    async def copy(
        self, source: str, destination: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> StatusResponse:
        """Copy a model under a new name."""
        body = _encode(
            CopyRequest(
                source=conv.model_arg(source, "source"),
                destination=conv.model_arg(destination, "destination"),
            )
        )
        await self._call_empty("POST", "/api/copy", body, timeout, idempotent=False)
        return StatusResponse(status="success")

    async def delete(
        self, model: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> StatusResponse:
        """Delete a model."""
        body = _encode(DeleteRequest(model=conv.model_arg(model)))
        await self._call_empty("DELETE", "/api/delete", body, timeout, idempotent=False)
        return StatusResponse(status="success")

    async def ps(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> ProcessResponse:
        """The models loaded in memory."""
        wire = await self._call("GET", "/api/ps", None, _decode_ps, timeout)
        return ProcessResponse(models=wire.models or [])

    async def version(
        self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> VersionResponse:
        """The server's version."""
        return await self._call("GET", "/api/version", None, _decode_version, timeout)

    # -- tool loop -------------------------------------------------------------

    async def chat_with_tools(
        self,
        model: str,
        messages: Sequence[MessageArg],
        *,
        tools: Sequence[ToolArg],
        max_rounds: int = 10,
        raise_tool_errors: bool = False,
        on_chunk: ChunkCallback | None = None,
        think: ThinkArg | None = None,
        format: FormatArg | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> ToolLoopResult:
        """Chat, running the tools the model calls, until it answers in words.

        Each round sends the conversation; when the answer has ``tool_calls``
        they run (async tools concurrently, sync ones in threads) and their
        results go back as ``role="tool"`` messages with ``tool_name`` and
        ``tool_call_id``. A tool that raises sends ``"Error: ..."`` to the
        model instead, unless ``raise_tool_errors``. Functions in ``tools`` are
        described and run; dict or ``Tool`` definitions are only described (a
        call of one is answered with an error).

        Args:
            max_rounds: chat requests allowed; the last must be a final answer.
            on_chunk: streams every round and passes each chunk to this
                (sync or async) callback, e.g. to print the text as it comes.

        Raises:
            MaxToolRoundsError: the model still called tools in round
                ``max_rounds``; it carries the conversation so far.
        """
        return await run_tool_loop(
            self,
            model,
            messages,
            tools=tools,
            max_rounds=max_rounds,
            raise_tool_errors=raise_tool_errors,
            on_chunk=on_chunk,
            chat_kwargs={
                "think": think,
                "format": format,
                "options": options,
                "keep_alive": keep_alive,
                "timeout": timeout,
            },
        )

    # -- ollama.com ------------------------------------------------------------

    web_url: str = "https://ollama.com"
    """Base URL of :meth:`web_search` and :meth:`web_fetch` (ollama.com, as in
    the official client); set it on a client to use a fake in tests."""

    async def _web_call(
        self,
        path: str,
        body: bytes,
        decode: Callable[[bytes], T],
        api_key: str | None,
        timeout: TimeoutArg,
    ) -> T:
        authorization = conv.web_authorization(path.rpartition("/")[2], api_key)
        web_url = resolve_host(self.web_url)
        async with AsyncClient(
            web_url,
            headers={"Authorization": authorization},
            timeout=self._timeout(timeout) or self.timeout,
        ) as web:
            return await web._call("POST", path, body, decode, USE_CLIENT_DEFAULT)

    async def web_search(
        self,
        query: str,
        max_results: int = 3,
        *,
        api_key: str | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> WebSearchResponse:
        """Search the web through ollama.com's API.

        The key is ``api_key``, else ``$OLLAMA_API_KEY``. Requests go to
        :attr:`web_url` (``https://ollama.com``) on a connection of their own,
        whatever the client's host.

        Raises:
            RequestError: no API key, an empty query, or ``max_results``
                outside 1-10; nothing was sent.
        """
        if not isinstance(query, str) or not query.strip():
            raise RequestError("web_search needs a non-empty query")
        body = _encode(
            WebSearchRequest(
                query=query,
                max_results=conv.int_arg("max_results", max_results, 1, 10),
            )
        )
        return await self._web_call(
            "/api/web_search", body, _decode_web_search, api_key, timeout
        )

    async def web_fetch(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> WebFetchResponse:
        """Fetch a web page as text (title, content, links) through ollama.com's
        API; the key as for :meth:`web_search`."""
        if not isinstance(url, str) or not url.strip():
            raise RequestError("web_fetch needs a URL")
        body = _encode(WebFetchRequest(url=url))
        return await self._web_call(
            "/api/web_fetch", body, _decode_web_fetch, api_key, timeout
        )

    # -- batches ---------------------------------------------------------------

    @overload
    def batch(
        self,
        requests: Items[Mapping[str, Any]],
        fn: None = None,
        *,
        concurrency: int = 16,
        ordered: bool = False,
        window: int | None = None,
        stop_on_error: bool = False,
        progress: bool | Mapping[str, Any] = False,
        total: int | None = None,
    ) -> Batch[Mapping[str, Any], ChatResponse]: ...
    @overload
    def batch(
        self,
        requests: Items[ReqT],
        fn: ClientFn[ReqT, RespT],
        *,
        concurrency: int = 16,
        ordered: bool = False,
        window: int | None = None,
        stop_on_error: bool = False,
        progress: bool | Mapping[str, Any] = False,
        total: int | None = None,
    ) -> Batch[ReqT, RespT]: ...
    def batch(
        self,
        requests: Items[Any],
        fn: ClientFn[Any, Any] | None = None,
        *,
        concurrency: int = 16,
        ordered: bool = False,
        window: int | None = None,
        stop_on_error: bool = False,
        progress: bool | Mapping[str, Any] = False,
        total: int | None = None,
    ) -> Batch[Any, Any]:
        """Run many requests, at most ``concurrency`` at a time, as they come.

        Each request is a mapping of :meth:`chat` keyword arguments, or
        whatever ``fn(client, request)`` takes. Results (``index``,
        ``request``, ``response`` or ``error``) come out as they complete, or
        in input order with ``ordered=True``; see :func:`run_batch` for the
        options. Leave it with ``async with`` so a ``break`` cancels the rest::

            requests = ({"model": "llama3.2", "messages": [m]} for m in msgs)
            async with client.batch(requests, concurrency=8) as batch:
                async for result in batch:
                    print(result.index, result.result().message.content)
        """
        return run_batch(
            requests,
            partial(fn or chat_request, self),
            concurrency=concurrency,
            ordered=ordered,
            window=window,
            stop_on_error=stop_on_error,
            progress=progress,
            total=total,
        )


def _digest(digest: Any) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise RequestError(
            f"a blob digest must look like 'sha256:<64 hex>', got {digest!r}"
        )
    return digest


def _digests(name: str, files: Mapping[str, str] | None) -> dict[str, str] | None:
    if files is None:
        return None
    if not isinstance(files, Mapping):
        raise RequestError(f"{name} must map file names to blob digests")
    for file_name, digest in files.items():
        if not isinstance(file_name, str) or not file_name:
            raise RequestError(f"{name} keys must be file names")
        _digest(digest)
    return dict(files)


def _sha256(path: Path) -> str:
    if not path.is_file():
        raise RequestError(f"no such file: {str(path)!r}")
    sha = hashlib.sha256()
    with path.open("rb") as file:
        while piece := file.read(_BLOB_CHUNK):
            sha.update(piece)
    return f"sha256:{sha.hexdigest()}"


async def _file_pieces(path: Path) -> AsyncIterator[bytes]:
    file: IO[bytes] = await asyncio.to_thread(path.open, "rb")
    try:
        while piece := await asyncio.to_thread(file.read, _BLOB_CHUNK):
            yield piece
    finally:
        file.close()
