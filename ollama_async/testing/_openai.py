"""The OpenAI-compatible routes, served as Ollama serves them.

Ollama answers ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings``, ``/v1/models`` and ``/v1/models/:model`` with a middleware
(``middleware/openai.go``) that turns the OpenAI request into a native one
(``openai/openai.go``), runs the native handler, and rewrites what it writes:
each NDJSON line becomes server-sent events (``data: {...}``, a finish chunk,
usage with ``stream_options.include_usage``, ``data: [DONE]``), a single reply
becomes the OpenAI object, and an error becomes ``{"error": {"message", "type",
"param", "code"}}``. This module does the same around the emulator's native
handlers, so validation, faults, pacing and counters are theirs. Imports
aiohttp, msgspec and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import random
import struct
import time
from collections.abc import Callable
from typing import Any, Final

import msgspec
from aiohttp import web

from . import _inference, _management
from ._exchange import Exchange, Handler, Reject, json_reply
from ._registry import go_name
from ._requests import TOOL
from ._wire import (
    JSON_PLAIN,
    GoJSONError,
    check_fields,
    decode_body,
    encode,
    json_kind,
)

SSE: Final = "text/event-stream"
_FINGERPRINT: Final = "fp_ollama"
_DONE: Final = b"data: [DONE]\n\n"
_decoder = msgspec.json.Decoder()


def _native(line: bytes) -> dict[str, Any] | bytes:
    """A native stream line as a dict, or the SSE frame to send instead: a
    line that is not JSON passes through as data, anything else is dropped."""
    try:
        r = _decoder.decode(line)
    except msgspec.DecodeError:
        return b"data: " + line.rstrip(b"\n") + b"\n\n"
    if not isinstance(r, dict):  # pragma: no cover - native lines are objects
        return b""
    return r


_STREAM_OPTIONS: Final = (
    "struct",
    "*openai.StreamOptions",
    {"include_usage": "bool"},
)
_TOOL_CALL: Final = (
    "struct",
    "openai.ToolCall",
    {
        "id": "string",
        "index": "int",
        "type": "string",
        "function": (
            "struct",
            'struct { Name string "json:\\"name\\""; Arguments string '
            '"json:\\"arguments\\"" }',
            {"name": "string", "arguments": "string"},
        ),
    },
)
_MESSAGE: Final = (
    "struct",
    "openai.Message",
    {
        "role": "string",
        "content": "any",
        "reasoning": "string",
        "tool_calls": ("[]", _TOOL_CALL, "[]openai.ToolCall"),
        "name": "string",
        "tool_call_id": "string",
    },
)
CHAT_FIELDS: Final = {
    "model": "string",
    "messages": ("[]", _MESSAGE, "[]openai.Message"),
    "stream": "bool",
    "stream_options": _STREAM_OPTIONS,
    "max_tokens": "int",
    "seed": "int",
    "stop": "any",
    "temperature": "float64",
    "frequency_penalty": "float64",
    "presence_penalty": "float64",
    "top_p": "float64",
    "response_format": (
        "struct",
        "*openai.ResponseFormat",
        {
            "type": "string",
            "json_schema": ("struct", "*openai.JsonSchema", {"schema": "any"}),
        },
    ),
    "tools": ("[]", TOOL, "[]api.Tool"),
    "reasoning": ("struct", "*openai.Reasoning", {"effort": "string"}),
    "reasoning_effort": "string",
    "logprobs": "bool",
    "top_logprobs": "int",
    "_debug_render_only": "bool",
}
COMPLETION_FIELDS: Final = {
    "model": "string",
    "prompt": "string",
    "frequency_penalty": "float64",
    "max_tokens": "int",
    "presence_penalty": "float64",
    "seed": "int",
    "stop": "any",
    "stream": "bool",
    "stream_options": _STREAM_OPTIONS,
    "temperature": "float64",
    "top_p": "float64",
    "suffix": "string",
    "logprobs": "int",
    "_debug_render_only": "bool",
}
EMBED_FIELDS: Final = {
    "input": "any",
    "model": "string",
    "dimensions": "int",
    "encoding_format": "string",
}
_EFFORTS: Final[dict[str, bool | str]] = {
    "none": False,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "max": "max",
    "xhigh": "max",
    "ultra": "max",
}
_IMAGE_PREFIXES: Final = tuple(
    f"data:image/{kind};base64," for kind in ("jpeg", "jpg", "png", "webp")
)


class _Invalid(Exception):
    """An OpenAI request the middleware refuses with a 400."""


# --- errors -----------------------------------------------------------------------


def error_object(status: int, message: str) -> dict[str, Any]:
    """``openai.NewError``: the error type follows the status."""
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(
        status, "api_error"
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _abort(status: int, message: str) -> web.Response:
    """The middleware's own refusal (Gin's ``AbortWithStatusJSON``)."""
    return json_reply(error_object(status, message), status)


def _status_error(body: bytes) -> str:
    """``api.StatusError.Error()`` of a native error body (raw text if not JSON)."""
    try:
        data = _decoder.decode(body)
    except msgspec.DecodeError:
        return body.decode("utf-8", "replace")
    if not isinstance(data, dict):
        return body.decode("utf-8", "replace")
    status, message = str(data.get("Status") or ""), str(data.get("error") or "")
    if status and message:
        return f"{status}: {message}"
    return (
        status
        or message
        or ("something went wrong, please see the ollama server logs for details")
    )


def as_openai_error(response: web.Response) -> web.Response:
    """A native error reply as the middleware's ``writeError`` rewrites it."""
    body = response.body if isinstance(response.body, bytes) else b""
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-type", "content-length")
    }
    message = _status_error(body)
    return web.Response(
        body=encode(error_object(response.status, message)) + b"\n",
        status=response.status,
        headers={**headers, "Content-Type": JSON_PLAIN},
    )


# --- running a native handler under the middleware --------------------------------


def _bind(ex: Exchange, struct: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Gin's ``ShouldBindJSON`` into ``openai.<struct>``; Reject(400) otherwise."""
    if not ex.body.strip(b" \t\r\n"):
        raise Reject(_abort(400, "EOF"))
    try:
        data = decode_body(ex.body, struct)
    except GoJSONError as exc:
        raise Reject(_abort(400, str(exc).replace(" api.", " openai."))) from None
    problem = check_fields(data, struct, fields)
    if problem:
        raise Reject(_abort(400, problem))
    return data


async def _run_native(
    ex: Exchange,
    handler: Handler,
    body: dict[str, Any],
    convert: Callable[[Any], Any],
) -> web.StreamResponse:
    """Run ``handler`` on ``body``; its single reply converted, errors rewritten
    (a stream is re-framed as it goes, by ``ex.framer``)."""
    ex.body = encode(body)
    try:
        response = await handler(ex)
    except Reject as reject:
        response = reject.response
    if response.prepared or not isinstance(response, web.Response):
        return response
    raw = response.body if isinstance(response.body, bytes) else b""
    if not raw:
        return response  # a dropped connection (fault): nothing to rewrite
    if response.status != 200:
        return as_openai_error(response)
    try:
        data = _decoder.decode(raw)
    except msgspec.DecodeError:
        return response  # a malformed reply (fault) goes out as it is
    return web.Response(
        body=encode(convert(data)) + b"\n", headers={"Content-Type": JSON_PLAIN}
    )


def _request_id(prefix: str) -> str:
    """Ollama's ``fmt.Sprintf("chatcmpl-%d", rand.Intn(999))``."""
    return f"{prefix}-{random.randrange(999)}"


def _usage(r: dict[str, Any]) -> dict[str, int]:
    prompt, completion = (
        int(r.get("prompt_eval_count") or 0),
        int(r.get("eval_count") or 0),
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _event(obj: Any) -> bytes:
    return b"data: " + encode(obj) + b"\n\n"


def _options(data: dict[str, Any], *, strict_stop: bool) -> dict[str, Any]:
    """The sampling options Ollama derives from an OpenAI request."""
    options: dict[str, Any] = {}
    stop = data.get("stop")
    if isinstance(stop, str):
        options["stop"] = [stop]
    elif isinstance(stop, list):
        if strict_stop:
            for item in stop:
                if not isinstance(item, str):
                    raise _Invalid(f"invalid type for 'stop' field: {_go_type(item)}")
        options["stop"] = [s for s in stop if isinstance(s, str)]
    if data.get("max_tokens") is not None:
        options["num_predict"] = data["max_tokens"]
    temperature = data.get("temperature")
    options["temperature"] = 1.0 if temperature is None else temperature
    if data.get("seed") is not None:
        options["seed"] = data["seed"]
    return options


def _go_type(value: Any) -> str:
    """Go's ``%T`` of a decoded JSON value."""
    if value is None:
        return "<nil>"
    return {
        "bool": "bool",
        "number": "float64",
        "string": "string",
        "array": "[]interface {}",
        "object": "map[string]interface {}",
    }[json_kind(value)]


# --- chat ---------------------------------------------------------------------------


def _from_tool_calls(calls: list[Any]) -> list[dict[str, Any]]:
    """``FromCompletionToolCall``: the arguments string parsed as JSON."""
    out = []
    for call in calls:
        call = call if isinstance(call, dict) else {}
        function = call.get("function") or {}
        try:
            arguments = _decoder.decode(str(function.get("arguments") or "").encode())
        except msgspec.DecodeError:
            raise _Invalid("invalid tool call arguments") from None
        out.append(
            {
                "id": call.get("id") or "",
                "function": {
                    "name": function.get("name") or "",
                    "arguments": arguments,
                },
            }
        )
    return out


def _image(url: str) -> str:
    """``decodeImageURL``: a base64 data URI's payload (checked), as base64."""
    if url.startswith(("http://", "https://")):
        raise _Invalid(
            "image URLs are not currently supported, please use base64 encoded "
            "data instead"
        )
    if url.startswith("data:;base64,"):
        payload = url.removeprefix("data:;base64,")
    else:
        prefix = next((p for p in _IMAGE_PREFIXES if url.startswith(p)), None)
        if prefix is None:
            raise _Invalid("invalid image input")
        payload = url.removeprefix(prefix)
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid("invalid image input") from None
    return payload


def _message(
    role: str, content: str = "", **fields: Any
) -> dict[str, Any]:  # api.Message: role and content always, the rest omitempty
    return {"role": role, "content": content, **{k: v for k, v in fields.items() if v}}


def _tool_name(messages: list[dict[str, Any]], call_id: str) -> str:
    """``nameFromToolCallID``: the last tool call with that id names the tool."""
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id") == call_id:
                return str((call.get("function") or {}).get("name") or "")
    return ""


def _content_parts(role: str, parts: list[Any]) -> list[dict[str, Any]]:
    out = []
    for part in parts:
        if not isinstance(part, dict):
            raise _Invalid("invalid message format")
        kind = part.get("type")
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise _Invalid("invalid message format")
            out.append(_message(role, part["text"]))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise _Invalid("invalid message format")
            out.append(_message(role, images=[_image(url)]))
        else:
            raise _Invalid("invalid message format")
    return out


def from_chat_request(data: dict[str, Any]) -> dict[str, Any]:
    """``openai.FromChatRequest``: the native ``/api/chat`` body."""
    sent = [m if isinstance(m, dict) else {} for m in data.get("messages") or []]
    messages: list[dict[str, Any]] = []
    for msg in sent:
        role = str(msg.get("role") or "")
        tool_name = ""
        if role.lower() == "tool":
            tool_name = str(msg.get("name") or "")
            if not tool_name and msg.get("tool_call_id"):
                tool_name = _tool_name(sent, str(msg["tool_call_id"]))
        content = msg.get("content")
        calls = msg.get("tool_calls")
        extra = {
            "thinking": msg.get("reasoning") or "",
            "tool_calls": _from_tool_calls(calls or []),
            "tool_name": tool_name,
            "tool_call_id": msg.get("tool_call_id") or "",
        }
        if isinstance(content, str):
            messages.append(_message(role, content, **extra))
        elif isinstance(content, list):
            messages += _content_parts(role, content)
            if messages and calls:
                messages[-1].update({k: v for k, v in extra.items() if v})
        else:
            if calls is None:
                raise _Invalid(f"invalid message content type: {_go_type(content)}")
            messages.append(
                _message(
                    role,
                    thinking=extra["thinking"],
                    tool_calls=extra["tool_calls"],
                    tool_call_id=extra["tool_call_id"],
                )
            )
    options = _options(data, strict_stop=False)
    for key in ("frequency_penalty", "presence_penalty"):
        if data.get(key) is not None:
            options[key] = data[key]
    top_p = data.get("top_p")
    options["top_p"] = 1.0 if top_p is None else top_p
    body: dict[str, Any] = {"model": data.get("model") or "", "messages": messages}
    response_format = data.get("response_format") or {}
    kind = str(response_format.get("type") or "").strip().lower()
    if kind == "json_object":
        body["format"] = "json"
    elif kind == "json_schema" and response_format.get("json_schema") is not None:
        schema = response_format["json_schema"].get("schema")
        if schema is not None:
            body["format"] = schema
    body["options"] = options
    body["stream"] = bool(data.get("stream"))
    if data.get("tools"):
        body["tools"] = data["tools"]
    reasoning = data.get("reasoning")
    effort = (
        str(reasoning.get("effort") or "")
        if isinstance(reasoning, dict)
        else str(data.get("reasoning_effort") or "")
    )
    if effort:
        if effort not in _EFFORTS:
            raise _Invalid(
                f'invalid reasoning value: "{effort}" (must be "minimal", "low", '
                '"medium", "high", "xhigh", "ultra", "max", or "none")'
            )
        body["think"] = _EFFORTS[effort]
    if data.get("logprobs"):
        body["logprobs"] = True
    if data.get("top_logprobs"):
        body["top_logprobs"] = data["top_logprobs"]
    return body


def _tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ToToolCalls``: arguments as a JSON string."""
    return [
        {
            "id": call.get("id") or "",
            "index": (call.get("function") or {}).get("index") or 0,
            "type": "function",
            "function": {
                "name": (call.get("function") or {}).get("name") or "",
                "arguments": encode(
                    (call.get("function") or {}).get("arguments")
                ).decode(),
            },
        }
        for call in calls
    ]


def _finish_reason(reason: str, *, tools: bool) -> str | None:
    if reason == "stop" and tools:
        reason = "tool_calls"
    return reason or None


def to_chat_completion(cid: str, r: dict[str, Any]) -> dict[str, Any]:
    """``openai.ToChatCompletion``."""
    msg = r.get("message") or {}
    calls = _tool_calls(msg.get("tool_calls") or [])
    message: dict[str, Any] = {
        "role": msg.get("role") or "",
        "content": msg.get("content") or "",
    }
    if msg.get("thinking"):
        message["reasoning"] = msg["thinking"]
    if calls:
        message["tool_calls"] = calls
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": _finish_reason(
            str(r.get("done_reason") or ""), tools=bool(calls)
        ),
    }
    if r.get("logprobs"):
        choice["logprobs"] = {"content": r["logprobs"]}
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": r.get("model") or "",
        "system_fingerprint": _FINGERPRINT,
        "choices": [choice],
        "usage": _usage(r),
    }


class ChatFrames:
    """``ChatWriter`` streaming: each native line as chat.completion.chunk
    events; after the last, the finish chunk, the usage chunk when asked for,
    and ``data: [DONE]``."""

    content_type = SSE

    def __init__(self, cid: str, *, include_usage: bool) -> None:
        self.cid = cid
        self.include_usage = include_usage
        self.created = 0
        self.first_sent = False
        self.tool_call_sent = False

    def _chunk(self, r: dict[str, Any], *, role: bool) -> dict[str, Any]:
        msg = r.get("message") or {}
        delta: dict[str, Any] = {}
        if role:
            delta["role"] = "assistant"
        delta["content"] = msg.get("content") or ""
        if msg.get("thinking"):
            delta["reasoning"] = msg["thinking"]
        calls = _tool_calls(msg.get("tool_calls") or [])
        if calls:
            delta["tool_calls"] = calls
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
        if r.get("logprobs"):
            choice["logprobs"] = {"content": r["logprobs"]}
        return self._envelope(r, [choice])

    def _envelope(self, r: dict[str, Any], choices: list[Any]) -> dict[str, Any]:
        return {
            "id": self.cid,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": r.get("model") or "",
            "system_fingerprint": _FINGERPRINT,
            "choices": choices,
        }

    def _chunks(self, r: dict[str, Any]) -> list[dict[str, Any]]:
        """``ToStreamChunks``: thinking and content/tool calls split in two."""
        msg = r.get("message") or {}
        role = not self.first_sent
        if not (msg.get("thinking") and (msg.get("content") or msg.get("tool_calls"))):
            return [self._chunk(r, role=role)]
        reasoning = self._chunk(r, role=role)
        delta = reasoning["choices"][0]["delta"]
        delta.pop("content", None)
        delta.pop("tool_calls", None)
        rest = self._chunk(r, role=False)
        rest["choices"][0]["delta"].pop("reasoning", None)
        rest["choices"][0].pop("logprobs", None)
        return [reasoning, rest]

    def frame(self, line: bytes) -> bytes:
        r = _native(line)
        if isinstance(r, bytes):
            return r
        if not self.created:
            self.created = int(time.time())
        out = []
        msg = r.get("message") or {}
        done = bool(r.get("done"))
        empty_trailer = (
            done
            and self.first_sent
            and not msg.get("content")
            and not msg.get("thinking")
            and not msg.get("tool_calls")
            and not r.get("logprobs")
        )
        if not empty_trailer:
            for chunk in self._chunks(r):
                if chunk["choices"][0]["delta"].get("tool_calls"):
                    self.tool_call_sent = True
                out.append(_event(chunk))
            self.first_sent = True
        if done:
            reason = str(r.get("done_reason") or "stop")
            if reason == "stop" and self.tool_call_sent:
                reason = "tool_calls"
            finish = self._envelope(
                r, [{"index": 0, "delta": {}, "finish_reason": reason}]
            )
            out.append(_event(finish))
            if self.include_usage:
                out.append(_event({**finish, "choices": [], "usage": _usage(r)}))
            out.append(_DONE)
        return b"".join(out)


def _include_usage(data: dict[str, Any]) -> bool:
    options = data.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


async def chat_completions(ex: Exchange) -> web.StreamResponse:
    """``POST /v1/chat/completions`` (``ChatMiddleware`` + ``ChatHandler``)."""
    data = _bind(ex, "ChatCompletionRequest", CHAT_FIELDS)
    if not data.get("messages"):
        return _abort(400, "[] is too short - 'messages'")
    try:
        body = from_chat_request(data)
    except _Invalid as exc:
        return _abort(400, str(exc))
    cid = _request_id("chatcmpl")
    if data.get("stream"):
        ex.framer = ChatFrames(cid, include_usage=_include_usage(data))
    return await _run_native(
        ex, _inference.chat, body, lambda r: to_chat_completion(cid, r)
    )


# --- completions ----------------------------------------------------------------------


def _completion_choice(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "text": r.get("response") or "",
        "index": 0,
        "finish_reason": r.get("done_reason") or None,
    }


class CompletionFrames:
    """``CompleteWriter`` streaming: a text_completion chunk per native line
    (with zero usage when usage is asked for), then the usage chunk and
    ``data: [DONE]``."""

    content_type = SSE

    def __init__(self, cid: str, *, include_usage: bool) -> None:
        self.cid = cid
        self.include_usage = include_usage

    def frame(self, line: bytes) -> bytes:
        r = _native(line)
        if isinstance(r, bytes):
            return r
        chunk: dict[str, Any] = {
            "id": self.cid,
            "object": "text_completion",
            "created": int(time.time()),
            "choices": [_completion_choice(r)],
            "model": r.get("model") or "",
            "system_fingerprint": _FINGERPRINT,
        }
        if self.include_usage:
            chunk["usage"] = _usage({})
        out = [_event(chunk)]
        if r.get("done"):
            if self.include_usage:
                out.append(_event({**chunk, "choices": [], "usage": _usage(r)}))
            out.append(_DONE)
        return b"".join(out)


def to_completion(cid: str, r: dict[str, Any]) -> dict[str, Any]:
    """``openai.ToCompletion``."""
    return {
        "id": cid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": r.get("model") or "",
        "system_fingerprint": _FINGERPRINT,
        "choices": [_completion_choice(r)],
        "usage": _usage(r),
    }


async def completions(ex: Exchange) -> web.StreamResponse:
    """``POST /v1/completions`` (``CompletionsMiddleware`` + ``GenerateHandler``)."""
    data = _bind(ex, "CompletionRequest", COMPLETION_FIELDS)
    try:
        options = _options(data, strict_stop=True)
    except _Invalid as exc:
        return _abort(400, str(exc))
    options["frequency_penalty"] = data.get("frequency_penalty") or 0.0
    options["presence_penalty"] = data.get("presence_penalty") or 0.0
    options["top_p"] = data.get("top_p") or 1.0
    body: dict[str, Any] = {
        "model": data.get("model") or "",
        "prompt": data.get("prompt") or "",
        "suffix": data.get("suffix") or "",
        "options": options,
        "stream": bool(data.get("stream")),
    }
    logprobs = data.get("logprobs")
    if isinstance(logprobs, int) and logprobs > 0:
        body |= {"logprobs": True, "top_logprobs": logprobs}
    cid = _request_id("cmpl")
    if data.get("stream"):
        ex.framer = CompletionFrames(cid, include_usage=_include_usage(data))
    return await _run_native(
        ex, _inference.generate, body, lambda r: to_completion(cid, r)
    )


# --- embeddings -----------------------------------------------------------------------

_F32: Final = struct.Struct("<f")


def _base64_floats(vector: list[float]) -> str:
    """``floatsToBase64``: little-endian float32s."""
    return base64.b64encode(b"".join(_F32.pack(x) for x in vector)).decode()


def to_embedding_list(
    model: str, r: dict[str, Any], encoding_format: str
) -> dict[str, Any]:
    """``openai.ToEmbeddingList``."""
    as_base64 = encoding_format.lower() == "base64"
    data = [
        {
            "object": "embedding",
            "embedding": _base64_floats(vector) if as_base64 else vector,
            "index": index,
        }
        for index, vector in enumerate(r.get("embeddings") or [])
    ]
    count = int(r.get("prompt_eval_count") or 0)
    return {
        "object": "list",
        "data": data or None,
        "model": model,
        "usage": {"prompt_tokens": count, "total_tokens": count},
    }


async def embeddings(ex: Exchange) -> web.StreamResponse:
    """``POST /v1/embeddings`` (``EmbeddingsMiddleware`` + ``EmbedHandler``)."""
    data = _bind(ex, "EmbedRequest", EMBED_FIELDS)
    encoding_format = str(data.get("encoding_format") or "")
    if encoding_format and encoding_format.lower() not in ("float", "base64"):
        return _abort(
            400,
            f"Invalid value for 'encoding_format' = {encoding_format}. "
            "Supported values: ['float', 'base64'].",
        )
    inputs = data.get("input")
    if inputs == "":
        inputs = [""]
    if inputs is None or inputs == []:
        return _abort(400, "invalid input")
    model = str(data.get("model") or "")
    body: dict[str, Any] = {"model": model, "input": inputs}
    if data.get("dimensions"):
        body["dimensions"] = data["dimensions"]
    return await _run_native(
        ex,
        _inference.embed,
        body,
        lambda r: to_embedding_list(model, r, encoding_format),
    )


# --- models ---------------------------------------------------------------------------


def _owner(name: str) -> str:
    """``model.ParseName(name).Namespace`` (``library`` by default)."""
    return go_name(name).namespace


async def models(ex: Exchange) -> web.StreamResponse:
    """``GET /v1/models`` (``ListMiddleware`` + ``ListHandler``): newest first."""
    installed = sorted(
        ex.server.models.values(),
        key=lambda m: m.modified_at.timestamp() if m.modified_at else 0.0,
        reverse=True,
    )
    data = [
        {
            "id": m.name,
            "object": "model",
            "created": int(m.modified_at.timestamp()) if m.modified_at else 0,
            "owned_by": _owner(m.name),
        }
        for m in installed
    ]
    return web.Response(
        body=encode({"object": "list", "data": data or None}) + b"\n",
        headers={"Content-Type": JSON_PLAIN},
    )


MODEL_PREFIX: Final = "/v1/models/"


async def model(ex: Exchange) -> web.StreamResponse:
    """``GET /v1/models/:model`` (``RetrieveMiddleware`` + ``ShowHandler``)."""
    name = ex.request.path[len(MODEL_PREFIX) :]

    def convert(_shown: Any) -> dict[str, Any]:
        found = ex.server.models.find(name)
        modified = found.modified_at if found is not None else None
        return {
            "id": name,
            "object": "model",
            "created": int(modified.timestamp()) if modified else 0,
            "owned_by": _owner(name),
        }

    return await _run_native(ex, _management.show, {"name": name}, convert)


ROUTES: Final[dict[str, dict[str, Handler]]] = {
    "/v1/chat/completions": {"POST": chat_completions},
    "/v1/completions": {"POST": completions},
    "/v1/embeddings": {"POST": embeddings},
    "/v1/models": {"GET": models},
}
MODEL_ROUTES: Final[dict[str, Handler]] = {"GET": model}
QUEUED: Final = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})
