"""What the model "says" and how it is framed: plans, NDJSON lines, replies.

A `Plan` holds the thinking, content and tool-call tokens of one answer (from
`_generation`, capped by ``num_predict`` and ``stop``); `chunk_lines` turns it
into NDJSON lines on a pre-encoded hot path; `respond` streams them or answers
one object. Imports aiohttp, msgspec and the standard library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from . import _generation as gen
from ._exchange import Exchange, error_reply, json_reply
from ._registry import FakeModel
from ._requests import THINK_LEVELS, streams
from ._wire import JSON_UTF8, created_at_bytes, encode

_TOKEN_CACHE: dict[str, bytes] = {}


@dataclass
class Plan:
    """The tokens of one answer and how it ends."""

    thinking: list[str]
    content: list[str]
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    done_reason: str = "stop"
    prompt_tokens: int = 1
    load_ns: int = 1
    queued_ns: int = 0
    first_ns: int = 0

    @property
    def tokens(self) -> int:
        """Tokens generated as text: thinking and content."""
        return len(self.thinking) + len(self.content)

    def metrics(self, started_ns: int) -> dict[str, int]:
        """The six timing/count fields, zeros omitted (Go ``omitempty``)."""
        now = time.perf_counter_ns()
        # Time queued for a slot counts in the total only: Ollama's runner
        # times the prompt once it has a slot.
        prompt_start = started_ns + self.queued_ns + self.load_ns
        # Without streamed lines there is no first-token mark: split the time.
        first = self.first_ns or now - (now - prompt_start) * 9 // 10
        values = {
            "total_duration": max(1, now - started_ns),
            "load_duration": self.load_ns,
            "prompt_eval_count": self.prompt_tokens,
            "prompt_eval_duration": max(1, first - prompt_start),
            "eval_count": self.tokens + len(self.tool_calls),
            "eval_duration": max(1, now - first),
        }
        return {k: v for k, v in values.items() if v}


def make_plan(
    ex: Exchange,
    model: FakeModel,
    seed: Any,
    *,
    think: bool | str | None,
    fmt: Any,
    options: dict[str, Any],
    calls: list[dict[str, Any]] | None = None,
    prompt: str = "",
) -> Plan:
    """The answer to a request; ``prompt``: what the user said last (which
    keys a ``format: "json"`` object gets)."""
    server = ex.server
    rng = gen.rng_for(model.key, msgspec.json.encode(seed), options.get("seed"))
    thinking: list[str] = []
    if think:
        level = THINK_LEVELS.get(str(think), 0.5)
        thinking = gen.words(rng, max(1, int(server.response_tokens * level)))
    reply = server._next_reply(model) if calls is None else None
    if calls is not None:
        content: list[str] = []
    elif fmt is not None:
        content = gen.split_json(gen.json_text(fmt, rng, prompt))
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


def logprobs_for(token: str, top: int) -> list[dict[str, Any]]:
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


def chunk_lines(
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


async def respond(
    ex: Exchange,
    data: dict[str, Any],
    lines: Iterator[bytes],
    single: Callable[[], dict[str, Any]],
    plan: Plan,
    *,
    finish: Callable[[Any], web.Response] = json_reply,
) -> web.StreamResponse:
    """Stream ``lines``, or answer ``single()`` through ``finish`` (the JSON
    reply, or a relay's)."""
    server = ex.server
    if server.first_token_delay:
        await asyncio.sleep(server.first_token_delay)
    pace = 1.0 / server.tokens_per_second if server.tokens_per_second else 0.0
    if streams(data):
        return await ex.stream(lines, pace=pace)
    if pace and plan.tokens:
        # Ollama answers a non-streamed call once the whole answer is
        # generated: as long as streaming it would take.
        plan.first_ns = time.perf_counter_ns()
        await asyncio.sleep(pace * plan.tokens)
    return await _single(ex, single, finish)


async def _single(
    ex: Exchange,
    build: Callable[[], dict[str, Any]],
    finish: Callable[[Any], web.Response],
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
    return finish(build())


def huge_size(ex: Exchange) -> int:
    return (ex.fault.huge_line or 0) if ex.fault is not None else 0
