"""Request validation shared by the model-running handlers.

Owns the Go field specs of each request struct (for decoder-style errors, which
cover ``keep_alive`` and ``think``) and the checks Ollama runs before any
output: model references, ``top_logprobs``, option types, ``format``, and what
the runner says to images it cannot see. Imports aiohttp (via `_exchange`),
msgspec and the standard library.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ._exchange import Exchange, Reject, error_reply
from ._registry import FakeModel, ModelRef, ModelRefError, parse_name, parse_ref
from ._wire import JSON_PLAIN, JSON_UTF8, go_quote, parse_keep_alive

IMAGES: Final = ("[]", "base64", "[]api.ImageData")
OPTIONS: Final = "map[string]interface {}"
_COMMON: Final[dict[str, Any]] = {
    "model": "string",
    "stream": "bool",
    "format": "any",
    "keep_alive": "custom:duration",
    "options": OPTIONS,
    "think": "custom:think",
    "truncate": "bool",
    "shift": "bool",
    "logprobs": "bool",
    "top_logprobs": "int",
    "_debug_render_only": "bool",
}
_TOOL_CALL: Final = (
    "struct",
    "api.ToolCall",
    {
        "id": "string",
        "function": (
            "struct",
            "api.ToolCallFunction",
            {"index": "int", "name": "string", "arguments": OPTIONS},
        ),
    },
)
MESSAGE: Final = (
    "struct",
    "api.Message",
    {
        "role": "string",
        "content": "string",
        "thinking": "string",
        "images": IMAGES,
        "tool_calls": ("[]", _TOOL_CALL, "[]api.ToolCall"),
        "tool_name": "string",
        "tool_call_id": "string",
    },
)
# A tool definition as api.Tool reads it (the OpenAI routes send the same).
TOOL: Final = (
    "struct",
    "api.Tool",
    {"type": "string", "function": ("struct", "api.ToolFunction", {"name": "string"})},
)
GENERATE_FIELDS: Final = {
    **_COMMON,
    "prompt": "string",
    "suffix": "string",
    "system": "string",
    "template": "string",
    "context": ("[]", "int", "[]int"),
    "raw": "bool",
    "images": IMAGES,
}
CHAT_FIELDS: Final = {
    **_COMMON,
    "messages": ("[]", MESSAGE, "[]api.Message"),
    "tools": ("[]", TOOL, "api.Tools"),
}
EMBED_FIELDS: Final = {
    "model": "string",
    "input": "any",
    "truncate": "bool",
    "dimensions": "int",
    "keep_alive": "custom:duration",
    "options": OPTIONS,
}
EMBEDDINGS_FIELDS: Final = {
    "model": "string",
    "prompt": "string",
    "keep_alive": "custom:duration",
    "options": OPTIONS,
}
_OPTION_TYPES: Final = {
    **dict.fromkeys(
        [
            "num_keep",
            "seed",
            "num_predict",
            "top_k",
            "repeat_last_n",
            "num_ctx",
            "num_batch",
            "num_gpu",
            "main_gpu",
            "num_thread",
            "draft_num_predict",
        ],
        "integer",
    ),
    **dict.fromkeys(
        [
            "top_p",
            "min_p",
            "typical_p",
            "temperature",
            "repeat_penalty",
            "presence_penalty",
            "frequency_penalty",
        ],
        "float32",
    ),
    "use_mmap": "boolean",
    "stop": "array",
}
THINK_LEVELS: Final = {"low": 0.25, "medium": 0.5, "high": 1.0, "max": 1.0}


def keep_alive_of(data: dict[str, Any]) -> float | None:
    """``keep_alive`` in seconds (None: not sent); `Exchange.decode` checked it."""
    return parse_keep_alive(data.get("keep_alive"))


def think_of(data: dict[str, Any]) -> bool | str | None:
    """``think`` as sent; `Exchange.decode` checked it."""
    value: bool | str | None = data.get("think")
    return value


def model_ref(ex: Exchange, raw: str, status: int, message: str) -> ModelRef:
    """The request's model reference, or Go's ``writeModelRefParseError``
    reply: a conflicting suffix and an invalid name are 400s with their own
    texts; an empty name is ``status``/``message``, which differ by handler."""
    try:
        return parse_ref(raw)
    except ModelRefError as exc:
        if exc.kind == "required":
            raise ex.fail(status, message) from None
        raise ex.fail(400, str(exc)) from None


def cloud_disabled(ex: Exchange, operation: str) -> Reject | None:
    """Ollama's 403 for a cloud request while cloud is off, or None."""
    if ex.server.cloud_disabled_by is None:
        return None
    return ex.fail(403, f"ollama cloud is disabled: {operation}")


def top_logprobs_of(data: dict[str, Any]) -> int:
    value = int(data.get("top_logprobs") or 0)
    if not 0 <= value <= 20:
        raise Reject(error_reply(400, "top_logprobs must be between 0 and 20"))
    return value


def options_of(data: dict[str, Any]) -> dict[str, Any]:
    """Options, type-checked like Ollama does after model lookup (500)."""
    options: dict[str, Any] = data.get("options") or {}
    for key, value in options.items():
        kind = _OPTION_TYPES.get(key)
        if kind is None or value is None:
            continue
        ok = {
            "integer": isinstance(value, int | float) and not isinstance(value, bool),
            "float32": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list),
        }[kind]
        if not ok:
            raise Reject(
                error_reply(500, f"option {go_quote(key)} must be of type {kind}")
            )
        if kind == "array" and not all(isinstance(v, str) for v in value):
            raise Reject(
                error_reply(
                    500, f"option {go_quote(key)} must be of an array of strings"
                )
            )
    return options


def full_name(model: FakeModel) -> str:
    parsed = parse_name(model.name)
    assert parsed is not None
    return parsed.full


def streams(data: dict[str, Any]) -> bool:
    return data.get("stream") is not False


def check_format(ex: Exchange, data: dict[str, Any], *, early: bool = False) -> Any:
    """The ``format`` to follow; a 500 for anything but "json" or a schema.

    The runner raises it once streaming is set up (plain ``application/json``
    then), or, ``early``, while Ollama renders the prompt through the runner's
    chat template, before streaming (``c.JSON``'s type).
    """
    fmt = data.get("format")
    if fmt is None or fmt == "" or fmt == "json" or isinstance(fmt, dict):
        return fmt or None
    raw = msgspec.json.encode(fmt).decode()
    message = (
        f"invalid format: {go_quote(raw)}; "
        'expected "json" or a valid JSON Schema object'
    )
    if early:
        raise Reject(error_reply(500, message))
    raise runner_error(data, 500, message)


# llama-server's answers to images sent to a model without a projector, which
# Ollama passes on whole as its error text (``statusErrorMessage`` in
# ``llm/llama_server.go``): its /completion endpoint rejects the request (400),
# its OpenAI chat parser throws (500).
NO_MULTIMODAL: Final = (
    400,
    '{"error":{"code":400,"message":"Multimodal data provided, but model does '
    'not support multimodal requests.","type":"invalid_request_error"}}',
)
NO_IMAGE_INPUT: Final = (
    500,
    '{"error":{"code":500,"message":"image input is not supported - hint: if '
    'this is unexpected, you may need to provide the mmproj","type":'
    '"server_error"}}',
)


def runner_error(data: dict[str, Any], status: int, message: str) -> Reject:
    """An error the runner returns once Ollama set up streaming: plain
    ``application/json`` when streaming, ``c.JSON``'s type otherwise."""
    content_type = JSON_PLAIN if streams(data) else JSON_UTF8
    return Reject(error_reply(status, message, content_type))
