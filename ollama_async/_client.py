"""``AsyncClient``: generation, chat and embeddings, the tool loop,
ollama.com extras and batches; model management comes from
``_client_models``, lifecycle and plumbing from ``_client_base``. Arguments
are checked and encoded before anything is sent."""

from __future__ import annotations

import operator
from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import msgspec

from . import _convert as conv
from ._aggregate import fold_chat, fold_generate
from ._batch import Batch, ClientFn, Items, ReqT, RespT, chat_request, run_batch
from ._config import resolve_host
from ._errors import RequestError
from ._stream import Stream
from ._tools import ChunkCallback, ToolLoopResult, run_tool_loop

if TYPE_CHECKING:
    pass

from ._client_base import (
    DEFAULT_MAX_BODY_SIZE,
    USE_CLIENT_DEFAULT,
    FormatArg,
    MessageArg,
    OptionsArg,
    ThinkArg,
    TimeoutArg,
    ToolArg,
    _encode,
)
from ._client_models import ModelsMixin
from .types import (
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbedRequest,
    EmbedResponse,
    GenerateRequest,
    GenerateResponse,
    WebFetchRequest,
    WebFetchResponse,
    WebSearchRequest,
    WebSearchResponse,
)

__all__ = ["DEFAULT_MAX_BODY_SIZE", "AsyncClient"]

T = TypeVar("T")

_decode_chat = msgspec.json.Decoder(ChatResponse).decode
_decode_generate = msgspec.json.Decoder(GenerateResponse).decode
_decode_embed = msgspec.json.Decoder(EmbedResponse).decode
_decode_embeddings = msgspec.json.Decoder(EmbeddingsResponse).decode
_decode_web_search = msgspec.json.Decoder(WebSearchResponse).decode
_decode_web_fetch = msgspec.json.Decoder(WebFetchResponse).decode
_is_done: Callable[[Any], bool] = operator.attrgetter("done")


class AsyncClient(ModelsMixin):
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
    ``ValueError``).

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
            instead. A warning is logged once per client.
        retry: when to retry calls that failed before anything reached you
            (see :class:`Retry`); ``None`` never retries.

    At most one of ``ssl``, ``verify`` and ``dangerously_skip_tls_verify``
    may be given.
    """

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
                "logprobs": logprobs,
                "top_logprobs": top_logprobs,
                "truncate": truncate,
                "shift": shift,
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
        web_url = resolve_host(self.web_url)
        if api_key is None and self._authorization and self.base_url == web_url:
            # A client made for ollama.com with its own Authorization header
            # (the official client's way) authorises the web API too.
            authorization = self._authorization
        else:
            authorization = conv.web_authorization(path.rpartition("/")[2], api_key)
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

        The key is ``api_key``, else the client's own ``Authorization``
        header when the client itself talks to :attr:`web_url` (a header meant
        for another host is never sent there), else ``$OLLAMA_API_KEY``.
        Requests go to :attr:`web_url` (``https://ollama.com``) on a
        connection of their own, whatever the client's host.

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
