"""CLI commands on the emulator: ``demo`` (a short tour of the SDK, on a
server that answers, else on FakeOllama) and ``serve-fake`` (FakeOllama as a
server, run by ``ollama_async.testing``'s own runner). Public API only; the
emulator's server (aiohttp.web) is imported when one of these runs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from ollama_async import (
    AsyncClient,
    MessageDict,
    OllamaError,
    Retry,
    StructuredOutputError,
    Timeout,
)
from ollama_async.testing import ServeError, serve

from ._context import EXIT_OK, EXIT_SERVER, CliError, Context
from ._models import ProgressView


async def serve_fake(ctx: Context) -> int:
    """Serve FakeOllama until Ctrl-C or SIGTERM (exit code 0); the same
    options and run as ``python -m ollama_async.testing``."""
    try:
        await serve(ctx.args, ctx.out, signals=ctx.signals)
    except ServeError as exc:  # the port is taken
        raise CliError(str(exc), EXIT_SERVER) from None
    return EXIT_OK


# -- demo -----------------------------------------------------------------------------


class City(msgspec.Struct):
    """The structured answer the demo asks for."""

    name: str
    country: str
    population: int


async def _probe(ctx: Context) -> tuple[bool, str]:
    """Whether an Ollama server answers at --host / OLLAMA_HOST (quickly), and
    its URL."""
    quick = Timeout(connect=1.0, first_byte=2.0, read=2.0)
    async with ctx.client(timeout=quick, retry=None) as client:
        try:
            await client.version()
        except OllamaError:
            return False, client.base_url
    return True, client.base_url


@contextlib.asynccontextmanager
async def _server(ctx: Context) -> AsyncIterator[tuple[AsyncClient, bool]]:
    """A client for the real server if one answers, else for the emulator."""
    probed = ""
    if not ctx.args.emulator:
        answers, probed = await _probe(ctx)
        if answers:
            async with ctx.client() as client:
                yield client, False
            return
    from ollama_async.testing import FakeOllama

    async with FakeOllama(tokens_per_second=100, response_tokens=30) as server:
        if ctx.args.emulator:
            ctx.write(f"Starting the built-in emulator at {server.url} (--emulator).")
        else:
            ctx.write(
                f"No Ollama answered at {probed}; starting the built-in emulator "
                f"(ollama_async.testing.FakeOllama) at {server.url}."
            )
        async with AsyncClient(server.url, retry=Retry()) as client:
            yield client, True


def _title(ctx: Context, text: str) -> None:
    ctx.write(f"\n== {text}")
    ctx.out.flush()


async def _pick_model(ctx: Context, client: AsyncClient, *, emulated: bool) -> str:
    if ctx.args.model:
        return str(ctx.args.model)
    if emulated:
        return "llama3.2"
    for entry in (await client.list()).models:
        if entry.capabilities is None or "completion" in entry.capabilities:
            return entry.model or entry.name
    raise CliError("the server has no chat model; try `ollama-async pull llama3.2`")


async def demo(ctx: Context) -> int:
    started = time.perf_counter()
    async with _server(ctx) as (client, emulated):
        model = await _pick_model(ctx, client, emulated=emulated)
        version = (await client.version()).version
        ctx.write(f"server {client.base_url} (Ollama {version}), model {model}")
        await _streaming(ctx, client, model)
        await _structured(ctx, client, model)
        await _fan_out(ctx, client, model)
        await _management(ctx, client, model, emulated=emulated)
    ctx.write(f"\ndone in {time.perf_counter() - started:.1f}s. Next:")
    ctx.write(f"  ollama-async run {model} 'Why is the sky blue?'")
    ctx.write("  ollama-async --help")
    return EXIT_OK


async def _streaming(ctx: Context, client: AsyncClient, model: str) -> None:
    _title(ctx, "1. Streaming: async with client.chat(..., stream=True)")
    question: list[MessageDict] = [
        {"role": "user", "content": "Why is the sky blue? One sentence."}
    ]
    started = time.perf_counter()
    async with client.chat(model, question, stream=True) as stream:
        async for part in stream:
            ctx.out.write(part.message.content)
            ctx.out.flush()
            if part.done:
                seconds = time.perf_counter() - started
                ctx.write(f"\n   [{part.eval_count} tokens in {seconds:.2f}s]")


async def _structured(ctx: Context, client: AsyncClient, model: str) -> None:
    _title(ctx, "2. A structured answer: format=City (a msgspec Struct)")
    question: list[MessageDict] = [
        {"role": "user", "content": "A large city, as JSON."}
    ]
    reply = await client.chat(model, question, format=City, options={"temperature": 0})
    try:
        city = reply.parse(City)
    except StructuredOutputError as exc:
        ctx.write(f"   the model's JSON did not fit: {exc}")
        return
    ctx.write(f"   {city!r}")


async def _fan_out(ctx: Context, client: AsyncClient, model: str) -> None:
    _title(ctx, "3. Fan-out: client.batch(24 prompts, concurrency=8)")
    words = ["sun", "moon", "star", "rain", "snow", "wind", "leaf", "tree"]
    requests = [
        {
            "model": model,
            "messages": [{"role": "user", "content": f"A rhyme for {word}?"}],
            "stream": True,  # streamed and folded: cancellable mid-answer
        }
        for word in words * 3
    ]
    progress: Any = False
    if ctx.bars():
        progress = {"desc": "   prompts", "file": ctx.err}
    started = time.perf_counter()
    tokens = failed = 0
    async with client.batch(requests, concurrency=8, progress=progress) as batch:
        async for result in batch:
            if result.ok and result.response is not None:
                tokens += result.response.eval_count or 0
            else:
                failed += 1
    seconds = time.perf_counter() - started
    ctx.write(
        f"   {len(requests) - failed} answers ({failed} failed), {tokens} tokens "
        f"in {seconds:.2f}s"
    )


async def _management(
    ctx: Context, client: AsyncClient, model: str, *, emulated: bool
) -> None:
    _title(ctx, "4. Model management: pull, copy, show, list, ps, stop, delete")
    if not emulated:
        ctx.write("   (read-only on a real server: no pull, copy or delete)")
    else:
        ctx.write("   pull gemma3:1b")
        view = ProgressView(ctx)
        try:
            async with client.pull("gemma3:1b", stream=True) as stream:
                async for line in stream:
                    view.update(line)
        finally:
            view.close_bars()
        await client.copy("gemma3:1b", "my-gemma")
        ctx.write("   copied gemma3:1b to my-gemma")
    shown = "my-gemma" if emulated else model
    info = await client.show(shown)
    details = info.details
    ctx.write(
        f"   show {shown}: {details and details.family} "
        f"{details and details.parameter_size}, "
        f"capabilities {', '.join(info.capabilities or [])}"
    )
    names = [m.model for m in (await client.list()).models]
    ctx.write(f"   list: {', '.join(names)}")
    loaded = [m.model for m in (await client.ps()).models]
    ctx.write(f"   ps: {', '.join(loaded) or '(nothing loaded)'}")
    if emulated:
        for name in loaded:
            await client.generate(name, keep_alive=0)
        ctx.write(
            f"   stopped {len(loaded)} model(s); ps: {len((await client.ps()).models)}"
        )
        await client.delete("my-gemma")
        ctx.write("   deleted my-gemma")
