"""The tool-calling loop behind :meth:`AsyncClient.chat_with_tools`: run
the calls a model makes and send their results back, round after round.
Knows the client only as a ``chat`` callable, so it imports no client.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar, overload

import msgspec

from . import _args
from ._errors import MaxToolRoundsError, RequestError
from ._folds import fold_chat
from ._schema import parse_json
from ._telemetry import CURRENT_CALL, Instruments
from ._tooldefs import NOT_FOR_MODEL, ToolSpec, spec
from .types import ChatResponse, Message, ToolCall

__all__ = [
    "ChatRound",
    "ChunkCallback",
    "ToolLoopResult",
    "ToolResult",
    "run_tool_loop",
]

T = TypeVar("T")


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
    tool: ToolSpec, arguments: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """Arguments converted to the annotated types (Structs, enums ...)."""
    params = tool.signature.parameters
    takes_extra = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, value in arguments.items():
        param = params.get(name)
        if param is None or param.kind in NOT_FOR_MODEL:
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


async def _run_traced(
    instruments: Instruments,
    call: ToolCall,
    tools: Mapping[str, Callable[..., Any]],
    *,
    raise_errors: bool,
) -> ToolResult:
    """:func:`_run_one` in an ``execute_tool`` span, current while the tool
    runs (this runs in a task of its own, so the attach stays in it)."""
    span = instruments.tool_call(call.function.name, call.id, call.function.arguments)
    token = instruments.activate_span(span)
    try:
        result = await _run_one(call, tools, raise_errors=raise_errors)
    except BaseException as exc:
        instruments.tool_done(span, None, exc)
        raise
    finally:
        instruments.deactivate_span(token)
    instruments.tool_done(span, result.content, result.error)
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


class ChatRound(Protocol):
    """One round's chat request: ``AsyncClient.chat`` with the model and the
    caller's other arguments bound; awaitable, or a ``Stream`` when
    ``stream=True``."""

    def __call__(
        self, messages: list[Message], *, tools: list[dict[str, Any]], stream: bool
    ) -> Any: ...


async def run_tool_loop(
    chat: ChatRound,
    messages: Sequence[Any],
    *,
    tools: Sequence[Any],
    max_rounds: int,
    raise_tool_errors: bool,
    on_chunk: ChunkCallback | None,
) -> ToolLoopResult:
    """The loop behind :meth:`AsyncClient.chat_with_tools`."""
    _args.positive_int("max_rounds", max_rounds)
    definitions = _args.tools_arg(tools)
    if not definitions:
        raise RequestError("chat_with_tools needs at least one tool")
    runnable = {spec(t).name: t for t in tools if _args.is_tool_callable(t)}
    conversation = _args.messages_arg(messages)
    if not isinstance(conversation, list) or not conversation:
        raise RequestError("chat_with_tools needs at least one message")
    results: list[ToolResult] = []
    for round_ in range(1, max_rounds + 1):
        if on_chunk is None:
            response: ChatResponse = await chat(
                conversation, tools=definitions, stream=False
            )
        else:
            chunks: list[ChatResponse] = []
            async with chat(conversation, tools=definitions, stream=True) as stream:
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
        loop_record = CURRENT_CALL.get()  # set when the loop is traced
        run = (
            _run_one
            if loop_record is None
            else partial(_run_traced, loop_record.instruments)
        )
        ran = await asyncio.gather(
            *(run(c, runnable, raise_errors=raise_tool_errors) for c in calls),
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
