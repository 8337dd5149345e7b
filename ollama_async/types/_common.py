"""Types shared by several endpoints: messages, tool calls, tools, options,
model details, log probabilities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar, overload

from msgspec import UNSET, UnsetType, field

from ._base import Model

__all__ = [
    "DebugInfo",
    "Image",
    "Logprob",
    "Message",
    "ModelDetails",
    "Options",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "ToolParameters",
    "ToolProperty",
]

T = TypeVar("T")

if TYPE_CHECKING:
    OrNull = Annotated[T, "null on the wire"]
else:

    class OrNull:
        """``OrNull[X]``: a response field that also decodes JSON ``null``.

        msgspec sees ``X | None``; type checkers see ``X``, because the Struct's
        ``__post_init__`` (which msgspec runs after decoding) replaces the None
        with ``X``'s empty value. Go encodes a nil slice as ``null`` when the
        field has no ``omitempty``, and ollama.com may send ``null`` as well.
        """

        def __class_getitem__(cls, tp: Any) -> Any:
            return tp | None


class Image(Model, kw_only=True):
    """An image for ``images=``: bytes, a path, a binary file object or a
    base64 str; the official client's wrapper. Plain values work as well."""

    value: Any


class ToolCallFunction(Model, kw_only=True, gc=False):
    """The function part of a tool call."""

    name: str
    """Name of the tool the model wants to run."""
    arguments: dict[str, Any] = {}
    """Arguments as a JSON object (not a string, unlike OpenAI)."""
    index: int | None = None
    """Position of the call within the turn."""


class ToolCall(Model, kw_only=True, gc=False):
    """A tool call made by the model."""

    function: ToolCallFunction
    id: str | None = None
    """Server-assigned call id (``call_`` + 8 characters) when present."""

    Function = ToolCallFunction


class Message(Model, kw_only=True, gc=False):
    """One chat message, sent in ``messages`` and received in chat responses."""

    role: str
    """``system``, ``user``, ``assistant`` or ``tool`` (the server accepts any)."""
    content: str = ""
    """Text of the message; ``""`` in a chunk that only carries tool calls."""
    thinking: str | None = None
    """The model's reasoning, when thinking is on."""
    images: list[str] | None = None
    """Images as padded base64 strings without a data-URL prefix."""
    tool_name: str | None = None
    """On ``role="tool"`` results: the name of the tool that ran."""
    tool_calls: list[ToolCall] | None = None
    """Tool calls requested by the model (assistant turns)."""
    tool_call_id: str | None = None
    """On ``role="tool"`` results: the id of the call answered."""

    ToolCall = ToolCall

    @overload
    def parse(self) -> Any: ...
    @overload
    def parse(self, type: type[T]) -> T: ...
    def parse(self, type: Any = Any) -> Any:
        """``content`` decoded from JSON into ``type`` (a msgspec Struct,
        dataclass, TypedDict, pydantic model ...; plain builtins without one).

        Raises:
            StructuredOutputError: the content is not JSON, is cut short, or
                does not fit ``type``; the error carries an excerpt.
        """
        from .._schema import parse_json

        return parse_json(self.content, type)


class ToolProperty(Model, kw_only=True):
    """JSON schema of one tool parameter, with the keywords the server reads
    (``ToolProperty`` in Ollama's ``api/types.go``). Schemas passed as dicts
    are sent as given, so keywords this type does not list are never lost."""

    type: str | list[str] | UnsetType = UNSET
    description: str | UnsetType = UNSET
    enum: list[Any] | UnsetType = UNSET
    items: Any | UnsetType = UNSET
    any_of: list[ToolProperty] | UnsetType = field(default=UNSET, name="anyOf")
    """``anyOf``: the value matches one of these schemas (``X | None`` ...)."""
    properties: dict[str, ToolProperty] | UnsetType = UNSET
    """The fields of an ``object`` parameter."""
    required: list[str] | UnsetType = UNSET
    """The fields of an ``object`` parameter that must be given."""


class ToolParameters(Model, kw_only=True, omit_defaults=False):
    """JSON schema of a tool's parameters (an object schema)."""

    # omit_defaults=False: ``"type": "object"`` must reach the server even
    # though it is the default (the model is shown the schema as sent).

    type: str = "object"
    properties: dict[str, Any] = {}
    required: list[str] | UnsetType = UNSET
    defs: dict[str, Any] | UnsetType = field(default=UNSET, name="$defs")
    """``$defs`` of the schema, for nested types."""
    items: Any | UnsetType = UNSET
    """``items`` of the schema; the server and the official client have it."""

    Property = ToolProperty


class ToolFunction(Model, kw_only=True):
    """The function a tool exposes to the model."""

    name: str
    description: str | UnsetType = UNSET
    parameters: ToolParameters | dict[str, Any] | UnsetType = UNSET

    Parameters = ToolParameters


class Tool(Model, kw_only=True, omit_defaults=False):
    """A tool definition passed to ``chat(tools=...)``."""

    # omit_defaults=False: ``"type": "function"`` is always sent, as the
    # official client does; UNSET fields are still left out.

    function: ToolFunction
    type: str = "function"

    Function = ToolFunction


class Options(Model, kw_only=True):
    """Model options (``options=``). Unknown keys are accepted by the server but
    ignored; pass a plain dict to send keys this type does not list."""

    # Load-time options.
    num_ctx: int | UnsetType = UNSET
    num_batch: int | UnsetType = UNSET
    num_gpu: int | UnsetType = UNSET
    main_gpu: int | UnsetType = UNSET
    use_mmap: bool | UnsetType = UNSET
    num_thread: int | UnsetType = UNSET
    draft_num_predict: int | UnsetType = UNSET
    """Speculative decoding: tokens the draft model proposes per step (the
    server's default is 4 for a model with a draft model; 0 turns it off)."""
    # Per-request sampling options.
    num_keep: int | UnsetType = UNSET
    seed: int | UnsetType = UNSET
    num_predict: int | UnsetType = UNSET
    """Maximum number of tokens to generate (``-1``: no limit)."""
    top_k: int | UnsetType = UNSET
    top_p: float | UnsetType = UNSET
    min_p: float | UnsetType = UNSET
    typical_p: float | UnsetType = UNSET
    repeat_last_n: int | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    repeat_penalty: float | UnsetType = UNSET
    presence_penalty: float | UnsetType = UNSET
    frequency_penalty: float | UnsetType = UNSET
    stop: list[str] | UnsetType = UNSET
    """Stop sequences (an array, never a single string)."""


class TokenLogprob(Model, kw_only=True, gc=False):
    """Log probability of one token."""

    token: str
    logprob: float
    bytes: list[int] | None = None


class Logprob(TokenLogprob, kw_only=True, gc=False):
    """Log probability of a generated token with its top alternatives."""

    top_logprobs: list[TokenLogprob] | None = None


class ModelDetails(Model, kw_only=True, gc=False):
    """Model details reported by tags, show and ps."""

    parent_model: str | None = None
    format: str | None = None
    family: str | None = None
    families: list[str] | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    context_length: int | None = None
    embedding_length: int | None = None


class DebugInfo(Model, kw_only=True, gc=False):
    """Reply to ``_debug_render_only``."""

    rendered_template: str = ""
    image_count: int | None = None
