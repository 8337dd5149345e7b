"""``AsyncClient``: one coroutine (or ``Stream``) per Ollama endpoint.

The client is configuration, a lifecycle, and a list of endpoint methods.
Each method checks its arguments (``_args``), builds the request value, and
hands it to the row of the endpoint table (``_endpoints``) that says how to
send, decode, end and fold it; retries (``_retry``), streams (``_stream``) and
the transport (``_transport``) do the rest.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import enum
import re
import ssl as _ssl
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import (
    IO,
    Any,
    Final,
    Literal,
    Self,
    TypeAlias,
    TypedDict,
    TypeVar,
    Unpack,
    overload,
)

import msgspec

from . import _args
from . import _endpoints as api
from ._batch import Batch, Items, run_batch
from ._config import Limits, Telemetry, Timeout, host_source, resolve_host
from ._endpoints import Endpoint
from ._errors import (
    BadRequestError,
    DecodeError,
    NotFoundError,
    OllamaError,
    RequestError,
)
from ._lines import DEFAULT_MAX_LINE_SIZE
from ._retry import Retry, call_with_retries
from ._stream import Call, Stream, raise_for_line
from ._telemetry import CallRecord, Instruments, instruments_for
from ._tls import TlsOptions, VerifyArg
from ._toolloop import ChunkCallback, ToolLoopResult, run_tool_loop
from ._transport import (
    BaseTransport,
    Response,
    Session,
    Transport,
    default_headers,
    read_body,
)
from .types import (
    UNSET,
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
    ListResponse,
    Message,
    MessageDict,
    Options,
    OptionsDict,
    ProcessResponse,
    ProgressResponse,
    PullRequest,
    PushRequest,
    ServerStatus,
    ShowRequest,
    ShowResponse,
    StatusResponse,
    Tool,
    UserResponse,
    VersionResponse,
    WebFetchRequest,
    WebFetchResponse,
    WebSearchRequest,
    WebSearchResponse,
)
from .types._common import UntypedMapping

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "USE_CLIENT_DEFAULT",
    "AsyncClient",
    "ChatKwargs",
    "ClientFn",
    "ClientSettings",
    "CreateKwargs",
    "GenerateKwargs",
    "TimeoutArg",
    "TransferKwargs",
    "client_settings",
]

R = TypeVar("R")
ReqT = TypeVar("ReqT")
RespT = TypeVar("RespT")

DEFAULT_MAX_BODY_SIZE: Final = 256 * 1024 * 1024
_BLOB_PIECE: Final = 1024 * 1024
# The server's answer to a generate for a model without that capability
# (server/routes.go): an embedding model is loaded through /api/embed.
_NO_GENERATE: Final = "does not support generate"

_encode = msgspec.json.Encoder().encode
# Ollama's "model not found" texts: "model 'x' not found" (and, older,
# 'model "x" not found, try pulling it first').
_MISSING_MODEL: Final = re.compile(r"""model ['"](.+?)['"] not found""")


class _UseClientDefault(enum.Enum):
    token = 0


USE_CLIENT_DEFAULT: Final = _UseClientDefault.token
TimeoutArg: TypeAlias = Timeout | float | _UseClientDefault | None

# A dict literal is checked against the TypedDict; a dict built at run time
# passes as dict[str, Any] (UntypedMapping says why not dict[str, str]).
MessageArg: TypeAlias = Message | MessageDict | UntypedMapping
OptionsArg: TypeAlias = Options | OptionsDict | UntypedMapping
# A type (Struct, dataclass, pydantic model ...) sends its JSON schema.
FormatArg: TypeAlias = Literal["", "json"] | Mapping[str, Any] | type[Any]
ThinkArg: TypeAlias = bool | Literal["low", "medium", "high", "max"]
# A function is described from its signature and docstring (see _tooldefs).
ToolArg: TypeAlias = Tool | Mapping[str, Any] | Callable[..., Any]


# The keyword arguments the `stream` overloads of one method share, written
# once (PEP 692): type checkers expand them into the overloads' signatures.
# Each matches the keyword-only parameters of the method's implementation.


class GenerateKwargs(TypedDict, total=False):
    """Keyword arguments of :meth:`AsyncClient.generate` besides ``stream``."""

    system: str | None
    template: str | None
    context: Sequence[int] | None
    think: ThinkArg | None
    logprobs: bool | None
    top_logprobs: int | None
    raw: bool | None
    format: FormatArg | None
    images: Sequence[_args.ImageInput] | None
    options: OptionsArg | None
    keep_alive: float | str | None
    truncate: bool | None
    shift: bool | None
    width: int | None
    height: int | None
    steps: int | None
    timeout: TimeoutArg


class ChatKwargs(TypedDict, total=False):
    """Keyword arguments of :meth:`AsyncClient.chat` besides ``stream``."""

    tools: Sequence[ToolArg] | None
    think: ThinkArg | None
    logprobs: bool | None
    top_logprobs: int | None
    format: FormatArg | None
    options: OptionsArg | None
    keep_alive: float | str | None
    truncate: bool | None
    shift: bool | None
    timeout: TimeoutArg


class CreateKwargs(TypedDict, total=False):
    """Keyword arguments of :meth:`AsyncClient.create` besides ``stream``
    (its other parameters are positional, as in the official client)."""

    remote_host: str | None
    draft_files: Mapping[str, str] | None
    draft_quantize: str | None
    renderer: str | None
    parser: str | None
    requires: str | None
    info: Mapping[str, Any] | None
    timeout: TimeoutArg


class TransferKwargs(TypedDict, total=False):
    """Keyword arguments of :meth:`AsyncClient.pull` and
    :meth:`AsyncClient.push` besides ``stream``."""

    insecure: bool
    timeout: TimeoutArg


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
    (proxies, tracing); it is then yours to close, and ``limits`` and TLS
    are its connector's business (TLS options with ``session=`` raise
    :class:`RequestError`).

    Args:
        auth: ``(username, password)`` sent as HTTP Basic credentials, e.g.
            for Ollama behind a reverse proxy that asks for a login (httpx's
            ``auth=`` tuple, as the official client takes it).
        timeout: a :class:`Timeout`, a number of seconds for every phase, or
            ``None`` for no timeouts at all.
        limits: connection pool limits.
        max_line_size: longest accepted stream line, in bytes.
        max_body_size: longest accepted non-streamed body, in bytes.
        ssl: the TLS context for an ``https://`` host, e.g. one that trusts a
            private CA (``ssl.create_default_context(cafile=...)``); by
            default certificates are verified against the system's CAs.
            Unused for ``http://`` hosts.
        verify: httpx's spelling, accepted so that code written for the
            official client runs unchanged: ``True`` (the default), a path
            to a CA bundle or directory, an ``SSLContext``, or ``False``
            (as ``dangerously_skip_tls_verify``).
        dangerously_skip_tls_verify: accept any certificate from an
            ``https://`` host. Anyone on the path can then read and change
            the traffic, API key included; use a private CA with ``ssl=``
            instead. Warns with :class:`InsecureTLSWarning`.
        retry: when to retry calls that failed before anything reached you
            (see :class:`Retry`); ``None`` never retries.
        telemetry: OpenTelemetry spans and metrics for each call, named as
            the GenAI semantic conventions name them (see
            :class:`Telemetry`); on when ``opentelemetry-api`` is installed.
            ``False`` imports and measures nothing.

    At most one of ``ssl``, ``verify`` and ``dangerously_skip_tls_verify``
    may be given.

    A client pickles at any time, for Ray, Dask, Spark or multiprocessing:
    the pickle carries its configuration (the API key among its headers, as
    the worker needs it), never a session, socket or loop, and the copy opens
    its own connections on the loop that uses it. A client made with
    ``session=`` or an ``SSLContext`` cannot be pickled (``TypeError``): pass
    ``verify="/path/to/ca.pem"`` instead, or create the client in the worker.
    """

    web_url: str = "https://ollama.com"
    """Base URL of :meth:`web_search` and :meth:`web_fetch` (ollama.com, as in
    the official client); set it on a client to use a fake in tests."""

    def __init__(
        self,
        host: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: Timeout | float | None = Timeout(),  # noqa: B008 - frozen value
        limits: Limits = Limits(),  # noqa: B008 - frozen value
        session: Session | None = None,
        follow_redirects: bool = True,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        retry: Retry | None = Retry(),  # noqa: B008 - frozen value
        ssl: _ssl.SSLContext | None = None,
        verify: VerifyArg = True,
        dangerously_skip_tls_verify: bool = False,
        telemetry: Telemetry | bool = True,
    ) -> None:
        _args.instance_of("session", session, (Session, type(None)))
        settings = client_settings(
            host,
            headers=headers,
            auth=auth,
            timeout=timeout,
            limits=limits,
            follow_redirects=follow_redirects,
            max_line_size=max_line_size,
            max_body_size=max_body_size,
            retry=retry,
            tls=TlsOptions(
                ssl=ssl, verify=verify, skip_verify=dangerously_skip_tls_verify
            ),
            telemetry=telemetry,
        )
        context = settings.tls.context(settings.base_url, session=session is not None)
        self._setup(settings, context, session)

    def _setup(
        self,
        settings: ClientSettings,
        context: _ssl.SSLContext | None,
        session: Session | None = None,
    ) -> None:
        """Build the client from its settings: in ``__init__``, and in another
        process from a pickle."""
        self._settings = settings
        self._own_session = session is None
        # Kept for ollama.com's web API when this client talks to ollama.com.
        self._authorization = next(
            (v for k, v in settings.headers.items() if k.lower() == "authorization"),
            None,
        )
        self._transport: BaseTransport = self._make_transport(
            settings, context, session
        )
        self._max_line_size = settings.max_line_size
        self._max_body_size = settings.max_body_size
        self._retry = settings.retry
        self._default_timeout: Timeout | None = None  # set by with_options()
        # None when telemetry is off or OpenTelemetry is not installed: then
        # nothing of it was imported, and each call tests this once.
        self._instruments = instruments_for(settings.telemetry)

    def _make_transport(
        self,
        settings: ClientSettings,
        context: _ssl.SSLContext | None,
        session: Session | None,
    ) -> BaseTransport:
        return Transport(
            settings.base_url,
            headers=dict(settings.headers),
            timeout=settings.timeout,
            limits=settings.limits,
            follow_redirects=settings.follow_redirects,
            ssl=context,
            session=session,
            source=settings.source,
        )

    # -- copies and pickles ----------------------------------------------------

    def __copy__(self) -> Self:
        # A view sharing this client's connections (with_options, host()).
        # A pickle or a deepcopy gets connections of its own (__reduce__).
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the configuration, never a session, socket or loop: the copy
        opens its own connections, lazily, on the loop that uses it. The
        headers travel, the API key among them (the worker needs it)."""
        reason = self._settings.tls.unpicklable()
        if not self._own_session:
            reason = "session=<aiohttp.ClientSession>"
        if reason is not None:
            raise TypeError(
                f"cannot pickle an {type(self).__name__} made with {reason}: it "
                "belongs to this process. Create the client in the worker, or "
                "give TLS as verify='/path/to/ca.pem' instead of an SSLContext"
            )
        view = {k: v for k, v in vars(self).items() if k in _VIEW_ATTRIBUTES}
        return (_unpickle, (type(self), self._settings, view))

    def _apply_view(self, view: Mapping[str, Any]) -> None:
        """Restore what a view (``with_options``, ``web_url``) changed."""
        for name, value in view.items():
            setattr(self, name, value)

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
    def retry(self) -> Retry | None:
        """The retry policy of this client (None: no retries)."""
        return self._retry

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
            clone._retry = _args.instance_of("retry", retry, (Retry, type(None)))
        return clone

    # -- sending a row of the endpoint table -----------------------------------

    def _timeout(self, timeout: TimeoutArg) -> Timeout | None:
        if timeout is USE_CLIENT_DEFAULT:
            return self._default_timeout
        return Timeout.of(timeout)

    def _send(
        self,
        endpoint: Endpoint[R],
        request: msgspec.Struct,
        timeout: TimeoutArg,
        *,
        stream: bool,
    ) -> Coroutine[Any, Any, R] | Stream[R]:
        """``request`` sent to ``endpoint``: awaited whole, or streamed."""
        try:
            body = _encode(request)
        except (TypeError, ValueError, RecursionError) as exc:
            # A lone surrogate (UnicodeEncodeError) or a value msgspec cannot
            # encode, in a str the argument checks do not read through.
            raise _args.unencodable(request, exc) from None
        # The routing hint comes from the request value; the body is never
        # decoded again to find it.
        model: str = getattr(request, "model", "")
        if stream:
            return self._stream(endpoint, body, timeout, model=model, request=request)
        return Call(self._call(endpoint, body, timeout, model=model, request=request))

    async def _call(
        self,
        endpoint: Endpoint[R],
        body: bytes | None,
        timeout: TimeoutArg,
        *,
        model: str = "",
        path: str | None = None,
        request: msgspec.Struct | None = None,
    ) -> R:
        """One request and its whole body, retried by the client's policy;
        traced when telemetry is on (``request`` names its parameters)."""
        instruments = self._instruments
        try:
            if instruments is None or not instruments.live():
                return await self._call_once(endpoint, body, timeout, model, path, None)
            record = instruments.call(
                endpoint.path, model, request, self._transport.base_url
            )
            result = await instruments.run(
                record, self._call_once(endpoint, body, timeout, model, path, record)
            )
        except NotFoundError as exc:
            if endpoint.loads_model:
                await self._explain_missing_model(exc)
            raise
        record.succeeded(result)
        return result

    async def _explain_missing_model(self, exc: NotFoundError) -> None:
        """Give a "model not found" error a hint: how to pull the model, and
        the installed models whose names are closest (one ``/api/tags``
        request, skipped if that fails)."""
        found = _MISSING_MODEL.search(exc.error)
        if found is None or exc.hint is not None:
            return
        name = found.group(1)
        hint = f"pull it first: `ollama pull {name}` or `await client.pull({name!r})`"
        try:
            installed = await self._call_once(
                api.LIST, None, Timeout(connect=2.0, first_byte=2.0), "", None, None
            )
        except OllamaError:
            installed = None
        if installed is not None:
            names = [m.model for m in installed.models if m.model]
            short = [n.removesuffix(":latest") for n in names]
            close = difflib.get_close_matches(name, short, n=3, cutoff=0.5)
            if close:
                hint += "; installed models with close names: " + ", ".join(close)
            elif not names:
                hint += "; no models are installed on this server"
        exc.hint = hint

    async def _call_once(
        self,
        endpoint: Endpoint[R],
        body: bytes | None,
        timeout: TimeoutArg,
        model: str,
        path: str | None,
        record: CallRecord | None,
    ) -> R:
        method = endpoint.method
        path = path or endpoint.path
        send = self._transport.send
        limit = self._max_body_size
        t = self._timeout(timeout)
        idempotent = endpoint.idempotent
        loads_model = endpoint.loads_model

        async def attempt() -> bytes:
            response = await send(
                method,
                path,
                body,
                timeout=t,
                idempotent=idempotent,
                model=model,
                loads_model=loads_model,
            )
            if record is not None:
                record.served_by(response.base_url)
            return await read_body(response, limit)

        data = await call_with_retries(
            self._retry, attempt, idempotent=idempotent, what=f"{method} {path}"
        )
        try:
            return endpoint.decode(data)
        except (
            msgspec.DecodeError,
            msgspec.ValidationError,
            UnicodeDecodeError,
        ) as exc:
            raise_for_line(data, exc, f"{path} response")
            raise DecodeError(f"empty {path} response") from exc

    def _stream(
        self,
        endpoint: Endpoint[R],
        body: bytes,
        timeout: TimeoutArg,
        *,
        model: str,
        request: msgspec.Struct | None = None,
    ) -> Stream[R]:
        assert endpoint.is_final is not None and endpoint.fold is not None
        transport = self._transport
        transport.check_open()  # a closed client fails here, not at first use
        send = partial(
            transport.send,
            endpoint.method,
            endpoint.path,
            body,
            timeout=self._timeout(timeout),
            stream=True,
            idempotent=endpoint.idempotent,
            model=model,
            loads_model=endpoint.loads_model,
        )
        open_response = partial(
            call_with_retries,
            self._retry,
            send,
            idempotent=endpoint.idempotent,
            what=f"{endpoint.method} {endpoint.path}",
        )
        if endpoint.loads_model:
            open_response = partial(self._open_explained, open_response)
        return Stream(
            # Retries happen only while opening: once a chunk is out, never.
            open_response,
            decode=endpoint.decode,
            is_final=endpoint.is_final,
            fold=endpoint.fold,
            max_line_size=self._max_line_size,
            what=endpoint.name,
            observe=None
            if (instruments := self._instruments) is None
            else partial(
                _observe_stream,
                instruments,
                endpoint.path,
                model,
                request,
                transport.base_url,
            ),
        )

    async def _open_explained(
        self, open_response: Callable[[], Awaitable[Response]]
    ) -> Response:
        """Open a stream; a "model not found" gets its hint."""
        try:
            return await open_response()
        except NotFoundError as exc:
            await self._explain_missing_model(exc)
            raise

    # -- generate / chat -------------------------------------------------------

    @overload
    def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        stream: Literal[False] = False,
        **kwargs: Unpack[GenerateKwargs],
    ) -> Coroutine[Any, Any, GenerateResponse]: ...
    @overload
    def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        stream: Literal[True],
        **kwargs: Unpack[GenerateKwargs],
    ) -> Stream[GenerateResponse]: ...
    @overload
    def generate(
        self,
        model: str = "",
        prompt: str | None = None,
        suffix: str | None = None,
        *,
        stream: bool,
        **kwargs: Unpack[GenerateKwargs],
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
        images: Sequence[_args.ImageInput] | None = None,
        options: OptionsArg | None = None,
        keep_alive: float | str | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        steps: int | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        **unexpected: Any,
    ) -> Coroutine[Any, Any, GenerateResponse] | Stream[GenerateResponse]:
        """Generate a completion for ``prompt``.

        With ``stream=False`` (the default) this is awaited to the whole
        :class:`GenerateResponse`; with ``stream=True`` it returns a
        :class:`Stream` of chunks. An empty prompt loads the model; add
        ``keep_alive=0`` to unload it. The keyword arguments are those of
        :class:`GenerateKwargs`.
        """
        if unexpected:
            _args.unexpected_keywords("generate", unexpected)
        request = GenerateRequest(
            model=_args.model_arg(model),
            stream=_args.bool_arg("stream", stream) is True,
            prompt=_args.check_str("prompt", prompt),
            suffix=_args.check_str("suffix", suffix),
            system=_args.check_str("system", system),
            template=_args.check_str("template", template),
            context=_args.context_arg(context),
            raw=_args.bool_arg("raw", raw),
            # No images and images=[] both send none, as the official client.
            images=_args.images_arg(images) or UNSET,
            format=_args.format_arg(format),
            options=_args.options_arg(options),
            keep_alive=_args.keep_alive_arg(keep_alive),
            think=_args.think_arg(think),
            truncate=_args.bool_arg("truncate", truncate),
            shift=_args.bool_arg("shift", shift),
            logprobs=_args.bool_arg("logprobs", logprobs),
            top_logprobs=_args.int_arg("top_logprobs", top_logprobs, 0, 20),
            width=_args.int_arg("width", width, 1, 1 << 16),
            height=_args.int_arg("height", height, 1, 1 << 16),
            steps=_args.int_arg("steps", steps, 1, 1 << 16),
        )
        return self._send(api.GENERATE, request, timeout, stream=stream)

    @overload
    def chat(
        self,
        model: str = "",
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: Literal[False] = False,
        **kwargs: Unpack[ChatKwargs],
    ) -> Coroutine[Any, Any, ChatResponse]: ...
    @overload
    def chat(
        self,
        model: str = "",
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: Literal[True],
        **kwargs: Unpack[ChatKwargs],
    ) -> Stream[ChatResponse]: ...
    @overload
    def chat(
        self,
        model: str = "",
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: bool,
        **kwargs: Unpack[ChatKwargs],
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
        **unexpected: Any,
    ) -> Coroutine[Any, Any, ChatResponse] | Stream[ChatResponse]:
        """Answer a conversation.

        With ``stream=False`` (the default) this is awaited to the whole
        :class:`ChatResponse`; with ``stream=True`` it returns a
        :class:`Stream` of chunks. Messages, options and tools may be typed
        values or plain dicts. No messages loads the model; add
        ``keep_alive=0`` to unload it. The keyword arguments are those of
        :class:`ChatKwargs`.
        """
        if unexpected:
            _args.unexpected_keywords("chat", unexpected)
        request = ChatRequest(
            model=_args.model_arg(model),
            stream=_args.bool_arg("stream", stream) is True,
            # Always sent, [] for none, as the official client sends them.
            messages=[] if messages is None else _args.messages_arg(messages),
            tools=[] if tools is None else _args.tools_arg(tools),
            format=_args.format_arg(format),
            options=_args.options_arg(options),
            keep_alive=_args.keep_alive_arg(keep_alive),
            think=_args.think_arg(think),
            truncate=_args.bool_arg("truncate", truncate),
            shift=_args.bool_arg("shift", shift),
            logprobs=_args.bool_arg("logprobs", logprobs),
            top_logprobs=_args.int_arg("top_logprobs", top_logprobs, 0, 20),
        )
        return self._send(api.CHAT, request, timeout, stream=stream)

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
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        truncate: bool | None = None,
        shift: bool | None = None,
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

        The other keyword arguments are as for :meth:`chat` and are sent in
        every round.

        Raises:
            MaxToolRoundsError: the model still called tools in round
                ``max_rounds``; it carries the conversation so far.
        """
        _args.callback("on_chunk", on_chunk)
        _args.flag("raise_tool_errors", raise_tool_errors)
        chat_round = partial(
            self.chat,
            model,
            think=think,
            format=format,
            options=options,
            keep_alive=keep_alive,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            truncate=truncate,
            shift=shift,
            timeout=timeout,
        )
        loop = run_tool_loop(
            chat_round,
            messages,
            tools=tools,
            max_rounds=max_rounds,
            raise_tool_errors=raise_tool_errors,
            on_chunk=on_chunk,
        )
        instruments = self._instruments
        if instruments is None or not instruments.live():
            return await loop
        # An invoke_agent span, the parent of each round's chat span and of
        # each tool's execute_tool span.
        record = instruments.tool_loop(model, self._transport.base_url)
        result = await instruments.run(record, loop)
        record.tool_loop_done(result.response, result.rounds)
        return result

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
        request = EmbedRequest(
            model=_args.model_arg(model),
            input=_args.texts_arg("input", input),
            truncate=_args.bool_arg("truncate", truncate),
            # 0 is sent as given: the server reads it as "all dimensions".
            dimensions=_args.int_arg("dimensions", dimensions, 0, 1 << 20),
            options=_args.options_arg(options),
            keep_alive=_args.keep_alive_arg(keep_alive),
        )
        return await self._call(
            api.EMBED, _encode(request), timeout, model=request.model, request=request
        )

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
        request = EmbeddingsRequest(
            model=_args.model_arg(model),
            prompt=_args.check_str("prompt", prompt),
            options=_args.options_arg(options),
            keep_alive=_args.keep_alive_arg(keep_alive),
        )
        return await self._call(
            api.EMBEDDINGS,
            _encode(request),
            timeout,
            model=request.model,
            request=request,
        )

    # -- pull / push / create --------------------------------------------------

    @overload
    def pull(
        self,
        model: str,
        *,
        stream: Literal[False] = False,
        **kwargs: Unpack[TransferKwargs],
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def pull(
        self, model: str, *, stream: Literal[True], **kwargs: Unpack[TransferKwargs]
    ) -> Stream[ProgressResponse]: ...
    @overload
    def pull(
        self, model: str, *, stream: bool, **kwargs: Unpack[TransferKwargs]
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
        request = PullRequest(
            model=_args.model_arg(model),
            stream=_args.bool_arg("stream", stream) is True,
            # Always sent, false included, as the official client sends it.
            insecure=_args.bool_arg("insecure", insecure),
        )
        return self._send(api.PULL, request, timeout, stream=stream)

    @overload
    def push(
        self,
        model: str,
        *,
        stream: Literal[False] = False,
        **kwargs: Unpack[TransferKwargs],
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def push(
        self, model: str, *, stream: Literal[True], **kwargs: Unpack[TransferKwargs]
    ) -> Stream[ProgressResponse]: ...
    @overload
    def push(
        self, model: str, *, stream: bool, **kwargs: Unpack[TransferKwargs]
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
        request = PushRequest(
            model=_args.model_arg(model),
            stream=_args.bool_arg("stream", stream) is True,
            # Always sent, false included, as the official client sends it.
            insecure=_args.bool_arg("insecure", insecure),
        )
        return self._send(api.PUSH, request, timeout, stream=stream)

    # create's parameters are positional in the official client, so its
    # overloads must spell them out: PEP 692 covers keyword arguments only.
    # Parameters the official client lacks are keyword-only.
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
        **kwargs: Unpack[CreateKwargs],
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
        **kwargs: Unpack[CreateKwargs],
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
        **kwargs: Unpack[CreateKwargs],
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
        remote_host: str | None = None,
        draft_files: Mapping[str, str] | None = None,
        draft_quantize: str | None = None,
        renderer: str | None = None,
        parser: str | None = None,
        requires: str | None = None,
        info: Mapping[str, Any] | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        """Create a model from an existing one (``from_``) or from uploaded
        blobs (``files``: file name -> ``sha256:`` digest, see
        :meth:`create_blob`).

        Args:
            remote_host: the URL of the Ollama server that runs ``from_``:
                the new model forwards its requests there.
            draft_files: a draft model for speculative decoding, as blobs
                (file name -> digest); ``draft_quantize`` quantizes it.
            renderer: the built-in renderer that turns requests into the
                model's prompt (instead of ``template``).
            parser: the built-in parser of the model's output (thinking,
                tool calls).
            requires: the oldest Ollama version that can run the model.
            info: overrides of the details the model reports:
                ``capabilities``, ``model_family``, ``base_name``,
                ``quantization_level``, ``parameter_size``,
                ``context_length``, ``embedding_length``.
        """
        if from_ is None and files is None:
            raise RequestError("create needs from_ (a model) or files (blob digests)")
        if draft_quantize is not None and not draft_files:
            # The server's 400: "--draft-quantize requires a DRAFT model".
            raise RequestError("draft_quantize needs draft_files (a draft model)")
        request = CreateRequest(
            model=_args.model_arg(model),
            stream=_args.bool_arg("stream", stream) is True,
            from_=_args.opt(None if from_ is None else _args.model_arg(from_, "from_")),
            files=_args.blob_digests("files", files),
            adapters=_args.blob_digests("adapters", adapters),
            template=_args.check_str("template", template),
            license=_args.license_arg(license),
            system=_args.check_str("system", system),
            parameters=_args.options_arg(parameters, "parameters"),
            messages=_args.messages_arg(messages),
            quantize=_args.check_str("quantize", quantize),
            remote_host=_args.check_str("remote_host", remote_host),
            draft_files=_args.blob_digests("draft_files", draft_files),
            draft_quantize=_args.check_str("draft_quantize", draft_quantize),
            renderer=_args.check_str("renderer", renderer),
            parser=_args.check_str("parser", parser),
            requires=_args.check_str("requires", requires),
            info=UNSET
            if info is None
            else _args.json_arg("info", dict(_args.instance_of("info", info, Mapping))),
        )
        return self._send(api.CREATE, request, timeout, stream=stream)

    # -- blobs -----------------------------------------------------------------

    async def blob_exists(
        self, digest: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> bool:
        """Whether the server has the blob ``sha256:<64 hex>``."""
        path = api.BLOB.path.format(digest=_args.blob_digest(digest))
        try:
            await self._call(api.BLOB, None, timeout, path=path)
        except NotFoundError:
            return False
        return True

    async def create_blob(
        self, path: str | Path, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> str:
        """Upload a file as a blob unless the server has it; return its digest.

        The file is hashed and uploaded in 1 MiB pieces, never held in memory.
        """
        file = _args.path_arg("path", path)
        digest = await asyncio.to_thread(_args.file_digest, file)
        if await self.blob_exists(digest, timeout=timeout):
            return digest
        # Not through _call: a streamed upload cannot be replayed by a retry.
        response = await self._transport.send(
            api.BLOB_UPLOAD.method,
            api.BLOB_UPLOAD.path.format(digest=digest),
            _file_pieces(file),
            timeout=self._timeout(timeout),
            content_type="application/octet-stream",
            idempotent=api.BLOB_UPLOAD.idempotent,
        )
        await read_body(response, self._max_body_size)
        return digest

    # -- model management ------------------------------------------------------

    async def list(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> ListResponse:
        """The installed models (``GET /api/tags``)."""
        return await self._call(api.LIST, None, timeout)

    async def show(
        self,
        model: str,
        *,
        verbose: bool | None = None,
        system: str | None = None,
        options: OptionsArg | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> ShowResponse:
        """Details of a model: Modelfile, parameters, template, capabilities.

        ``system`` and ``options`` preview the model as a request with them
        would run it: ``system`` stands in for the model's system prompt, and
        ``options`` are merged over its parameters in the ``modelfile``
        (``parameters`` still lists the stored ones)::

            preview = await client.show("llama3.2", system="Answer in French.")
            print(preview.system)
        """
        request = ShowRequest(
            model=_args.model_arg(model),
            verbose=_args.bool_arg("verbose", verbose),
            system=_args.check_str("system", system),
            options=_args.options_arg(options),
        )
        return await self._call(
            api.SHOW, _encode(request), timeout, model=request.model
        )

    async def copy(
        self, source: str, destination: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> StatusResponse:
        """Copy a model under a new name."""
        request = CopyRequest(
            source=_args.model_arg(source, "source"),
            destination=_args.model_arg(destination, "destination"),
        )
        return await self._call(api.COPY, _encode(request), timeout)

    async def delete(
        self, model: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> StatusResponse:
        """Delete a model."""
        request = DeleteRequest(model=_args.model_arg(model))
        return await self._call(api.DELETE, _encode(request), timeout)

    async def ps(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> ProcessResponse:
        """The models loaded in memory."""
        return await self._call(api.PS, None, timeout)

    async def version(
        self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> VersionResponse:
        """The server's version."""
        return await self._call(api.VERSION, None, timeout)

    # -- the server: liveness, cloud status, ollama.com account ---------------

    async def load(
        self,
        model: str,
        *,
        keep_alive: float | str | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> None:
        """Load ``model`` into memory now, so that the first real call does
        not wait for it::

            await client.load("llama3.2", keep_alive="1h")

        This is Ollama's empty-prompt trick, named: a generate with no prompt,
        or, for an embedding model (which cannot generate), an embed of no
        text. ``keep_alive`` is how long the model stays loaded (the server's
        default is 5 minutes; ``-1`` keeps it until it is unloaded).
        """
        model = _args.non_empty_str("model", model)
        try:
            await self.generate(model, keep_alive=keep_alive, timeout=timeout)
        except BadRequestError as exc:
            if _NO_GENERATE not in str(exc):
                raise
            await self.embed(model, [], keep_alive=keep_alive, timeout=timeout)

    async def unload(
        self, model: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> None:
        """Unload ``model`` from memory now (a generate with no prompt and
        ``keep_alive=0``, which the server accepts for every kind of model).
        A model that is not loaded is no error."""
        model = _args.non_empty_str("model", model)
        await self.generate(model, keep_alive=0, timeout=timeout)

    async def heartbeat(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> None:
        """Check that the server answers (``HEAD /``, as Ollama's Go client
        does); raise as any call would when it does not::

            try:
                await client.heartbeat(timeout=2)
            except ollama_async.TransportError as exc:
                print("Ollama is not up:", exc)
        """
        await self._call(api.HEARTBEAT, None, timeout)

    async def status(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> ServerStatus:
        """The server's status: whether its ollama.com features (cloud
        models, web search) are turned off, and by what."""
        return await self._call(api.STATUS, None, timeout)

    async def me(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> UserResponse:
        """The ollama.com account the server is signed in as.

        Raises:
            AuthenticationError: the server is not signed in; its
                ``signin_url`` is the page that signs this server in::

                    try:
                        user = await client.me()
                    except ollama_async.AuthenticationError as exc:
                        print("sign in at", exc.signin_url)
        """
        return await self._call(api.ME, None, timeout)

    async def signout(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> None:
        """Sign the server out of ollama.com.

        Raises:
            AuthenticationError: it was not signed in.
        """
        await self._call(api.SIGNOUT, None, timeout)

    # -- ollama.com ------------------------------------------------------------

    async def _web_call(
        self,
        endpoint: Endpoint[R],
        request: msgspec.Struct,
        api_key: str | None,
        timeout: TimeoutArg,
    ) -> R:
        web_url = resolve_host(self.web_url)
        if api_key is None and self._authorization and self.base_url == web_url:
            # A client made for ollama.com with its own Authorization header
            # (the official client's way) authorises the web API too.
            authorization = self._authorization
        else:
            authorization = _args.web_authorization(endpoint.name, api_key)
        try:
            body = _encode(request)
        except (TypeError, ValueError, RecursionError) as exc:
            raise _args.unencodable(request, exc) from None
        async with AsyncClient(
            web_url,
            headers={"Authorization": authorization},
            timeout=self._timeout(timeout) or self.timeout,
        ) as web:
            if isinstance(web._transport, Transport):
                web._transport.source = "AsyncClient.web_url"
            return await web._call(endpoint, body, USE_CLIENT_DEFAULT)

    async def web_search(
        self,
        query: str,
        max_results: int = 3,
        *,
        api_key: str | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> WebSearchResponse:
        """Search the web through ollama.com's API.

        The key is ``api_key``, else the client's own ``Authorization``
        header when the client itself talks to :attr:`web_url` (a header meant
        for another host is never sent there), else ``$OLLAMA_API_KEY``.
        Requests go to :attr:`web_url` (``https://ollama.com``) on a
        connection of their own, whatever the client's host.

        Raises:
            RequestError: no API key, an empty query, or ``max_results``
                outside 1-10; nothing was sent.
        """
        request = WebSearchRequest(
            query=_args.non_empty_str("query", query),
            max_results=_args.int_arg("max_results", max_results, 1, 10),
        )
        return await self._web_call(api.WEB_SEARCH, request, api_key, timeout)

    async def web_fetch(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> WebFetchResponse:
        """Fetch a web page as text (title, content, links) through ollama.com's
        API; the key as for :meth:`web_search`."""
        request = WebFetchRequest(url=_args.non_empty_str("url", url))
        return await self._web_call(api.WEB_FETCH, request, api_key, timeout)

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
        _args.callback("fn", fn)
        return run_batch(
            _args.items_arg("requests", requests),
            partial(fn or _chat_request, self),
            concurrency=concurrency,
            ordered=ordered,
            window=window,
            stop_on_error=stop_on_error,
            progress=progress,
            total=total,
        )


ClientFn: TypeAlias = Callable[[AsyncClient, ReqT], Awaitable[RespT]]
"""What :meth:`AsyncClient.batch` calls for each item."""


# What a view of a client (with_options, a MultiHostClient's host(), web_url
# set on the instance) changes, and so what a pickle carries besides settings.
_VIEW_ATTRIBUTES: Final = frozenset(
    {"_default_timeout", "_retry", "web_url", "_bound_url"}
)


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """An :class:`AsyncClient`'s configuration, checked and resolved: what a
    pickle of the client carries. The headers hold the API key, if any (a
    worker needs it); the repr leaves them out."""

    base_url: str
    source: str
    """Where ``base_url`` came from, for connection error messages."""
    headers: Mapping[str, str] = field(repr=False)
    timeout: Timeout
    limits: Limits
    retry: Retry | None
    follow_redirects: bool
    max_line_size: int
    max_body_size: int
    tls: TlsOptions
    telemetry: Telemetry


def client_settings(
    host: str | None,
    *,
    headers: Mapping[str, str] | None,
    auth: tuple[str, str] | None,
    timeout: Timeout | float | None,
    limits: Limits,
    follow_redirects: bool,
    max_line_size: int,
    max_body_size: int,
    retry: Retry | None,
    tls: TlsOptions,
    telemetry: Telemetry | bool,
) -> ClientSettings:
    """Check a client's arguments and resolve them (``OLLAMA_HOST``,
    ``OLLAMA_API_KEY``) once, in the process that creates it."""
    _args.instance_of("retry", retry, (Retry, type(None)))
    _args.instance_of("limits", limits, Limits)
    _args.instance_of("headers", headers, (Mapping, type(None)))
    _args.flag("follow_redirects", follow_redirects)
    _args.flag("dangerously_skip_tls_verify", tls.skip_verify)
    if isinstance(tls.verify, str):
        _args.check_str("verify", tls.verify)
    _args.positive_int("max_line_size", max_line_size)
    _args.positive_int("max_body_size", max_body_size)
    try:
        base_url = resolve_host(host)
    except RequestError as exc:
        if host is None:
            raise  # it names OLLAMA_HOST already
        raise RequestError(f"{exc} (from the host argument)") from None
    return ClientSettings(
        base_url=base_url,
        source=host_source(host),
        headers=default_headers(headers, auth),
        timeout=Timeout.of(timeout),
        limits=limits,
        retry=retry,
        follow_redirects=follow_redirects,
        max_line_size=max_line_size,
        max_body_size=max_body_size,
        tls=tls,
        telemetry=Telemetry.of(telemetry),
    )


def _observe_stream(
    instruments: Instruments,
    path: str,
    model: str,
    request: msgspec.Struct | None,
    base_url: str,
) -> tuple[Instruments, CallRecord] | None:
    """A stream's call record, started when the stream sends its request
    (None when nothing would record it)."""
    if not instruments.live():
        return None
    return instruments, instruments.call(path, model, request, base_url, stream=True)


def _unpickle(
    cls: type[AsyncClient], settings: ClientSettings, view: Mapping[str, Any]
) -> AsyncClient:
    client = cls.__new__(cls)
    client._setup(settings, settings.tls.context(settings.base_url))
    client._apply_view(view)
    return client


async def _chat_request(
    client: AsyncClient, request: Mapping[str, Any]
) -> ChatResponse:
    """One chat call from a mapping of :meth:`AsyncClient.chat` keyword
    arguments; ``"stream": True`` streams it and folds the chunks."""
    kwargs = dict(request)
    if kwargs.pop("stream", False):
        stream: Stream[ChatResponse] = client.chat(**kwargs, stream=True)
        async with stream:
            return await stream.collect()
    response: ChatResponse = await client.chat(**kwargs)
    return response


async def _file_pieces(path: Path) -> AsyncIterator[bytes]:
    file: IO[bytes] = await asyncio.to_thread(path.open, "rb")
    try:
        while piece := await asyncio.to_thread(file.read, _BLOB_PIECE):
            yield piece
    finally:
        file.close()
