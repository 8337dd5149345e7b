"""Types shared by several endpoints: messages, tool calls, tools, options
(and the ``TypedDict``s of their dict literals), model details, log
probabilities."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    Never,
    Required,
    TypeAlias,
    TypedDict,
    TypeVar,
    overload,
)

from msgspec import UNSET, UnsetType, field

from ._base import Model

__all__ = [
    "DebugInfo",
    "Image",
    "Logprob",
    "Message",
    "MessageDict",
    "ModelDetails",
    "Options",
    "OptionsDict",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "ToolParameters",
    "ToolProperty",
    "UntypedMapping",
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


# -- dict literals of options= and messages=, for type checkers ----------------
#
# At run time a dict is a dict, checked and converted by ``_args`` as before.
# A parameter takes the Struct, the TypedDict, or a mapping whose values
# have no static type (UntypedMapping, such as dict[str, Any]): a dict
# literal is checked against the TypedDict, a dict the program built from
# data (JSON, a config file, argparse) passes as it is.

UntypedMapping: TypeAlias = Mapping[str, Never]
"""A mapping whose values have no static type: ``dict[str, Any]``,
``Mapping[str, Any]``, or ``Any`` itself (``json.loads``). ``Any`` is
assignable to ``Never``, so these match; a mapping with typed values
(``dict[str, float]``, ``dict[str, str]``) does not, because a misspelled
dict literal types as one of those too, and accepting it would accept the
misspelling. Such a mapping is checked at run time, as any mapping is."""

_ImageValue: TypeAlias = (
    Image | str | bytes | bytearray | memoryview | os.PathLike[str] | io.IOBase
)


class OptionsDict(TypedDict, total=False):
    """``options=`` (and ``create(parameters=...)``) as a dict literal: the
    options the server reads (``Options`` and ``Runner`` in Ollama's
    ``api/types.go``), with the types its ``FromMap`` accepts. ``None``
    leaves an option at the server's default (the client does not send it).

    Integer options are ``int``: the server truncates a fraction (the client
    does the same, ``4096.0`` is sent as ``4096``), so a checker flags one as
    the likely mistake it is. ``stop`` is a list or tuple, never a single
    string (the server rejects one). A key the server does not know is
    ignored by it (logged); a checker flags it here: pass a ``dict[str, Any]``
    to send one anyway.
    """

    # Load-time options (Runner): they take effect when the model loads.
    num_ctx: int | None
    """Context window in tokens."""
    num_batch: int | None
    num_gpu: int | None
    """Layers to offload to the GPU(s) (``-1``: as many as fit)."""
    main_gpu: int | None
    use_mmap: bool | None
    num_thread: int | None
    draft_num_predict: int | None
    """Speculative decoding: tokens the draft model proposes per step."""
    # Per-request options.
    num_keep: int | None
    seed: int | None
    num_predict: int | None
    """Maximum number of tokens to generate (``-1``: no limit)."""
    top_k: int | None
    top_p: float | None
    min_p: float | None
    typical_p: float | None
    repeat_last_n: int | None
    temperature: float | None
    repeat_penalty: float | None
    presence_penalty: float | None
    frequency_penalty: float | None
    stop: list[str] | tuple[str, ...] | None
    """Stop sequences."""


class MessageDict(TypedDict, total=False):
    """One entry of ``messages=`` as a dict literal: the fields of
    :class:`Message`. ``role`` is required; a ``None`` value is left out.

    ``role`` is one of the four roles the chat templates know; the server
    lowercases any other string and sends it on, so a role held in a plain
    ``str`` is flagged: annotate it with the ``Literal`` or pass a
    :class:`Message`.
    """

    role: Required[Literal["system", "user", "assistant", "tool"]]
    content: str | None
    thinking: str | None
    """The model's reasoning, sent back on an assistant turn."""
    images: Sequence[_ImageValue] | None
    """Bytes, paths, binary files, base64 strings or :class:`Image`."""
    tool_calls: Sequence[ToolCall | Mapping[str, Any]] | None
    """The calls of an assistant turn, as the chat response gave them."""
    tool_name: str | None
    """On ``role="tool"`` results: the name of the tool that ran."""
    tool_call_id: str | None
    """On ``role="tool"`` results: the id of the call answered."""


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
