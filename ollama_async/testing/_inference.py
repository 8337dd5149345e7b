"""Handlers for the model-running endpoints: generate, chat, embed, embeddings.

Validation runs in the order of Ollama's handlers (``server/routes.go``) so the
first error a request triggers is the one Ollama would report. Output comes from
`_generation`; bytes leave through `Exchange.stream` or a single JSON reply.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec
from aiohttp import web

from . import _generation as gen
from ._exchange import Exchange, Reject, error_reply, json_reply
from ._registry import FakeModel, parse_name
from ._wire import (
    JSON_PLAIN,
    JSON_UTF8,
    GoJSONError,
    created_at,
    created_at_bytes,
    encode,
    go_quote,
    parse_keep_alive,
)

if TYPE_CHECKING:
    from ._server import Handler

_IMAGES: Final = ("[]", "base64", "[]api.ImageData")
_OPTIONS: Final = "map[string]interface {}"
_COMMON: Final[dict[str, Any]] = {
    "model": "string",
    "stream": "bool",
    "format": "any",
    "keep_alive": "custom:duration",
    "options": _OPTIONS,
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
            {"index": "int", "name": "string", "arguments": _OPTIONS},
        ),
    },
)
_MESSAGE: Final = (
    "struct",
    "api.Message",
    {
        "role": "string",
        "content": "string",
        "thinking": "string",
        "images": _IMAGES,
        "tool_calls": ("[]", _TOOL_CALL, "[]api.ToolCall"),
        "tool_name": "string",
        "tool_call_id": "string",
    },
)
_TOOL: Final = (
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
    "images": _IMAGES,
}
CHAT_FIELDS: Final = {
    **_COMMON,
    "messages": ("[]", _MESSAGE, "[]api.Message"),
    "tools": ("[]", _TOOL, "api.Tools"),
}
EMBED_FIELDS: Final = {
    "model": "string",
    "input": "any",
    "truncate": "bool",
    "dimensions": "int",
    "keep_alive": "custom:duration",
    "options": _OPTIONS,
}
EMBEDDINGS_FIELDS: Final = {
    "model": "string",
    "prompt": "string",
    "keep_alive": "custom:duration",
    "options": _OPTIONS,
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
_THINK_LEVELS: Final = {"low": 0.25, "medium": 0.5, "high": 1.0, "max": 1.0}
_TOKEN_CACHE: dict[str, bytes] = {}


# --- shared validation -------------------------------------------------------


def _keep_alive(data: dict[str, Any]) -> float | None:
    try:
        return parse_keep_alive(data.get("keep_alive"))
    except GoJSONError as exc:
        raise Reject(error_reply(400, str(exc))) from None


def _think(data: dict[str, Any]) -> bool | str | None:
    value = data.get("think")
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise Reject(error_reply(400, "think must be a boolean or string"))
    if value not in _THINK_LEVELS:
        raise Reject(
            error_reply(
                400,
                f"invalid think value: {go_quote(value)} (must be "
                '"high", "medium", "low", "max", true, or false)',
            )
        )
    return value


def _top_logprobs(data: dict[str, Any]) -> int:
    value = int(data.get("top_logprobs") or 0)
    if not 0 <= value <= 20:
        raise Reject(error_reply(400, "top_logprobs must be between 0 and 20"))
    return value


def _options(data: dict[str, Any]) -> dict[str, Any]:
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


def _full(model: FakeModel) -> str:
    parsed = parse_name(model.name)
    assert parsed is not None
    return parsed.full


def _streams(data: dict[str, Any]) -> bool:
    return data.get("stream") is not False


def _check_format(ex: Exchange, data: dict[str, Any]) -> Any:
    fmt = data.get("format")
    if fmt is None or fmt == "" or fmt == "json" or isinstance(fmt, dict):
        return fmt or None
    raw = msgspec.json.encode(fmt).decode()
    message = (
        f"invalid format: {go_quote(raw)}; "
        'expected "json" or a valid JSON Schema object'
    )
    # Raised by the runner once streaming is set up: plain application/json.
    raise Reject(error_reply(500, message, JSON_PLAIN if _streams(data) else JSON_UTF8))


# --- plans: what the model will "say" -----------------------------------------


@dataclass
class Plan:
    """The tokens of one answer and how it ends."""

    thinking: list[str]
    content: list[str]
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    done_reason: str = "stop"
    prompt_tokens: int = 1
    load_ns: int = 1
    first_ns: int = 0

    def metrics(self, started_ns: int) -> dict[str, int]:
        """The six timing/count fields, zeros omitted (Go ``omitempty``)."""
        now = time.perf_counter_ns()
        # Without streamed lines there is no first-token mark: split the time.
        first = self.first_ns or now - (now - started_ns - self.load_ns) * 9 // 10
        values = {
            "total_duration": max(1, now - started_ns),
            "load_duration": self.load_ns,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": max(1, first - started_ns - self.load_ns),
            "eval_count": len(self.thinking) + len(self.content) + len(self.tool_calls),
            "eval_duration": max(1, now - first),
        }
        return {k: v for k, v in values.items() if v}


def _plan(
    ex: Exchange,
    model: FakeModel,
    seed: Any,
    *,
    think: bool | str | None,
    fmt: Any,
    options: dict[str, Any],
    calls: list[dict[str, Any]] | None = None,
) -> Plan:
    server = ex.server
    rng = gen.rng_for(model.key, msgspec.json.encode(seed), options.get("seed"))
    thinking: list[str] = []
    if think:
        level = _THINK_LEVELS.get(str(think), 0.5)
        thinking = gen.words(rng, max(1, int(server.response_tokens * level)))
    reply = server._next_reply(model) if calls is None else None
    if calls is not None:
        content: list[str] = []
    elif fmt is not None:
        content = gen.split_json(gen.json_text(fmt, rng))
    elif reply is not None:
        content = gen.split_text(reply)
    else:
        content = gen.words(rng, server.response_tokens)
    plan = Plan(thinking, content, gen.wire_tool_calls(calls or [], rng))
    stops = [s for s in options.get("stop") or [] if s]
    text = "".join(plan.content)
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    if cut >= 0:
        plan.content = _cut_tokens(plan.content, cut)
    limit = options.get("num_predict")
    if isinstance(limit, int | float) and limit >= 0:
        limit = int(limit)
        if len(plan.thinking) + len(plan.content) + len(plan.tool_calls) > limit:
            plan.done_reason = "length"
            plan.thinking = plan.thinking[:limit]
            plan.content = plan.content[: max(0, limit - len(plan.thinking))]
            plan.tool_calls = []
    return plan


def _cut_tokens(tokens: list[str], at: int) -> list[str]:
    out: list[str] = []
    used = 0
    for token in tokens:
        if used + len(token) > at:
            if at > used:
                out.append(token[: at - used])
            break
        out.append(token)
        used += len(token)
    return out


def _token_json(token: str) -> bytes:
    cached = _TOKEN_CACHE.get(token)
    if cached is None:
        cached = encode(token)
        if len(_TOKEN_CACHE) < 4096:
            _TOKEN_CACHE[token] = cached
    return cached


def _logprobs(token: str, top: int) -> list[dict[str, Any]]:
    logprob = -((gen.token_id(token) % 997) / 997.0)
    entry: dict[str, Any] = {"token": token, "logprob": round(logprob, 6)}
    if top:
        entry["top_logprobs"] = [
            {
                "token": token if i == 0 else f"{token}~{i}",
                "logprob": round(logprob - i, 6),
            }
            for i in range(top)
        ]
    return [entry]


def _lines(
    plan: Plan,
    chunk: Callable[[str, str, list[dict[str, Any]] | None], dict[str, Any]],
    fast: Callable[[bytes, bytes, bool], bytes] | None,
    final: Callable[[], dict[str, Any]],
    *,
    coarse_clock: bool,
) -> Iterator[bytes]:
    """NDJSON lines: thinking chunks, content chunks, tool calls, final line.

    ``fast`` builds a line from pre-encoded pieces (the hot path); ``chunk`` builds
    the same line as a dict when something special (logprobs) must be added.
    ``coarse_clock`` (burst mode) reads the clock every 64 lines: formatting a
    timestamp costs as much as the rest of the line.
    """
    cache = _TOKEN_CACHE
    for kind, tokens in (("thinking", plan.thinking), ("content", plan.content)):
        if tokens and not plan.first_ns:
            plan.first_ns = time.perf_counter_ns()
        if fast is None:
            for token in tokens:
                yield encode(chunk(kind, token, None)) + b"\n"
            continue
        thinking = kind == "thinking"
        stamp = created_at_bytes()
        for i, token in enumerate(tokens):
            if not coarse_clock or not i & 63:
                stamp = created_at_bytes()
            yield fast(stamp, cache.get(token) or _token_json(token), thinking)
    if plan.tool_calls:
        yield encode(chunk("content", "", plan.tool_calls)) + b"\n"
    yield encode(final()) + b"\n"


async def _respond(
    ex: Exchange,
    data: dict[str, Any],
    lines: Iterator[bytes],
    single: Callable[[], dict[str, Any]],
) -> web.StreamResponse:
    server = ex.server
    if server.first_token_delay:
        await asyncio.sleep(server.first_token_delay)
    if _streams(data):
        pace = 1.0 / server.tokens_per_second if server.tokens_per_second else 0.0
        return await ex.stream(lines, pace=pace)
    return await _single(ex, single)


async def _single(
    ex: Exchange, build: Callable[[], dict[str, Any]]
) -> web.StreamResponse:
    """A non-streamed answer, with stream faults mapped onto one reply."""
    fault = ex.fault
    if fault is not None:
        if fault.stall_after is not None:
            await asyncio.sleep(fault.stall_for)
        if fault.error_after is not None:
            return error_reply(500, fault.run_error())
        if fault.disconnect_after is not None:
            if ex.request.transport is not None:
                ex.request.transport.abort()
            ex.server._stream_aborted()
            return web.Response()
        if fault.malformed_after is not None:
            return web.Response(
                body=b'{"model": not json', headers={"Content-Type": JSON_UTF8}
            )
    return json_reply(build())


def _huge(ex: Exchange) -> int:
    return (ex.fault.huge_line or 0) if ex.fault is not None else 0


# --- handlers -------------------------------------------------------------------


async def generate(ex: Exchange) -> web.StreamResponse:
    """``POST /api/generate``."""
    data = ex.decode("GenerateRequest", GENERATE_FIELDS)
    keep_alive = _keep_alive(data)
    think = _think(data)
    top = _top_logprobs(data)
    name = data.get("model") or ""
    model = ex.server.models.find(name)
    if model is None:
        raise ex.fail(404, f"model '{name}' not found")
    raw = bool(data.get("raw"))
    if raw and (data.get("template") or data.get("system") or data.get("context")):
        raise ex.fail(400, "raw mode does not support template, system, or context")
    prompt = data.get("prompt") or ""
    if not prompt and keep_alive == 0:
        ex.server.loaded.pop(model.key, None)
        return json_reply(_load_reply(name, "unload", message=False))
    think = _capabilities(ex, model, name, data, think=think, verb="generate")
    options = _options(data)
    load_ns = await ex.server._load(model, options.get("num_ctx"))
    try:
        if not prompt and not data.get("suffix"):
            return json_reply(_load_reply(name, "load", message=False))
        fmt = _check_format(ex, data)
        seed = [prompt, data.get("suffix"), data.get("system"), fmt, think, raw]
        plan = _plan(ex, model, seed, think=think, fmt=fmt, options=options)
        plan.load_ns = load_ns
        plan.prompt_tokens = gen.count_tokens(
            f"{data.get('system') or ''} {prompt}"
        ) + (0 if raw else 6)
        context = [int(t) for t in data.get("context") or []]
        context += [gen.token_id(t) for t in re.findall(r"\S+", prompt)]
        return await _generate_reply(
            ex, data, name, plan, None if raw else context, top
        )
    finally:
        ex.server._keep(model, keep_alive)


async def _generate_reply(
    ex: Exchange,
    data: dict[str, Any],
    name: str,
    plan: Plan,
    context: list[int] | None,
    top: int,
) -> web.StreamResponse:
    logprobs = bool(data.get("logprobs"))
    head = b'{"model":' + encode(name) + b',"created_at":"'

    def fast(stamp: bytes, token: bytes, thinking: bool) -> bytes:  # noqa: FBT001
        if thinking:
            return (
                head
                + stamp
                + b'","response":"","thinking":'
                + token
                + b',"done":false}\n'
            )
        return head + stamp + b'","response":' + token + b',"done":false}\n'

    def chunk(
        kind: str, token: str, calls: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"model": name, "created_at": created_at()}
        out["response"] = token if kind == "content" else ""
        if kind == "thinking":
            out["thinking"] = token
        out["done"] = False
        if logprobs:
            out["logprobs"] = _logprobs(token, top)
        return out

    def final(response: str = "", thinking: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": name,
            "created_at": created_at(),
            "response": response,
        }
        if thinking:
            out["thinking"] = thinking
        out |= {"done": True, "done_reason": plan.done_reason}
        if context is not None:
            full = context + [gen.token_id(t) for t in plan.content]
            huge = _huge(ex)
            if huge:
                full += [100_000 + i % 28_000 for i in range(huge // 6 + 1)]
            out["context"] = full
        return out | plan.metrics(ex.started_ns)

    def single() -> dict[str, Any]:
        out = final("".join(plan.content), "".join(plan.thinking))
        if logprobs:
            out["logprobs"] = [
                e for t in plan.thinking + plan.content for e in _logprobs(t, top)
            ]
        return out

    lines = _lines(
        plan, chunk, None if logprobs else fast, final, coarse_clock=ex.server.burst
    )
    return await _respond(ex, data, lines, single)


def _load_reply(name: str, reason: str, *, message: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"model": name, "created_at": created_at()}
    if message:
        out["message"] = {"role": "assistant", "content": ""}
    else:
        out["response"] = ""
    return out | {"done": True, "done_reason": reason}


def _capabilities(
    ex: Exchange,
    model: FakeModel,
    name: str,
    data: dict[str, Any],
    *,
    think: bool | str | None,
    verb: str,
) -> bool | str | None:
    """Ollama's capability checks; returns the effective ``think``."""
    if think and not model.has("thinking"):
        raise ex.fail(400, f"{go_quote(name)} does not support thinking")
    if not model.has("completion"):
        raise ex.fail(400, f"{go_quote(name)} does not support {verb}")
    wanted = []
    if data.get("suffix"):
        wanted.append("insert")
    if data.get("tools"):
        wanted.append("tools")
    has_images = data.get("images") or any(
        isinstance(m, dict) and m.get("images") for m in data.get("messages") or []
    )
    if has_images:
        wanted.append("vision")
    for capability in wanted:
        if not model.has(capability):
            raise ex.fail(400, f"{_full(model)} does not support {capability}")
    if think is None and model.has("thinking"):
        return True  # thinking models think unless told not to
    return think


async def chat(ex: Exchange) -> web.StreamResponse:
    """``POST /api/chat``."""
    data = ex.decode("ChatRequest", CHAT_FIELDS)
    keep_alive = _keep_alive(data)
    think = _think(data)
    top = _top_logprobs(data)
    name = data.get("model") or ""
    if parse_name(name) is None:
        raise ex.fail(400, "model is required")
    model = ex.server.models.find(name)
    if model is None:
        raise ex.fail(404, f"model '{name}' not found")
    messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
    if not messages and keep_alive == 0:
        ex.server.loaded.pop(model.key, None)
        return json_reply(_load_reply(name, "unload", message=True))
    think = _capabilities(ex, model, name, data, think=think, verb="chat")
    options = _options(data)
    load_ns = await ex.server._load(model, options.get("num_ctx"))
    try:
        if not messages:
            return json_reply(_load_reply(name, "load", message=True))
        fmt = _check_format(ex, data)
        tools = data.get("tools") or []
        calls = _tool_calls(ex, model, tools, messages) if tools else None
        seed = [messages, fmt, think, tools]
        plan = _plan(
            ex, model, seed, think=think, fmt=fmt, options=options, calls=calls
        )
        plan.load_ns = load_ns
        plan.prompt_tokens = sum(
            gen.count_tokens(str(m.get("content") or "")) + 4 for m in messages
        )
        huge = _huge(ex)
        if huge and calls is None:
            plan.content.append(" " + "lorem ipsum " * (huge // 12 + 1))
        return await _chat_reply(ex, data, name, plan, top, had_tools=bool(tools))
    finally:
        ex.server._keep(model, keep_alive)


def _tool_calls(
    ex: Exchange, model: FakeModel, tools: list[Any], messages: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    scripted = ex.server._next_calls(model)
    if scripted is not None:
        return scripted
    # Call a tool when the user just spoke; answer in words after tool results.
    if str(messages[-1].get("role", "")).lower() != "user":
        return None
    if model.tool_calls is not None:
        return model.tool_calls
    rng = gen.rng_for("tools", model.key, msgspec.json.encode(messages))
    return [gen.default_tool_call(tools[0], rng)]


async def _chat_reply(
    ex: Exchange,
    data: dict[str, Any],
    name: str,
    plan: Plan,
    top: int,
    *,
    had_tools: bool,
) -> web.StreamResponse:
    logprobs = bool(data.get("logprobs"))
    head = b'{"model":' + encode(name) + b',"created_at":"'

    def fast(stamp: bytes, token: bytes, thinking: bool) -> bytes:  # noqa: FBT001
        if thinking:
            return (
                head
                + stamp
                + b'","message":{"role":"assistant","content":"","thinking":'
                + token
                + b'},"done":false}\n'
            )
        return (
            head
            + stamp
            + b'","message":{"role":"assistant","content":'
            + token
            + b'},"done":false}\n'
        )

    def chunk(
        kind: str, token: str, calls: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": ""}
        if kind == "thinking":
            message["thinking"] = token
        else:
            message["content"] = token
        if calls:
            message["tool_calls"] = calls
        out: dict[str, Any] = {
            "model": name,
            "created_at": created_at(),
            "message": message,
        }
        out["done"] = False
        if logprobs and not calls:
            out["logprobs"] = _logprobs(token, top)
        return out

    def final(message: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "model": name,
            "created_at": created_at(),
            "message": message or {"role": "assistant", "content": ""},
            "done_reason": plan.done_reason,
            "done": True,
        } | plan.metrics(ex.started_ns)

    def single() -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(plan.content),
        }
        if plan.thinking:
            message["thinking"] = "".join(plan.thinking)
        if had_tools and plan.tool_calls:
            message["tool_calls"] = plan.tool_calls
        out = final(message)
        if logprobs:
            out["logprobs"] = [
                e for t in plan.thinking + plan.content for e in _logprobs(t, top)
            ]
        return out

    lines = _lines(
        plan, chunk, None if logprobs else fast, final, coarse_clock=ex.server.burst
    )
    return await _respond(ex, data, lines, single)


def _embed_inputs(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise Reject(error_reply(400, "invalid input type"))


def _embed_model(ex: Exchange, name: str) -> FakeModel:
    model = ex.server.models.find(name)
    if model is None:
        raise ex.fail(404, f"model {go_quote(name)} not found, try pulling it first")
    return model


async def embed(ex: Exchange) -> web.StreamResponse:
    """``POST /api/embed``."""
    data = ex.decode("EmbedRequest", EMBED_FIELDS)
    keep_alive = _keep_alive(data)
    inputs = _embed_inputs(data.get("input"))
    name = data.get("model") or ""
    if parse_name(name) is None:
        raise ex.fail(404, f"model '{name}' not found")
    model = _embed_model(ex, name)
    options = _options(data)
    load_ns = await ex.server._load(model, options.get("num_ctx"))
    try:
        if not inputs:
            return json_reply({"model": name, "embeddings": []})
        ctx = min(
            int(options.get("num_ctx") or model.parameters.get("num_ctx") or 4096),
            model.context_length,
        )
        vectors = []
        count = 0
        for text in inputs:
            spans = [m.end() for m in gen._TOKEN_RE.finditer(text)]
            if len(spans) > ctx:
                if data.get("truncate") is False:
                    raise ex.fail(400, "the input length exceeds the context length")
                text = text[: spans[ctx - 1]]
            count += min(len(spans), ctx)
            vector = gen.embedding(model.key, text, model.embedding_length)
            dims = int(data.get("dimensions") or 0)
            if 0 < dims < len(vector):
                vector = gen.normalized(vector[:dims])
            vectors.append(vector)
        body = {
            "model": name,
            "embeddings": vectors,
            "total_duration": max(1, time.perf_counter_ns() - ex.started_ns),
            "load_duration": load_ns,
            "prompt_eval_count": count,
        }
        return json_reply(body)
    finally:
        ex.server._keep(model, keep_alive)


async def embeddings(ex: Exchange) -> web.StreamResponse:
    """``POST /api/embeddings`` (legacy: one vector, not normalised)."""
    data = ex.decode("EmbeddingRequest", EMBEDDINGS_FIELDS)
    keep_alive = _keep_alive(data)
    name = data.get("model") or ""
    if parse_name(name) is None:
        raise ex.fail(400, "model is required")
    model = _embed_model(ex, name)
    options = _options(data)
    await ex.server._load(model, options.get("num_ctx"))
    try:
        prompt = data.get("prompt") or ""
        if not prompt:
            return json_reply({"embedding": []})
        vector = gen.embedding(
            model.key, prompt, model.embedding_length, normalize=False
        )
        return json_reply({"embedding": vector})
    finally:
        ex.server._keep(model, keep_alive)


ROUTES: Final[dict[str, dict[str, Handler]]] = {
    "/api/generate": {"POST": generate},
    "/api/chat": {"POST": chat},
    "/api/embed": {"POST": embed},
    "/api/embeddings": {"POST": embeddings},
}
