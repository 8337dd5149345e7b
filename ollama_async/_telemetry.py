"""OpenTelemetry for each call: one span, and the duration, token usage and
time-to-first-chunk histograms, named as the OpenTelemetry semantic
conventions for generative AI name them (:data:`SEMCONV_VERSION`).

Only ``opentelemetry-api`` is used, and it is imported by
:func:`instruments_for` the first time a client with telemetry on makes a
call. Without it, or with ``telemetry=False``, a client holds ``None`` and
each call pays one ``is None`` test.

A :class:`CallRecord` follows one call. Its hooks run per call, never per
chunk: at the start, when a host answers, on each retry and failover, at a
stream's first chunk (seen by a decoder that puts the plain one back after
that chunk, unless content is captured), at the final line, and at the end.

Must not import aiohttp or the client; knows requests and responses only by
the attributes it reads from them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from ._config import Telemetry
from ._version import __version__

__all__ = [
    "CURRENT_CALL",
    "PROVIDER",
    "SEMCONV_VERSION",
    "CallRecord",
    "Instruments",
    "instruments_for",
]

T = TypeVar("T")

SEMCONV_VERSION: Final = "1.41.0"
"""The release of the semantic conventions followed: the last in which the
GenAI conventions were current. Later releases (1.43.0) keep the same names
but mark them as moved to open-telemetry/semantic-conventions-genai, which
has made no release yet."""
PROVIDER: Final = "ollama"
_SCHEMA_URL: Final = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
_CAPTURE_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CAPTURE_VALUES: Final = frozenset({"true", "span_only", "span_and_event"})

# gen_ai.operation.name by route: the conventions' names for inference, and
# Ollama's own for the rest (the conventions allow system-specific names).
_OPERATIONS: Final = {
    "/api/chat": "chat",
    "/api/generate": "text_completion",
    "/api/embed": "embeddings",
    "/api/embeddings": "embeddings",
    "/api/tags": "list",
    "/api/blobs/{digest}": "blob",
    "/": "heartbeat",
}
_INFERENCE: Final = frozenset({"chat", "text_completion", "embeddings"})
# The buckets the conventions advise for each histogram.
_SECONDS: Final = [0.01 * 2**i for i in range(14)]  # 0.01 s ... 81.92 s
_TOKENS: Final = [4**i for i in range(14)]  # 1 ... 67,108,864
# Ollama options that map to gen_ai.request.* attributes.
_OPTIONS: Final = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "num_predict": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}

CURRENT_CALL: ContextVar[CallRecord | None] = ContextVar(
    "ollama_async_call", default=None
)
"""The call being sent in this context, for the layers below the client
(multi-host routing records its failovers on it)."""

_api: tuple[Any, Any, Any] | None = None
_api_missing = False


def _import_api() -> tuple[Any, Any, Any] | None:
    """``opentelemetry.trace``, ``metrics`` and ``context``, or None when the
    API is not installed; imported once."""
    global _api, _api_missing  # a module-wide import cache
    if _api is None and not _api_missing:
        try:
            from opentelemetry import context, metrics, trace
        except ImportError:
            _api_missing = True
        else:
            _api = (trace, metrics, context)
    return _api


def instruments_for(config: Telemetry) -> Instruments | None:
    """The tracer and meters a client with ``config`` records to, or None
    when its telemetry is off or OpenTelemetry is not installed."""
    if not config.enabled:
        return None
    api = _import_api()
    return None if api is None else Instruments(config, api)


class Instruments:
    """One client's tracer and histograms (shared by its views)."""

    def __init__(self, config: Telemetry, api: tuple[Any, Any, Any]) -> None:
        trace, metrics, context = api
        self._trace = trace
        self._context = context
        self._client_kind = trace.SpanKind.CLIENT
        self._internal_kind = trace.SpanKind.INTERNAL
        self.tracer = trace.get_tracer(
            "ollama_async",
            __version__,
            tracer_provider=config.tracer_provider,
            schema_url=_SCHEMA_URL,
        )
        meter = metrics.get_meter(
            "ollama_async",
            __version__,
            meter_provider=config.meter_provider,
            schema_url=_SCHEMA_URL,
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_SECONDS,
        )
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKENS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description=(
                "Time to receive the first chunk, measured from when the client "
                "issues the generation request to when the first chunk is "
                "received in the response stream."
            ),
            explicit_bucket_boundaries_advisory=_SECONDS,
        )
        # While the application has set no provider, the global ones are
        # proxies that record nothing: calls then skip telemetry entirely
        # (live() is False) instead of making spans of no trace. Compared by
        # identity, so setting a provider later turns it on.
        tracer_provider = trace.get_tracer_provider()
        self._idle_tracers = (
            tracer_provider
            if config.tracer_provider is None
            and isinstance(tracer_provider, trace.ProxyTracerProvider)
            else None
        )
        meter_provider = metrics.get_meter_provider()
        self._idle_meters = (
            meter_provider
            if config.meter_provider is None
            and type(meter_provider).__name__ == "_ProxyMeterProvider"
            else None
        )
        self._get_tracer_provider = trace.get_tracer_provider
        self._get_meter_provider = metrics.get_meter_provider
        capture = config.capture_content
        if capture is None:
            capture = os.environ.get(_CAPTURE_ENV, "").lower() in _CAPTURE_VALUES
        self.capture_content = capture
        self._servers: dict[str, tuple[str, int] | None] = {}

    def live(self) -> bool:
        """Whether anything would record this call: a provider given to the
        client, or one the application has set globally."""
        return (
            self._idle_tracers is None
            or self._idle_meters is None
            or self._get_tracer_provider() is not self._idle_tracers
            or self._get_meter_provider() is not self._idle_meters
        )

    def server(self, base_url: str) -> tuple[str, int] | None:
        """``server.address`` and ``server.port`` of a base URL (None for a
        multi-host client's joined URLs, until a host answers)."""
        if base_url in self._servers:
            return self._servers[base_url]
        known = None
        if "," not in base_url:
            parts = urlsplit(base_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            known = (parts.hostname or "", port)
        self._servers[base_url] = known
        return known

    def call(
        self,
        path: str,
        model: str,
        request: Any,
        base_url: str,
        *,
        stream: bool = False,
    ) -> CallRecord:
        """Start the record of one call to ``path``."""
        operation = _OPERATIONS.get(path) or path.rpartition("/")[2]
        return CallRecord(
            self,
            operation,
            model,
            request,
            self.server(base_url),
            stream=stream,
            kind=self._client_kind,
        )

    def tool_loop(self, model: str, base_url: str) -> CallRecord:
        """Start the record of a tool loop: an ``invoke_agent`` span, the
        parent of its chat rounds (their parameters are on their spans)."""
        return CallRecord(
            self,
            "invoke_agent",
            model,
            None,
            self.server(base_url),
            stream=False,
            kind=self._internal_kind,
        )

    def tool_call(self, name: str, call_id: str | None, arguments: Any) -> Any:
        """Start an ``execute_tool`` span (a child of the current one, the
        tool loop's) for one tool the model called; the current span while
        the tool runs, ended by :meth:`tool_done`."""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
        }
        if call_id:
            attributes["gen_ai.tool.call.id"] = call_id
        span = self.tracer.start_span(
            f"execute_tool {name}", kind=self._internal_kind, attributes=attributes
        )
        if self.capture_content and span.is_recording():
            span.set_attribute("gen_ai.tool.call.arguments", _json(arguments))
        return span

    def tool_done(self, span: Any, result: Any, error: BaseException | None) -> None:
        """End a tool's span: ``result`` is what went back to the model,
        ``error`` what the tool raised (or why it could not run)."""
        if span.is_recording():
            if error is not None:
                span.set_attribute("error.type", _error_type(error))
                span.set_status(self._trace.StatusCode.ERROR, str(error))
            elif self.capture_content:
                span.set_attribute("gen_ai.tool.call.result", str(result))
        span.end()

    def activate_span(self, span: Any) -> Any:
        """Make ``span`` current; :meth:`deactivate_span` undoes it."""
        return self._context.attach(self._trace.set_span_in_context(span))

    def deactivate_span(self, token: Any) -> None:
        self._context.detach(token)

    def _activate(self, record: CallRecord) -> tuple[Any, Any] | None:
        """Make ``record``'s span the current one (so that aiohttp's client
        spans nest under it) and, when it records, the record the
        :data:`CURRENT_CALL` (for retry and failover events). A span of no
        trace at all (no SDK set up) has nothing to pass on: None."""
        if not record.propagates:
            return None
        ctx = self._context.attach(self._trace.set_span_in_context(record.span))
        return ctx, CURRENT_CALL.set(record) if record.recording else None

    async def run(self, record: CallRecord, work: Awaitable[T]) -> T:
        """Await ``work`` with ``record``'s span current; a cancel or an
        error ends the record (success is the caller's to record)."""
        tokens = self._activate(record)
        try:
            return await work
        except BaseException as exc:
            record.interrupted(exc)
            raise
        finally:
            self._deactivate(tokens)

    def _deactivate(self, tokens: tuple[Any, Any] | None) -> None:
        if tokens is not None:
            if tokens[1] is not None:
                CURRENT_CALL.reset(tokens[1])
            self._context.detach(tokens[0])


class CallRecord:
    """The span and measurements of one call, from the request to the end."""

    __slots__ = (
        "_ended",
        "_first_chunk_at",
        "_metric_attributes",
        "_output",
        "_started",
        "instruments",
        "operation",
        "propagates",
        "recording",
        "span",
    )

    def __init__(
        self,
        instruments: Instruments,
        operation: str,
        model: str,
        request: Any,
        server: tuple[str, int] | None,
        *,
        stream: bool,
        kind: Any,
    ) -> None:
        self.instruments = instruments
        self.operation = operation
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": PROVIDER,
        }
        if model:
            attributes["gen_ai.request.model"] = model
        if server is not None:
            attributes["server.address"], attributes["server.port"] = server
        self._metric_attributes = dict(attributes)
        name = f"{operation} {model}" if model else operation
        # Started with the attributes a sampler may read; the request's
        # parameters only when the span records (not on every call of a
        # process where OpenTelemetry is installed but not set up).
        self.span = span = instruments.tracer.start_span(
            name, kind=kind, attributes=attributes
        )
        self.recording: bool = span.is_recording()
        self.propagates: bool = self.recording or span.get_span_context().is_valid
        if self.recording and request is not None:
            more: dict[str, Any] = {}
            _request_attributes(more, request, stream=stream)
            if more:
                span.set_attributes(more)
            if instruments.capture_content:
                _input_content(span, request)
        self._output: list[str] | None = None
        self._started = time.perf_counter()
        self._first_chunk_at: float | None = None
        self._ended = False

    # -- during the call -------------------------------------------------------

    def served_by(self, base_url: str) -> None:
        """The host at ``base_url`` answered (a multi-host client's choice)."""
        server = self.instruments.server(base_url)
        if server is None:
            return
        address, port = server
        metric = self._metric_attributes
        if (
            metric.get("server.address") == address
            and metric.get("server.port") == port
        ):
            return
        metric["server.address"] = address
        metric["server.port"] = port
        if self.recording:
            self.span.set_attributes({"server.address": address, "server.port": port})

    def retry(self, attempt: int, delay: float, exc: BaseException) -> None:
        """The policy retries after ``exc``: try ``attempt + 1`` in ``delay``."""
        if self.recording:
            self.span.add_event(
                "retry",
                {
                    "ollama_async.retry.attempt": attempt + 1,
                    "ollama_async.retry.delay": delay,
                    "error.type": _error_type(exc),
                },
            )

    def failed_over(self, base_url: str, exc: BaseException) -> None:
        """The host at ``base_url`` failed before answering; another is tried."""
        if self.recording:
            event: dict[str, Any] = {"error.type": _error_type(exc)}
            server = self.instruments.server(base_url)
            if server is not None:
                event["server.address"], event["server.port"] = server
            self.span.add_event("failover", event)

    def watch_first_chunk(
        self, decode: Callable[[bytes], Any], restore: Callable[[], None]
    ) -> Callable[[bytes], Any]:
        """A decoder for a stream's lines that notes the first chunk's time,
        then calls ``restore`` to put ``decode`` back (or, when content is
        captured, keeps gathering the answer's text)."""
        capture = self.instruments.capture_content and self.recording
        output: list[str] = []

        def first(line: bytes) -> Any:
            chunk = decode(line)
            if self._first_chunk_at is None:
                self._first_chunk_at = time.perf_counter()
                if not capture:
                    restore()
            if capture:
                output.append(_chunk_text(chunk))
            return chunk

        if capture:
            self._output = output
        return first

    # -- the end ---------------------------------------------------------------

    def succeeded(self, response: Any) -> None:
        """The call's whole response (or a stream's final line) arrived."""
        self._end(_response_attributes(response), response)

    def failed(self, exc: BaseException) -> None:
        """The call raised ``exc``."""
        self._end(None, None, exc)

    def interrupted(self, exc: BaseException) -> None:
        """The call was stopped by ``exc``: a cancel (not an error) or a
        failure."""
        if isinstance(exc, asyncio.CancelledError):
            self.closed_early(cancelled=True)
        else:
            self.failed(exc)

    def tool_loop_done(self, response: Any, rounds: int) -> None:
        """A tool loop ended with the model's ``response`` after ``rounds``
        chat requests (their tokens are on their own spans)."""
        if self.recording:
            self.span.set_attribute("ollama_async.tool_loop.rounds", rounds)
        attributes = {
            k: v
            for k, v in _response_attributes(response).items()
            if not k.startswith("gen_ai.usage.")
        }
        self._end(attributes, response)

    def closed_early(self, *, cancelled: bool) -> None:
        """A stream was closed before its final line: by the consumer (a
        ``break``, ``close()``) or by cancelling its task. Not an error."""
        if self._ended:
            return
        if self.recording:
            how = "cancelled" if cancelled else "closed"
            self.span.set_attribute("ollama_async.stream.end", how)
            self.span.add_event(how)
        self._end(None, None)

    def _end(
        self,
        attributes: dict[str, Any] | None,
        response: Any,
        exc: BaseException | None = None,
    ) -> None:
        if self._ended:
            return
        self._ended = True
        instruments = self.instruments
        now = time.perf_counter()
        span = self.span
        metric = self._metric_attributes
        error_type = None if exc is None else _error_type(exc)
        if error_type is not None:
            metric["error.type"] = error_type
        if attributes and "gen_ai.response.model" in attributes:
            metric["gen_ai.response.model"] = attributes["gen_ai.response.model"]
        if self.recording:
            if attributes:
                span.set_attributes(attributes)
            if self._first_chunk_at is not None:
                span.set_attribute(
                    "gen_ai.response.time_to_first_chunk",
                    self._first_chunk_at - self._started,
                )
            if response is not None and instruments.capture_content:
                _output_content(span, response, self._output)
            if exc is not None:
                span.set_attribute("error.type", error_type)
                span.set_status(instruments._trace.StatusCode.ERROR, str(exc))
        span.end()
        if self.operation not in _INFERENCE:
            return
        instruments.duration.record(now - self._started, metric)
        if self._first_chunk_at is not None:
            instruments.time_to_first_chunk.record(
                self._first_chunk_at - self._started, metric
            )
        if attributes:
            for kind, key in (
                ("input", "gen_ai.usage.input_tokens"),
                ("output", "gen_ai.usage.output_tokens"),
            ):
                count = attributes.get(key)
                if count is not None:
                    instruments.token_usage.record(
                        count, {**metric, "gen_ai.token.type": kind}
                    )


# -- attributes ------------------------------------------------------------------


def _error_type(exc: BaseException) -> str:
    return type(exc).__qualname__


def _present(value: Any) -> bool:
    # msgspec's UNSET and None both mean "not sent".
    return value is not None and type(value).__name__ != "UnsetType"


def _request_attributes(
    attributes: dict[str, Any], request: Any, *, stream: bool
) -> None:
    options = getattr(request, "options", None)
    if isinstance(options, Mapping):
        for key, name in _OPTIONS.items():
            value = options.get(key)
            if _present(value) and not isinstance(value, bool):
                attributes[name] = value
        stop = options.get("stop")
        if isinstance(stop, str):
            attributes["gen_ai.request.stop_sequences"] = [stop]
        elif isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
            attributes["gen_ai.request.stop_sequences"] = list(stop)
    format = getattr(request, "format", None)
    if _present(format) and format != "":
        attributes["gen_ai.output.type"] = "json"
    if stream:
        attributes["gen_ai.request.stream"] = True
    dimensions = getattr(request, "dimensions", None)
    if _present(dimensions):
        attributes["gen_ai.embeddings.dimension.count"] = dimensions


def _response_attributes(response: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    model = getattr(response, "model", None)
    if model:
        attributes["gen_ai.response.model"] = model
    reason = getattr(response, "done_reason", None)
    if reason:
        attributes["gen_ai.response.finish_reasons"] = [reason]
    prompt = getattr(response, "prompt_eval_count", None)
    if isinstance(prompt, int):
        attributes["gen_ai.usage.input_tokens"] = prompt
    answer = getattr(response, "eval_count", None)
    if isinstance(answer, int):
        attributes["gen_ai.usage.output_tokens"] = answer
    return attributes


# -- content (opt-in) --------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _message_parts(message: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    thinking = getattr(message, "thinking", None)
    if thinking:
        parts.append({"type": "reasoning", "content": thinking})
    content = getattr(message, "content", "")
    if content:
        kind = "tool_call_response" if message.role == "tool" else "text"
        if kind == "text":
            parts.append({"type": "text", "content": content})
        else:
            call_id = getattr(message, "tool_call_id", None)
            parts.append({"type": kind, "id": call_id, "response": content})
    for call in getattr(message, "tool_calls", None) or ():
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.function.name,
                "arguments": call.function.arguments,
            }
        )
    return parts


def _input_content(span: Any, request: Any) -> None:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    given = getattr(request, "messages", None)
    if isinstance(given, list):
        for message in given:
            if message.role == "system":
                system.append({"type": "text", "content": message.content})
            else:
                messages.append(
                    {"role": message.role, "parts": _message_parts(message)}
                )
    prompt = getattr(request, "prompt", None)
    if isinstance(prompt, str) and prompt:
        messages.append(
            {"role": "user", "parts": [{"type": "text", "content": prompt}]}
        )
    system_prompt = getattr(request, "system", None)
    if isinstance(system_prompt, str) and system_prompt:
        system.append({"type": "text", "content": system_prompt})
    if messages:
        span.set_attribute("gen_ai.input.messages", _json(messages))
    if system:
        span.set_attribute("gen_ai.system_instructions", _json(system))


def _chunk_text(chunk: Any) -> str:
    message = getattr(chunk, "message", None)
    if message is not None:
        return str(message.content or "")
    return str(getattr(chunk, "response", "") or "")


def _output_content(span: Any, response: Any, streamed: list[str] | None) -> None:
    message = getattr(response, "message", None)
    if message is not None:  # chat
        parts = _message_parts(message)
        if streamed is not None:  # the final line's content is only its own
            text = "".join(streamed)
            parts = [p for p in parts if p["type"] != "text"]
            if text:
                parts.insert(0, {"type": "text", "content": text})
    elif hasattr(response, "response"):  # generate
        text = "".join(streamed) if streamed is not None else response.response
        parts = [{"type": "text", "content": text}] if text else []
    else:
        return
    output = {
        "role": "assistant",
        "parts": parts,
        "finish_reason": getattr(response, "done_reason", None) or "stop",
    }
    span.set_attribute("gen_ai.output.messages", _json([output]))
