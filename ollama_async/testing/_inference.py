"""Handlers for the model-running endpoints: generate, chat, embed, embeddings.

Validation runs in the order of Ollama's handlers (``server/routes.go``) so the
first error a request triggers is the one Ollama would report. Output comes from
`_plans`; bytes leave through `Exchange.stream` or a single JSON reply. A remote
model's answers are relayed as Ollama relays them (`Relay`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import msgspec
from aiohttp import web

from . import _generation as gen
from ._exchange import Exchange, Handler, Reject, error_reply, json_reply
from ._plans import Plan, chunk_lines, huge_size, logprobs_for, make_plan, respond
from ._registry import CLOUD, DEFAULT_TEMPLATE, LOCAL, FakeModel, ModelRef
from ._requests import (
    CHAT_FIELDS,
    EMBED_FIELDS,
    EMBEDDINGS_FIELDS,
    GENERATE_FIELDS,
    NO_IMAGE_INPUT,
    NO_MULTIMODAL,
    check_format,
    cloud_disabled,
    full_name,
    keep_alive_of,
    model_ref,
    options_of,
    runner_error,
    streams,
    think_of,
    top_logprobs_of,
)
from ._users import SIGNIN_URL
from ._wire import JSON_UTF8, NDJSON, created_at, encode, go_quote

REMOTES: Final = ("ollama.com",)
"""Hosts a remote model may name: Ollama's default ``OLLAMA_REMOTES``."""
_REMOTE_OFF: Final = "remote model is unavailable"


@dataclass(frozen=True)
class Relay:
    """How Ollama passes on a remote model's answer (the remote branch of
    ``GenerateHandler``/``ChatHandler``): each object re-encoded with the name
    as sent plus ``remote_model``/``remote_host``, each followed by a newline,
    under the content type chosen before the call."""

    model: str
    remote_model: str
    remote_host: str
    streaming: bool

    @property
    def content_type(self) -> str:
        return NDJSON if self.streaming else JSON_UTF8

    def head(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "remote_model": self.remote_model,
            "remote_host": self.remote_host,
        }

    def reply(self, obj: Any) -> web.Response:
        return web.Response(
            body=encode(obj) + b"\n", headers={"Content-Type": self.content_type}
        )

    def error(self, response: web.StreamResponse) -> web.Response:
        """The remote's error as Ollama answers it: a 401 becomes its own
        sign-in reply, anything else the Go client's ``StatusError``."""
        status = response.status
        if status == 401:
            obj: dict[str, Any] = {"error": "unauthorized", "signin_url": SIGNIN_URL}
        else:
            body = getattr(response, "body", b"") or b""
            try:
                message = str(json.loads(body)["error"])
            except (ValueError, KeyError, TypeError):
                message = bytes(body).decode("utf-8", "replace")
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = ""
            obj = {
                "StatusCode": status,
                "Status": f"{status} {phrase}",
                "error": message,
            }
        return web.Response(
            body=encode(obj), status=status, headers={"Content-Type": self.content_type}
        )


def _reply(obj: Any, relay: Relay | None) -> web.Response:
    return relay.reply(obj) if relay else json_reply(obj)


def _head(name: str, relay: Relay | None) -> dict[str, Any]:
    return relay.head() if relay else {"model": name}


def _installed(
    ex: Exchange, ref: ModelRef, missing: str, *, local_only: bool = True
) -> FakeModel:
    """The model a reference names, with Ollama's answers when there is none.

    An explicit ``:cloud`` name is proxied to ollama.com by Ollama: the
    emulator gives the 403 of a server with cloud off, and otherwise serves
    it from a model installed under that very name. ``local_only``: a remote
    model named with ``:local`` is not found (generate, chat).
    """
    if ref.source == CLOUD:
        reject = cloud_disabled(ex, _REMOTE_OFF)
        if reject is not None:
            raise reject
        model = ex.server.models.find(ref.original)
    else:
        model = ex.server.models.find(ref.base)
    if model is None or (local_only and ref.source == LOCAL and model.is_remote):
        raise ex.fail(404, missing)
    return model


async def _relay(
    ex: Exchange,
    data: dict[str, Any],
    model: FakeModel,
    run: Callable[[Relay], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Ollama's remote branch: checks, then the remote's answer relayed."""
    reject = cloud_disabled(ex, _REMOTE_OFF)
    if reject is not None:
        raise reject
    host = _hostname(model.remote_host)
    if host not in REMOTES:
        raise ex.fail(400, "this server cannot run this remote model")
    relay = Relay(str(data.get("model") or ""), *_remote(model), streams(data))
    try:
        if host == "ollama.com" and ex.server.user is None:
            # ollama.com refuses a key no account holds.
            raise Reject(json_reply({"error": "unauthorized"}, 401))
        return await run(relay)
    except Reject as remote:
        return relay.error(remote.response)


def _remote(model: FakeModel) -> tuple[str, str]:
    return model.remote_model, model.remote_host


def _hostname(url: str) -> str:
    """Go's ``url.URL.Hostname``: the host without port or brackets."""
    rest = url.partition("://")[2] if "://" in url else ""
    host = rest.split("/", 1)[0].rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


def _merged_options(data: dict[str, Any], model: FakeModel) -> dict[str, Any]:
    """The request's options over the model's, as Ollama sends them on."""
    return {**model.parameters, **(data.get("options") or {})}


# --- generate ---------------------------------------------------------------------


async def generate(ex: Exchange) -> web.StreamResponse:
    """``POST /api/generate``."""
    data = ex.decode("GenerateRequest", GENERATE_FIELDS)
    top = top_logprobs_of(data)
    name = str(data.get("model") or "")
    missing = f"model '{name}' not found"
    model = _installed(ex, model_ref(ex, name, 404, missing), missing)
    if model.is_remote:
        sent = data | {
            "model": model.remote_model,
            "template": data.get("template") or model.template or DEFAULT_TEMPLATE,
            "system": data.get("system") or model.system,
            "options": _merged_options(data, model),
        }
        return await _relay(
            ex,
            data,
            model,
            lambda relay: _generate(ex, sent, model, model.remote_model, top, relay),
        )
    return await _generate(ex, data, model, name, top, None)


async def _generate(
    ex: Exchange,
    data: dict[str, Any],
    model: FakeModel,
    name: str,
    top: int,
    relay: Relay | None,
) -> web.StreamResponse:
    """GenerateHandler from the unload check on; ``relay``: as the remote runs it."""
    keep_alive = keep_alive_of(data)
    prompt = data.get("prompt") or ""
    head = _head(name, relay)
    if not prompt and keep_alive == 0:
        if relay is None:
            ex.server.loaded.pop(model.key, None)
        return _reply(_load_reply(head, "unload", message=False), relay)
    if model.has("image"):
        raise ex.fail(400, "image generation models are not currently supported")
    raw = bool(data.get("raw"))
    if raw and (data.get("template") or data.get("system") or data.get("context")):
        raise ex.fail(400, "raw mode does not support template, system, or context")
    think = _capabilities(ex, model, name, data, think=think_of(data), verb="generate")
    options = options_of(data)
    load_ns = 1
    if relay is None:
        ticket = ex.ticket if prompt else None
        load_ns = await ex.server._load(model, options.get("num_ctx"), ticket=ticket)
    try:
        if not prompt:
            return _reply(_load_reply(head, "load", message=False), relay)
        # The runner's own chat template renders the prompt (Go: a native
        # model without suffix or template): its errors come before streaming.
        native = model.native_chat and not (
            raw or data.get("suffix") or data.get("template")
        )
        fmt = check_format(ex, data, early=native)
        if data.get("images") and not model.has("vision"):
            messages = 1 + bool(data.get("system") or model.system)
            if data.get("context") is None:
                messages += len(model.messages)
            raise _no_vision(data, native=native, rendered=messages > 1)
        seed = [prompt, data.get("suffix"), data.get("system"), fmt, think, raw]
        plan = make_plan(
            ex, model, seed, think=think, fmt=fmt, options=options, prompt=prompt
        )
        plan.load_ns = load_ns
        plan.queued_ns = ex.ticket.queued_ns
        plan.prompt_tokens = gen.count_tokens(
            f"{data.get('system') or ''} {prompt}"
        ) + (0 if raw else 6)
        context = [int(t) for t in data.get("context") or []]
        context += [gen.token_id(t) for t in re.findall(r"\S+", prompt)]
        return await _generate_reply(
            ex, data, head, plan, None if raw else context, top, relay
        )
    finally:
        if relay is None:
            ex.server._keep(model, keep_alive)


def _no_vision(data: dict[str, Any], *, native: bool, rendered: bool) -> Reject:
    """What Ollama answers when images reach a model without a projector.

    Ollama checks nothing: the runner refuses. Through llama-server's
    /completion that is a 400; through its chat parser (a native model that
    Ollama first renders to truncate, when more than one message is sent and
    ``truncate`` is on) a 500, returned before streaming starts.
    """
    if native and rendered and data.get("truncate") is not False:
        return Reject(error_reply(*NO_IMAGE_INPUT))
    return runner_error(data, *NO_MULTIMODAL)


async def _generate_reply(
    ex: Exchange,
    data: dict[str, Any],
    head: dict[str, Any],
    plan: Plan,
    context: list[int] | None,
    top: int,
    relay: Relay | None,
) -> web.StreamResponse:
    logprobs = bool(data.get("logprobs"))
    start = encode(head)[:-1] + b',"created_at":"'

    def fast(stamp: bytes, token: bytes, thinking: bool) -> bytes:  # noqa: FBT001
        if thinking:
            return (
                start
                + stamp
                + b'","response":"","thinking":'
                + token
                + b',"done":false}\n'
            )
        return start + stamp + b'","response":' + token + b',"done":false}\n'

    def chunk(
        kind: str, token: str, calls: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {**head, "created_at": created_at()}
        out["response"] = token if kind == "content" else ""
        if kind == "thinking":
            out["thinking"] = token
        out["done"] = False
        if logprobs:
            out["logprobs"] = logprobs_for(token, top)
        return out

    def final(response: str = "", thinking: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            **head,
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
    return await respond(
        ex, data, lines, single, plan, finish=relay.reply if relay else json_reply
    )


def _load_reply(head: dict[str, Any], reason: str, *, message: bool) -> dict[str, Any]:
    out: dict[str, Any] = {**head, "created_at": created_at()}
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
    """Ollama's capability checks; returns the effective ``think``.

    Images are not checked: Ollama sends them to the runner, which refuses
    them (see `_no_vision`).
    """
    if think and not model.has("thinking"):
        raise ex.fail(400, f"{go_quote(name)} does not support thinking")
    if not model.has("completion"):
        raise ex.fail(400, f"{go_quote(name)} does not support {verb}")
    wanted = []
    if data.get("suffix"):
        wanted.append("insert")
    if data.get("tools"):
        wanted.append("tools")
    for capability in wanted:
        if not model.has(capability):
            raise ex.fail(400, f"{full_name(model)} does not support {capability}")
    if think is None and model.has("thinking"):
        return True  # thinking models think unless told not to
    return think


# --- chat ---------------------------------------------------------------------------


def _messages(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in data.get("messages") or [] if isinstance(m, dict)]


async def chat(ex: Exchange) -> web.StreamResponse:
    """``POST /api/chat``."""
    data = ex.decode("ChatRequest", CHAT_FIELDS)
    top = top_logprobs_of(data)
    name = str(data.get("model") or "")
    missing = f"model '{name}' not found"
    model = _installed(ex, model_ref(ex, name, 400, "model is required"), missing)
    messages = _messages(data)
    if not messages and keep_alive_of(data) == 0:
        # Before the remote branch: a remote model is "unloaded" here too.
        ex.server.loaded.pop(model.key, None)
        return json_reply(_load_reply({"model": name}, "unload", message=True))
    if model.is_remote:
        sent = data | {
            "model": model.remote_model,
            "messages": _remote_messages(model, messages),
            "options": _merged_options(data, model),
        }
        return await _relay(
            ex,
            data,
            model,
            lambda relay: _chat(ex, sent, model, model.remote_model, top, relay),
        )
    return await _chat(ex, data, model, name, top, None)


def _remote_messages(
    model: FakeModel, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The conversation Ollama sends a remote model: the Modelfile's messages
    first, and its system prompt unless the request starts with one."""
    if not messages:
        return []
    out = [*model.messages, *messages]
    if messages[0].get("role") != "system" and model.system:
        out.insert(0, {"role": "system", "content": model.system})
    return out


async def _chat(
    ex: Exchange,
    data: dict[str, Any],
    model: FakeModel,
    name: str,
    top: int,
    relay: Relay | None,
) -> web.StreamResponse:
    """ChatHandler from the capability checks on; ``relay``: as the remote runs it."""
    keep_alive = keep_alive_of(data)
    messages = _messages(data)
    head = _head(name, relay)
    think = _capabilities(ex, model, name, data, think=think_of(data), verb="chat")
    options = options_of(data)
    load_ns = 1
    if relay is None:
        ticket = ex.ticket if messages else None
        load_ns = await ex.server._load(model, options.get("num_ctx"), ticket=ticket)
    try:
        if not messages:
            return _reply(_load_reply(head, "load", message=True), relay)
        # A native model's chat is rendered by the runner; with more than one
        # message Ollama renders it first to truncate, before streaming.
        count = len(model.messages) + len(messages)
        if messages[0].get("role") != "system" and model.system:
            count += 1
        early = model.native_chat and count > 1 and data.get("truncate") is not False
        fmt = check_format(ex, data, early=early)
        if not model.has("vision") and any(m.get("images") for m in messages):
            if model.native_chat:
                if early:
                    raise Reject(error_reply(*NO_IMAGE_INPUT))
                raise runner_error(data, *NO_IMAGE_INPUT)
            raise runner_error(data, *NO_MULTIMODAL)
        tools = data.get("tools") or []
        calls = _tool_calls(ex, model, tools, messages) if tools else None
        seed = [messages, fmt, think, tools]
        plan = make_plan(
            ex,
            model,
            seed,
            think=think,
            fmt=fmt,
            options=options,
            calls=calls,
            prompt=_last_user_text(messages),
        )
        plan.load_ns = load_ns
        plan.queued_ns = ex.ticket.queued_ns
        plan.prompt_tokens = sum(
            gen.count_tokens(str(m.get("content") or "")) + 4 for m in messages
        )
        huge = huge_size(ex)
        if huge and calls is None:
            plan.content.append(" " + "lorem ipsum " * (huge // 12 + 1))
        return await _chat_reply(
            ex, data, head, plan, top, had_tools=bool(tools), relay=relay
        )
    finally:
        if relay is None:
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
    tool = gen.pick_tool(tools, _last_user_text(messages))
    return [gen.default_tool_call(tool, rng)]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    """What the user said last (the content of the last user message)."""
    for message in reversed(messages):
        if str(message.get("role", "")).lower() == "user":
            return str(message.get("content") or "")
    return ""


async def _chat_reply(
    ex: Exchange,
    data: dict[str, Any],
    head: dict[str, Any],
    plan: Plan,
    top: int,
    *,
    had_tools: bool,
    relay: Relay | None,
) -> web.StreamResponse:
    logprobs = bool(data.get("logprobs"))
    start = encode(head)[:-1] + b',"created_at":"'

    def fast(stamp: bytes, token: bytes, thinking: bool) -> bytes:  # noqa: FBT001
        if thinking:
            return (
                start
                + stamp
                + b'","message":{"role":"assistant","content":"","thinking":'
                + token
                + b'},"done":false}\n'
            )
        return (
            start
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
            **head,
            "created_at": created_at(),
            "message": message,
        }
        out["done"] = False
        if logprobs and not calls:
            out["logprobs"] = logprobs_for(token, top)
        return out

    def final(message: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            **head,
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
    return await respond(
        ex, data, lines, single, plan, finish=relay.reply if relay else json_reply
    )


# --- embeddings ---------------------------------------------------------------------


def _embed_inputs(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise Reject(error_reply(400, "invalid input type"))


def _embed_model(ex: Exchange, ref: ModelRef, name: str) -> FakeModel:
    """Ollama's scheduler answer for a model it cannot find."""
    missing = f"model {go_quote(name)} not found, try pulling it first"
    return _installed(ex, ref, missing, local_only=False)


async def embed(ex: Exchange) -> web.StreamResponse:
    """``POST /api/embed``."""
    data = ex.decode("EmbedRequest", EMBED_FIELDS)
    keep_alive = keep_alive_of(data)
    name = str(data.get("model") or "")
    ref = model_ref(ex, name, 404, f"model '{name}' not found")
    if ref.source == CLOUD:
        reject = cloud_disabled(ex, _REMOTE_OFF)
        if reject is not None:
            raise reject
    inputs = _embed_inputs(data.get("input"))
    model = _embed_model(ex, ref, name)
    options = options_of(data)
    ticket = ex.ticket if inputs else None
    load_ns = await ex.server._load(model, options.get("num_ctx"), ticket=ticket)
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
    name = str(data.get("model") or "")
    model = _embed_model(ex, model_ref(ex, name, 400, "model is required"), name)
    options = options_of(data)
    prompt = data.get("prompt") or ""
    ticket = ex.ticket if prompt else None
    await ex.server._load(model, options.get("num_ctx"), ticket=ticket)
    try:
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
