"""Python callables as tools: their definitions (from signature, type hints and
docstring), running the calls a model makes, and the tool-calling loop behind
:meth:`AsyncClient.chat_with_tools`. Must not import aiohttp.

Definitions are built when first used and cached per callable; ``inspect``
and ``typing`` introspection only happens then, never at import.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, overload

import msgspec

from . import _convert as conv
from ._aggregate import fold_chat
from ._errors import MaxToolRoundsError, RequestError
from ._schema import inline_refs, parse_json
from .types import ChatResponse, Message, ToolCall

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["ToolLoopResult", "ToolResult", "run_tool_loop", "tool_definition"]

T = TypeVar("T")

# -- docstrings ----------------------------------------------------------------

_GOOGLE_ARGS = re.compile(
    r"(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:"
)
_GOOGLE_OTHER = re.compile(
    r"(?:Returns?|Yields?|Raises|Examples?|Notes?|Attributes|See Also|Warnings?"
    r"|References|Todo)\s*:"
)
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_NUMPY_RULE = re.compile(r"-{3,}")
_NUMPY_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?::.*)?")
_REST_PARAM = re.compile(
    r":(?:param|parameter|arg|argument|key|keyword)\s+(.*?):\s*(.*)"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(p.split()) for p in parts if p.strip()).strip()


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary and per-parameter descriptions of a Google, NumPy or reST
    docstring."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, list[str]] = {}
    i = 0
    in_summary = True
    while i < len(lines):
        line = lines[i]
        text = line.strip()
        is_numpy = i + 1 < len(lines) and _NUMPY_RULE.fullmatch(lines[i + 1].strip())
        if is_numpy:
            in_summary = False
            i += 2
            if text.lower() not in ("parameters", "other parameters", "arguments"):
                while i < len(lines) and not (
                    i + 1 < len(lines) and _NUMPY_RULE.fullmatch(lines[i + 1].strip())
                ):
                    i += 1
                continue
            current: list[str] | None = None
            while i < len(lines):
                line = lines[i]
                if i + 1 < len(lines) and _NUMPY_RULE.fullmatch(lines[i + 1].strip()):
                    break
                entry = _NUMPY_ENTRY.fullmatch(line.strip())
                if line.strip() and _indent(line) == 0 and entry:
                    for name in entry.group(1).split(","):
                        current = params.setdefault(name.strip(), [])
                elif current is not None:
                    current.append(line)
                i += 1
            continue
        if _GOOGLE_ARGS.fullmatch(text):
            in_summary = False
            base = _indent(line)
            i += 1
            entry_indent: int | None = None
            current = None
            while i < len(lines):
                line = lines[i]
                if line.strip() and _indent(line) <= base:
                    break
                if line.strip():
                    match = _GOOGLE_ENTRY.fullmatch(line.strip())
                    if entry_indent is None:
                        entry_indent = _indent(line)
                    if match and _indent(line) == entry_indent:
                        current = params.setdefault(match.group(1), [])
                        current.append(match.group(2))
                    elif current is not None:
                        current.append(line)
                i += 1
            continue
        rest = _REST_PARAM.fullmatch(text)
        if rest:
            in_summary = False
            name = rest.group(1).split()[-1].lstrip("*")
            current = params.setdefault(name, [rest.group(2)])
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0:
                current.append(lines[i])
                i += 1
            continue
        if text.startswith(":") or _GOOGLE_OTHER.fullmatch(text):
            in_summary = False
        elif in_summary:
            summary.append(line)
        i += 1
    return (
        "\n".join(summary).strip(),
        {name: _join(parts) for name, parts in params.items()},
    )


# -- definitions ---------------------------------------------------------------


class _Spec(msgspec.Struct, frozen=True):
    """What we know about one tool callable."""

    name: str
    definition: dict[str, Any]
    signature: inspect.Signature
    hints: dict[str, Any]
    is_async: bool


_NOT_FOR_MODEL = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _strip_titles(node: Any) -> Any:
    """msgspec titles every Struct and enum with its class name: noise for a
    model, which reads the property name."""
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "default", "examples"):
            out[key] = value
        else:
            out[key] = _strip_titles(value)
    return out


def _flatten_types(node: Any) -> Any:
    """``anyOf`` of bare types (``{"type": "string"}``, ``{"type": "null"}``)
    as one ``type`` list, the form Ollama's tool ``Property`` documents."""
    if isinstance(node, list):
        return [_flatten_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _flatten_types(v) for k, v in node.items()}
    options = out.get("anyOf")
    if (
        isinstance(options, list)
        and options
        and all(isinstance(o, dict) and set(o) == {"type"} for o in options)
        and all(isinstance(o["type"], str) for o in options)
    ):
        del out["anyOf"]
        out["type"] = [o["type"] for o in options]
    return out


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``X | None`` with a ``None`` default: the model should send X or omit it."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(options):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**kept[0], **rest}
    return schema


def _parameter_schema(tool: str, param: inspect.Parameter, hint: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if hint is not inspect.Parameter.empty:
        try:
            raw = msgspec.json.schema(hint)
        except (TypeError, ValueError) as exc:
            raise RequestError(
                f"tool {tool!r}: cannot describe parameter {param.name!r} "
                f"of type {hint!r}: {exc}"
            ) from None
        schema = _strip_titles(inline_refs(raw, keep_recursive=False))
    if param.default is None:
        schema = _without_null(schema)
    elif param.default is not inspect.Parameter.empty:
        try:
            schema["default"] = msgspec.to_builtins(param.default)
        except (TypeError, ValueError):
            pass  # not JSON: the model need not know it
    flat: dict[str, Any] = _flatten_types(schema)
    return flat


def _tool_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None)
    if name is None and isinstance(func, functools.partial):
        name = getattr(func.func, "__name__", None)
    return name if isinstance(name, str) else type(func).__name__


def _is_async(func: Any) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(type(func), "__call__", None)  # noqa: B004 - callable instances
    return not inspect.isfunction(func) and inspect.iscoroutinefunction(call)


def _build(func: Callable[..., Any]) -> _Spec:
    name = _tool_name(func)
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise RequestError(f"tool {name!r} has no inspectable signature") from exc
    target = func.func if isinstance(func, functools.partial) else func
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception as exc:
        raise RequestError(f"tool {name!r}: cannot resolve type hints: {exc}") from exc
    summary, described = parse_docstring(inspect.getdoc(target))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        if param.kind in _NOT_FOR_MODEL:
            continue
        hint = hints.get(param.name, inspect.Parameter.empty)
        schema = _parameter_schema(name, param, hint)
        # The parameter's own words beat its type's docstring; an explicit
        # Annotated[..., Meta(description=...)] beats both.
        if param.name in described and (
            "description" not in schema or typing.get_origin(hint) is not Annotated
        ):
            schema["description"] = described[param.name]
        properties[param.name] = schema
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    function: dict[str, Any] = {"name": name}
    if summary:
        function["description"] = summary
    function["parameters"] = {
        "type": "object",
        "properties": properties,
        "required": required,
    }
    return _Spec(
        name=name,
        definition={"type": "function", "function": function},
        signature=signature,
        hints=hints,
        is_async=_is_async(func),
    )


@functools.lru_cache(maxsize=512)
def _cached(func: Callable[..., Any]) -> _Spec:
    return _build(func)


def spec(func: Callable[..., Any]) -> _Spec:
    """The (cached) spec of a tool callable."""
    try:
        return _cached(func)
    except TypeError as exc:  # unhashable callable
        if "unhashable" not in str(exc):
            raise
        return _build(func)


def tool_definition(func: Callable[..., Any]) -> dict[str, Any]:
    """The tool definition ``chat(tools=[func])`` sends for ``func``.

    Built from the signature, type hints and docstring (Google, NumPy or reST
    style): the summary becomes the description; each parameter gets a JSON
    schema (``Literal``/``Enum`` as ``enum``, ``list[X]`` with ``items``,
    Structs, dataclasses and TypedDicts as nested objects) and its documented
    description; parameters without a default are ``required``.

    Raises:
        RequestError: a parameter's type cannot be described in JSON schema.
    """
    copy: dict[str, Any] = msgspec.json.decode(
        msgspec.json.encode(spec(func).definition)
    )
    return copy


# -- running calls ---------------------------------------------------------------


class ToolResult(msgspec.Struct, kw_only=True):
    """One tool call the loop ran, and what went back to the model."""

    name: str
    """The tool the model called."""
    arguments: dict[str, Any]
    """The arguments as the model sent them."""
    call_id: str | None = None
    """The server's id of the call, when it gave one."""
    content: str = ""
    """What was sent back to the model in the ``tool`` message."""
    value: Any = None
    """What the tool returned (``None`` when it failed)."""
    error: BaseException | None = None
    """What the tool raised, or why it could not be called."""


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, ValueError):
        return str(value)


def _arguments(
    tool: _Spec, arguments: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """Arguments converted to the annotated types (Structs, enums ...)."""
    params = tool.signature.parameters
    takes_extra = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, value in arguments.items():
        param = params.get(name)
        if param is None or param.kind in _NOT_FOR_MODEL:
            if takes_extra:
                kwargs[name] = value
                continue
            raise TypeError(f"{tool.name}() got an unexpected argument {name!r}")
        hint = tool.hints.get(name)
        if hint is not None:
            try:
                value = msgspec.convert(value, hint, strict=False)
            except msgspec.ValidationError as exc:
                raise TypeError(f"invalid argument {name!r}: {exc}") from None
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            args.append(value)  # only in order when all of them come
        else:
            kwargs[name] = value
    tool.signature.bind(*args, **kwargs)  # missing arguments: TypeError
    return args, kwargs


async def _run_one(
    call: ToolCall,
    tools: Mapping[str, Callable[..., Any]],
    *,
    raise_errors: bool,
) -> ToolResult:
    name = call.function.name
    arguments = call.function.arguments
    result = ToolResult(name=name, arguments=arguments, call_id=call.id)
    func = tools.get(name)
    if func is None:
        result.error = LookupError(f"no tool named {name!r}")
        result.content = (
            f"Error: there is no tool named {name!r}; "
            f"available: {', '.join(sorted(tools)) or 'none'}"
        )
        return result
    tool = spec(func)
    try:
        args, kwargs = _arguments(tool, arguments)
    except TypeError as exc:
        result.error = exc
        result.content = f"Error: {exc}"
        return result
    try:
        if tool.is_async:
            value = await func(*args, **kwargs)
        else:
            value = await asyncio.to_thread(func, *args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
    except Exception as exc:
        if raise_errors:
            exc.add_note(f"raised by tool {name!r} called with {arguments!r}")
            raise
        result.error = exc
        result.content = f"Error: {type(exc).__name__}: {exc}"
        return result
    result.value = value
    result.content = _content(value)
    return result


# -- the loop ------------------------------------------------------------------


class ToolLoopResult(msgspec.Struct, kw_only=True):
    """The outcome of :meth:`AsyncClient.chat_with_tools`."""

    response: ChatResponse
    """The model's final answer (the one without tool calls)."""
    messages: list[Message]
    """The whole conversation: the messages given, each assistant turn, each
    tool result, and the final answer. Pass it back to continue."""
    tool_results: list[ToolResult]
    """Every tool call that ran, in order."""
    rounds: int
    """Number of chat requests made."""

    @property
    def message(self) -> Message:
        """The final assistant message."""
        return self.response.message

    @property
    def content(self) -> str:
        """The final answer's text."""
        return self.response.message.content

    @overload
    def parse(self) -> Any: ...
    @overload
    def parse(self, type: type[T]) -> T: ...
    def parse(self, type: Any = Any) -> Any:
        """The final answer decoded from JSON (see :meth:`ChatResponse.parse`)."""
        return parse_json(
            self.response.message.content, type, done_reason=self.response.done_reason
        )


ChunkCallback = Callable[[ChatResponse], Awaitable[None] | None]


async def run_tool_loop(
    client: AsyncClient,
    model: str,
    messages: Sequence[Any],
    *,
    tools: Sequence[Any],
    max_rounds: int,
    raise_tool_errors: bool,
    on_chunk: ChunkCallback | None,
    chat_kwargs: dict[str, Any],
) -> ToolLoopResult:
    """The loop behind :meth:`AsyncClient.chat_with_tools`."""
    if (
        isinstance(max_rounds, bool)
        or not isinstance(max_rounds, int)
        or max_rounds < 1
    ):
        raise RequestError(f"max_rounds must be a positive int, got {max_rounds!r}")
    definitions = conv.tools_arg(tools)
    if not definitions:
        raise RequestError("chat_with_tools needs at least one tool")
    runnable = {spec(t).name: t for t in tools if conv.is_tool_callable(t)}
    conversation = conv.messages_arg(messages)
    if not isinstance(conversation, list) or not conversation:
        raise RequestError("chat_with_tools needs at least one message")
    results: list[ToolResult] = []
    for round_ in range(1, max_rounds + 1):
        if on_chunk is None:
            response = await client.chat(
                model, conversation, tools=definitions, **chat_kwargs
            )
        else:
            chunks: list[ChatResponse] = []
            async with client.chat(
                model, conversation, tools=definitions, stream=True, **chat_kwargs
            ) as stream:
                async for chunk in stream:
                    chunks.append(chunk)
                    called = on_chunk(chunk)
                    if inspect.isawaitable(called):
                        await called
            response = fold_chat(chunks)
        conversation.append(response.message)
        calls = response.message.tool_calls
        if not calls:
            return ToolLoopResult(
                response=response,
                messages=conversation,
                tool_results=results,
                rounds=round_,
            )
        if round_ == max_rounds:
            break
        # Every call finishes (a thread cannot be cancelled anyway) before a
        # tool's exception propagates with raise_tool_errors.
        ran = await asyncio.gather(
            *(_run_one(c, runnable, raise_errors=raise_tool_errors) for c in calls),
            return_exceptions=True,
        )
        for result in ran:
            if isinstance(result, BaseException):
                raise result
            results.append(result)
            conversation.append(
                Message(
                    role="tool",
                    content=result.content,
                    tool_name=result.name,
                    tool_call_id=result.call_id,
                )
            )
    raise MaxToolRoundsError(
        f"the model still asked for tools after {max_rounds} rounds "
        "(raise max_rounds, or continue from .messages)",
        messages=conversation,
        response=response,
    )
