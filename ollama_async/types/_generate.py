"""``/api/generate`` and ``/api/chat``: requests, chunks and final responses.

A streamed chunk and the final (or non-streamed) response share one type per
endpoint, as in the official client: the final one has ``done=True`` (or, from
some MLX-backed servers, only a ``done_reason``) and the metrics. Every field
but chat's ``message`` has a default: servers and ollama.com leave some out.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar, overload

from msgspec import UNSET, UnsetType, field

from ._base import Model
from ._common import DebugInfo, Logprob, Message, ToolCall

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "GenerateRequest",
    "GenerateResponse",
    "ThinkLevel",
]

ThinkLevel = Literal["low", "medium", "high", "max"]
T = TypeVar("T")


class _Metrics(Model, kw_only=True, gc=False):
    # The fields both responses share, in the official client's order (its
    # BaseGenerateResponse), so dumps list the keys as it does.
    model: str = ""
    """The model name, as sent in the request."""
    remote_model: str | None = None
    """Cloud models: the name of the upstream model that answered."""
    remote_host: str | None = None
    """Cloud models: the URL of the upstream host that answered."""
    created_at: str | None = None
    """RFC 3339 UTC timestamp with up to 9 fractional digits."""
    done: bool = False
    """``True`` only on the final chunk. A stream whose last line has a
    ``done_reason`` but no ``done`` (MLX-backed servers) also ends normally;
    that line keeps ``done=False``, as sent."""
    done_reason: str | None = None
    """Final chunk: ``stop``, ``length``; load/unload replies: ``load``, ``unload``."""
    total_duration: int | None = None
    """Nanoseconds for the whole request (final chunk)."""
    load_duration: int | None = None
    """Nanoseconds spent loading the model (final chunk)."""
    prompt_eval_count: int | None = None
    """Number of prompt tokens evaluated (final chunk)."""
    prompt_eval_duration: int | None = None
    """Nanoseconds spent evaluating the prompt (final chunk)."""
    eval_count: int | None = None
    """Number of tokens generated (final chunk)."""
    eval_duration: int | None = None
    """Nanoseconds spent generating (final chunk)."""
    _error: None = field(default=None, name="error")
    # Never set. GenerateResponse has no required field, so an `{"error": ...}`
    # line would decode as an empty chunk; this field makes it fail instead (a
    # string is not null) at no cost to other lines, and the stream and the
    # client then raise StreamError with its message, as Go's client does
    # (api/client.go, stream).


class GenerateResponse(_Metrics, kw_only=True, gc=False):
    """A chunk of a ``generate`` stream, or the whole non-streamed answer."""

    response: str = ""
    """Text generated in this chunk (``""`` on the final chunk of a stream, and
    when the server leaves it out, as image generation and ollama.com may)."""
    thinking: str | None = None
    """Reasoning generated in this chunk, when thinking is on."""
    context: list[int] | None = None
    """Final chunk: the conversation encoding (deprecated by the server)."""
    tool_calls: list[ToolCall] | None = None
    """Final chunk, for models with a built-in tool parser."""
    logprobs: list[Logprob] | None = None
    """Log probabilities of the generated tokens, when requested."""
    image: str | None = None
    """Image generation (experimental): the base64 image, on the final chunk.
    Sent by servers from ollama/ollama#13753 until #16615 removed it."""
    completed: int | None = None
    """Image generation (experimental): diffusion steps done so far."""
    total: int | None = None
    """Image generation (experimental): diffusion steps in all."""
    debug_info: DebugInfo | None = field(default=None, name="_debug_info")
    """Reply to ``_debug_render_only``: the rendered prompt, nothing generated."""

    @overload
    def parse(self) -> Any: ...
    @overload
    def parse(self, type: type[T]) -> T: ...
    def parse(self, type: Any = Any) -> Any:
        """``response`` decoded from JSON into ``type`` (see
        :meth:`Message.parse`). Call it on the whole answer: ``stream=False``,
        or a stream's ``await stream.collect()``."""
        from .._schema import parse_json

        return parse_json(self.response, type, done_reason=self.done_reason)


class ChatResponse(_Metrics, kw_only=True, gc=False):
    """A chunk of a ``chat`` stream, or the whole non-streamed answer."""

    message: Message
    """The assistant's message (a piece of it, in a stream). Required: Ollama
    sends it on every line, and a line without it is not a chat chunk."""
    logprobs: list[Logprob] | None = None
    """Log probabilities of the generated tokens, when requested."""
    debug_info: DebugInfo | None = field(default=None, name="_debug_info")
    """Reply to ``_debug_render_only``: the rendered prompt, nothing generated."""

    @overload
    def parse(self) -> Any: ...
    @overload
    def parse(self, type: type[T]) -> T: ...
    def parse(self, type: Any = Any) -> Any:
        """``message.content`` decoded from JSON into ``type`` (see
        :meth:`Message.parse`). Call it on the whole answer: ``stream=False``,
        or a stream's ``await stream.collect()``."""
        from .._schema import parse_json

        return parse_json(self.message.content, type, done_reason=self.done_reason)


class _GenerateParams(Model, kw_only=True):
    format: str | dict[str, Any] | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET
    keep_alive: float | str | UnsetType = UNSET
    think: bool | ThinkLevel | UnsetType = UNSET
    truncate: bool | UnsetType = UNSET
    shift: bool | UnsetType = UNSET
    logprobs: bool | UnsetType = UNSET
    top_logprobs: int | UnsetType = UNSET


class GenerateRequest(_GenerateParams, kw_only=True):
    """Body of ``POST /api/generate``."""

    model: str
    stream: bool
    """Always sent: the server streams when it is absent."""
    prompt: str | UnsetType = UNSET
    suffix: str | UnsetType = UNSET
    system: str | UnsetType = UNSET
    template: str | UnsetType = UNSET
    context: list[int] | UnsetType = UNSET
    raw: bool | UnsetType = UNSET
    images: list[str] | UnsetType = UNSET
    width: int | UnsetType = UNSET
    height: int | UnsetType = UNSET
    steps: int | UnsetType = UNSET


class ChatRequest(_GenerateParams, kw_only=True):
    """Body of ``POST /api/chat``."""

    model: str
    stream: bool
    """Always sent: the server streams when it is absent."""
    messages: list[Message] | UnsetType = UNSET
    tools: list[dict[str, Any]] | UnsetType = UNSET
