"""Handlers for the model-running endpoints: generate, chat, embed, embeddings.

Validation runs in the order of Ollama's handlers (``server/routes.go``) so the
first error a request triggers is the one Ollama would report. Output comes from
`_plans`; bytes leave through `Exchange.stream` or a single JSON reply.
"""

from __future__ import annotations

import re
import time
from typing import Any, Final

import msgspec
from aiohttp import web

from . import _generation as gen
from ._exchange import Exchange, Handler, Reject, error_reply, json_reply
from ._plans import Plan, chunk_lines, huge_size, logprobs_for, make_plan, respond
from ._registry import FakeModel, parse_name
from ._requests import (
    CHAT_FIELDS,
    EMBED_FIELDS,
    EMBEDDINGS_FIELDS,
    GENERATE_FIELDS,
    check_format,
    full_name,
    keep_alive_of,
    options_of,
    think_of,
    top_logprobs_of,
)
from ._wire import created_at, encode, go_quote


async def generate(ex: Exchange) -> web.StreamResponse:
    """``POST /api/generate``."""
    data = ex.decode("GenerateRequest", GENERATE_FIELDS)
    keep_alive = keep_alive_of(data)
    think = think_of(data)
    top = top_logprobs_of(data)
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
    options = options_of(data)
    load_ns = await ex.server._load(model, options.get("num_ctx"))
    try:
        if not prompt and not data.get("suffix"):
            return json_reply(_load_reply(name, "load", message=False))
        fmt = check_format(ex, data)
        seed = [prompt, data.get("suffix"), data.get("system"), fmt, think, raw]
        plan = make_plan(ex, model, seed, think=think, fmt=fmt, options=options)
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
            out["logprobs"] = logprobs_for(token, top)
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
            huge = huge_size(ex)
            if huge:
                full += [100_000 + i % 28_000 for i in range(huge // 6 + 1)]
            out["context"] = full
        return out | plan.metrics(ex.started_ns)

    def single() -> dict[str, Any]:
        out = final("".join(plan.content), "".join(plan.thinking))
        if logprobs:
            out["logprobs"] = [
                e for t in plan.thinking + plan.content for e in logprobs_for(t, top)
            ]
        return out

    lines = chunk_lines(
        plan, chunk, None if logprobs else fast, final, coarse_clock=ex.server.burst
    )
    return await respond(ex, data, lines, single, plan)


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
            raise ex.fail(400, f"{full_name(model)} does not support {capability}")
    if think is None and model.has("thinking"):
        return True  # thinking models think unless told not to
    return think


async def chat(ex: Exchange) -> web.StreamResponse:
    """``POST /api/chat``."""
    data = ex.decode("ChatRequest", CHAT_FIELDS)
    keep_alive = keep_alive_of(data)
    think = think_of(data)
    top = top_logprobs_of(data)
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
    options = options_of(data)
    load_ns = await ex.server._load(model, options.get("num_ctx"))
    try:
        if not messages:
            return json_reply(_load_reply(name, "load", message=True))
        fmt = check_format(ex, data)
        tools = data.get("tools") or []
        calls = _tool_calls(ex, model, tools, messages) if tools else None
        seed = [messages, fmt, think, tools]
        plan = make_plan(
            ex, model, seed, think=think, fmt=fmt, options=options, calls=calls
        )
        plan.load_ns = load_ns
        plan.prompt_tokens = sum(
            gen.count_tokens(str(m.get("content") or "")) + 4 for m in messages
        )
        huge = huge_size(ex)
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
            out["logprobs"] = logprobs_for(token, top)
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
                e for t in plan.thinking + plan.content for e in logprobs_for(t, top)
            ]
        return out

    lines = chunk_lines(
        plan, chunk, None if logprobs else fast, final, coarse_clock=ex.server.burst
    )
    return await respond(ex, data, lines, single, plan)


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
    keep_alive = keep_alive_of(data)
    inputs = _embed_inputs(data.get("input"))
    name = data.get("model") or ""
    if parse_name(name) is None:
        raise ex.fail(404, f"model '{name}' not found")
    model = _embed_model(ex, name)
    options = options_of(data)
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
    keep_alive = keep_alive_of(data)
    name = data.get("model") or ""
    if parse_name(name) is None:
        raise ex.fail(400, "model is required")
    model = _embed_model(ex, name)
    options = options_of(data)
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
