"""Pure folds of streamed chunks into the one response ``stream=False`` would
have returned: text and thinking joined, log probabilities and tool calls
concatenated, everything else from the final chunk. Pure: no IO."""

from __future__ import annotations

from typing import TypeVar

from msgspec.structs import replace

from .types import ChatResponse, GenerateResponse, Logprob, ToolCall

__all__ = ["fold_chat", "fold_generate", "fold_last"]

T = TypeVar("T")


def _logprobs(
    chunks: list[ChatResponse] | list[GenerateResponse],
) -> list[Logprob] | None:
    joined = [lp for chunk in chunks if chunk.logprobs for lp in chunk.logprobs]
    return joined or None


def fold_chat(chunks: list[ChatResponse]) -> ChatResponse:
    """The non-streamed ``ChatResponse`` equivalent to ``chunks``."""
    final = chunks[-1]
    content = "".join(c.message.content for c in chunks)
    thinking = "".join(c.message.thinking or "" for c in chunks) or None
    calls: list[ToolCall] = [
        call for c in chunks if c.message.tool_calls for call in c.message.tool_calls
    ]
    message = replace(
        final.message, content=content, thinking=thinking, tool_calls=calls or None
    )
    return replace(final, message=message, logprobs=_logprobs(chunks))


def fold_generate(chunks: list[GenerateResponse]) -> GenerateResponse:
    """The non-streamed ``GenerateResponse`` equivalent to ``chunks``."""
    final = chunks[-1]
    return replace(
        final,
        response="".join(c.response for c in chunks),
        thinking="".join(c.thinking or "" for c in chunks) or None,
        logprobs=_logprobs(chunks),
    )


def fold_last(chunks: list[T]) -> T:
    """The last line, as ``stream=False`` returns it for progress streams."""
    return chunks[-1]
