"""Folding streamed chunks gives exactly what ``stream=False`` returns: text and
thinking joined, log probabilities and tool calls concatenated, everything
else (metrics, done_reason, context, created_at) from the final chunk."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from ollama_async._folds import fold_chat, fold_generate, fold_last
from ollama_async.types import ChatResponse, GenerateResponse, ProgressResponse

T0 = "2025-10-26T17:21:21.196249Z"
T_END = "2025-10-26T17:21:22.5362Z"
METRICS: dict[str, Any] = {
    "total_duration": 4883583458,
    "load_duration": 1334875,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 342546000,
    "eval_count": 282,
    "eval_duration": 4535599000,
}


def lp(token: str, logprob: float) -> dict[str, Any]:
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [{"token": token, "logprob": logprob}],
    }


def call(name: str, index: int, **arguments: Any) -> dict[str, Any]:
    return {
        "id": f"call_{index:08d}",
        "function": {"index": index, "name": name, "arguments": arguments},
    }


def decode_all(lines: list[dict[str, Any]], type_: type[Any]) -> list[Any]:
    return [
        msgspec.json.decode(msgspec.json.encode(line), type=type_) for line in lines
    ]


# -- generate ------------------------------------------------------------------


def gen(response: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "model": "llama3.2",
        "created_at": T0,
        "response": response,
        "done": False,
        **extra,
    }


def gen_final(**extra: Any) -> dict[str, Any]:
    return {
        "model": "llama3.2",
        "created_at": T_END,
        "response": "",
        "done": True,
        "done_reason": "stop",
        "context": [1, 2, 3],
        **METRICS,
        **extra,
    }


GENERATE_PAIRS = [
    pytest.param(
        [gen("The"), gen(" sky"), gen(" is blue."), gen_final()],
        gen_final(response="The sky is blue."),
        id="text",
    ),
    pytest.param(
        [
            gen(thinking="Rayleigh"),
            gen(thinking=" scattering."),
            gen("Blue"),
            gen("."),
            gen_final(),
        ],
        gen_final(response="Blue.", thinking="Rayleigh scattering."),
        id="thinking",
    ),
    pytest.param(
        [
            gen("Hi", logprobs=[lp("Hi", -0.1)]),
            gen("!", logprobs=[lp("!", -0.5)]),
            gen_final(),
        ],
        gen_final(response="Hi!", logprobs=[lp("Hi", -0.1), lp("!", -0.5)]),
        id="logprobs",
    ),
    pytest.param(
        [gen(""), gen_final(tool_calls=[call("get_weather", 0, city="Tokyo")])],
        gen_final(tool_calls=[call("get_weather", 0, city="Tokyo")]),
        id="tool-calls-on-final",
    ),
    pytest.param(
        [gen_final(done_reason="length", response="cut")],
        gen_final(done_reason="length", response="cut"),
        id="single-final-chunk",
    ),
    pytest.param(
        [
            {
                "model": "llama3.2",
                "created_at": T0,
                "response": "",
                "done": True,
                "done_reason": "load",
            }
        ],
        {
            "model": "llama3.2",
            "created_at": T0,
            "response": "",
            "done": True,
            "done_reason": "load",
        },
        id="load-reply",
    ),
]


@pytest.mark.parametrize(("chunks", "answer"), GENERATE_PAIRS)
def test_fold_generate_equals_the_non_streamed_answer(
    chunks: list[dict[str, Any]], answer: dict[str, Any]
) -> None:
    folded = fold_generate(decode_all(chunks, GenerateResponse))
    (expected,) = decode_all([answer], GenerateResponse)
    assert folded == expected


def test_fold_generate_takes_metrics_from_the_final_chunk_only() -> None:
    chunks = decode_all([gen("a", eval_count=1), gen_final()], GenerateResponse)
    folded = fold_generate(chunks)
    assert folded.eval_count == METRICS["eval_count"]
    assert folded.created_at == T_END
    assert folded.context == [1, 2, 3]
    assert folded.thinking is None  # not "": nothing was thought
    assert folded.logprobs is None


def test_fold_does_not_modify_the_chunks() -> None:
    chunks = decode_all([gen("a"), gen_final()], GenerateResponse)
    fold_generate(chunks)
    assert chunks[-1].response == ""


# -- chat ----------------------------------------------------------------------


def chat(content: str = "", **message: Any) -> dict[str, Any]:
    extra = {k: message.pop(k) for k in list(message) if k == "logprobs"}
    return {
        "model": "qwen3",
        "created_at": T0,
        "message": {"role": "assistant", "content": content, **message},
        "done": False,
        **extra,
    }


def chat_final(
    content: str = "", *, logprobs: Any = None, **message: Any
) -> dict[str, Any]:
    final: dict[str, Any] = {
        "model": "qwen3",
        "created_at": T_END,
        "message": {"role": "assistant", "content": content, **message},
        "done": True,
        "done_reason": "stop",
        **METRICS,
    }
    if logprobs is not None:
        final["logprobs"] = logprobs
    return final


CHAT_PAIRS = [
    pytest.param(
        [chat("The"), chat(" sky"), chat(" is blue."), chat_final()],
        chat_final("The sky is blue."),
        id="text",
    ),
    pytest.param(
        [
            chat(thinking="Hmm, "),
            chat(thinking="sky."),
            chat("Blue"),
            chat("."),
            chat_final(),
        ],
        chat_final("Blue.", thinking="Hmm, sky."),
        id="thinking",
    ),
    pytest.param(
        [
            chat(thinking="need weather"),
            chat("", tool_calls=[call("get_weather", 0, city="Tokyo")]),
            chat_final(),
        ],
        chat_final(
            thinking="need weather", tool_calls=[call("get_weather", 0, city="Tokyo")]
        ),
        id="tool-call-mid-stream",
    ),
    pytest.param(
        [
            chat("", tool_calls=[call("get_weather", 0, city="Tokyo")]),
            chat("", tool_calls=[call("get_time", 1, tz="JST")]),
            chat_final(),
        ],
        chat_final(
            tool_calls=[
                call("get_weather", 0, city="Tokyo"),
                call("get_time", 1, tz="JST"),
            ]
        ),
        id="tool-calls-in-two-chunks",
    ),
    pytest.param(
        [chat("Let me check."), chat_final(tool_calls=[call("f", 0)])],
        chat_final("Let me check.", tool_calls=[call("f", 0)]),
        id="tool-calls-on-final-template-path",
    ),
    pytest.param(
        [
            chat("Hi", logprobs=[lp("Hi", -0.1)]),
            chat("!", logprobs=[lp("!", -0.7)]),
            chat_final(),
        ],
        chat_final("Hi!", logprobs=[lp("Hi", -0.1), lp("!", -0.7)]),
        id="logprobs",
    ),
    pytest.param(
        [
            {
                "model": "qwen3",
                "created_at": T0,
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "unload",
            }
        ],
        {
            "model": "qwen3",
            "created_at": T0,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "unload",
        },
        id="unload-reply",
    ),
]


@pytest.mark.parametrize(("chunks", "answer"), CHAT_PAIRS)
def test_fold_chat_equals_the_non_streamed_answer(
    chunks: list[dict[str, Any]], answer: dict[str, Any]
) -> None:
    folded = fold_chat(decode_all(chunks, ChatResponse))
    (expected,) = decode_all([answer], ChatResponse)
    assert folded == expected


def test_fold_chat_keeps_the_final_chunk_metrics_and_role() -> None:
    folded = fold_chat(decode_all([chat("a"), chat("b"), chat_final()], ChatResponse))
    assert folded.message.content == "ab"
    assert folded.message.role == "assistant"
    assert folded.message.thinking is None
    assert folded.message.tool_calls is None
    assert folded.done is True
    assert folded.done_reason == "stop"
    assert (folded.eval_count, folded.total_duration) == (282, 4883583458)
    assert folded.created_at == T_END


# -- progress ------------------------------------------------------------------


def test_fold_last_is_the_last_line() -> None:
    lines = decode_all(
        [
            {"status": "pulling manifest"},
            {
                "status": "pulling 6a0746a1ec1a",
                "digest": "sha256:6a07",
                "total": 10,
                "completed": 10,
            },
            {"status": "verifying sha256 digest"},
            {"status": "success"},
        ],
        ProgressResponse,
    )
    assert fold_last(lines) == ProgressResponse(status="success")
