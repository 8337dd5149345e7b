"""CLI commands that put a model to work on input: ``run`` (one answer, or an
interactive chat) and ``embed``. Public API of ``ollama_async`` only.

Ctrl-C: under ``main()`` the event loop cancels the command, and each stream is
left through ``async with``, so its connection is closed before the process
exits (Ollama stops generating when the socket drops). In an interactive chat
on a terminal, Ctrl-C ends only the answer being written.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ollama_async import AsyncClient, ChatResponse, Stream

from ._context import EXIT_OK, CliError, Context, isatty
from ._format import key_values, parse_value

# -- run ----------------------------------------------------------------------------


def _format(spec: str | None) -> Any:
    if spec is None or spec == "json":
        return spec
    text = spec
    if spec.startswith("@"):
        text = Path(spec[1:]).read_text(encoding="utf-8")
    schema = parse_value(text)
    if not isinstance(schema, dict):
        raise CliError("--format must be 'json', a JSON schema, or @FILE")
    return schema


def chat_options(ctx: Context) -> dict[str, Any]:
    """Keyword arguments of ``client.chat`` from run's flags."""
    args = ctx.args
    options: dict[str, Any] = {}
    if args.format is not None:
        options["format"] = _format(args.format)
    if args.think is not None:
        options["think"] = args.think
    if args.keepalive is not None:
        options["keep_alive"] = parse_value(args.keepalive)
    extra = key_values(args.option)
    if extra:
        options["options"] = extra
    return options


async def answer(
    ctx: Context,
    client: AsyncClient,
    messages: list[dict[str, str]],
    options: dict[str, Any],
) -> str:
    """Stream one answer to stdout; return its text."""
    args = ctx.args
    model: str = args.model
    stream: Stream[ChatResponse]
    if ctx.json:
        stream = client.chat(model, messages, stream=True, **options)
        async with stream:
            final = await stream.collect()
        ctx.emit(final)
        return final.message.content
    out = ctx.out
    parts: list[str] = []
    thinking = False
    last: ChatResponse | None = None
    stream = client.chat(model, messages, stream=True, **options)
    async with stream:
        async for part in stream:
            if part.message.thinking and not args.hidethinking:
                if not thinking:
                    out.write("Thinking...\n")
                    thinking = True
                out.write(part.message.thinking)
            if part.message.content:
                if thinking:
                    out.write("\n...done thinking.\n\n")
                    thinking = False
                out.write(part.message.content)
                parts.append(part.message.content)
            out.flush()
            last = part
    text = "".join(parts)
    if not text.endswith("\n"):
        out.write("\n")
    out.flush()
    if args.verbose and last is not None:
        _stats(ctx, last)
    return text


def _stats(ctx: Context, final: ChatResponse) -> None:
    def seconds(ns: int | None) -> str:
        return "-" if ns is None else f"{ns / 1e9:.3f}s"

    def rate(count: int | None, ns: int | None) -> str:
        if not count or not ns:
            return "-"
        return f"{count / (ns / 1e9):.2f} tokens/s"

    for label, value in (
        ("total duration", seconds(final.total_duration)),
        ("load duration", seconds(final.load_duration)),
        ("prompt eval count", f"{final.prompt_eval_count or 0} token(s)"),
        ("prompt eval duration", seconds(final.prompt_eval_duration)),
        ("prompt eval rate", rate(final.prompt_eval_count, final.prompt_eval_duration)),
        ("eval count", f"{final.eval_count or 0} token(s)"),
        ("eval duration", seconds(final.eval_duration)),
        ("eval rate", rate(final.eval_count, final.eval_duration)),
    ):
        ctx.note(f"{label + ':':<22}{value}")


async def run(ctx: Context) -> int:
    args = ctx.args
    prompt = " ".join(args.prompt) if args.prompt else None
    piped = not isatty(ctx.stdin)
    if piped and not args.interactive:
        data = ctx.stdin.read()
        if data.strip():
            prompt = data if prompt is None else f"{data.rstrip()}\n\n{prompt}"
        if prompt is None:
            raise CliError("no prompt: give one as an argument or on stdin")
    options = chat_options(ctx)
    system = [{"role": "system", "content": args.system}] if args.system else []
    async with ctx.client() as client:
        if prompt is None or args.interactive:
            return await _chat(ctx, client, system, options, prompt)
        await answer(
            ctx, client, [*system, {"role": "user", "content": prompt}], options
        )
    return EXIT_OK


# -- interactive chat ----------------------------------------------------------------

_HELP = """Available commands:
  /set system <text>   set the system message
  /clear               forget the conversation
  /bye                 exit
  /?, /help            this help
Use \"\"\" to begin and end a multi-line message. Ctrl-C stops an answer."""


class _LineReader:
    """Reads lines in a daemon thread, so the loop (and Ctrl-C) stay live and
    a line still being typed never holds up the exit."""

    def __init__(self, stdin: TextIO, *, tty: bool) -> None:
        self.stdin = stdin
        self.tty = tty
        if tty:
            with contextlib.suppress(ImportError):  # line editing and history
                import readline  # noqa: F401

    async def read(self, prompt: str) -> str | None:
        """The next line without its newline, or None at end of input."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()

        def deliver(value: str | None) -> None:
            if not future.done():
                future.set_result(value)

        def work() -> None:
            line: str | None
            try:
                if self.tty:
                    line = input(prompt)
                else:
                    raw = self.stdin.readline()
                    line = raw.removesuffix("\n") if raw else None
            except (EOFError, OSError, ValueError):
                line = None
            with contextlib.suppress(RuntimeError):  # the loop is gone
                loop.call_soon_threadsafe(deliver, line)

        threading.Thread(target=work, name="ollama-async-input", daemon=True).start()
        return await future


async def _message(reader: _LineReader, first: str) -> str:
    """A message: one line, or the lines between \"\"\" marks."""
    if not first.startswith('"""'):
        return first
    rest = first[3:]
    if rest.endswith('"""'):  # \"\"\"all on one line\"\"\"
        return rest[:-3]
    lines = [rest]
    while True:
        line = await reader.read("... " if reader.tty else "")
        if line is None:
            break
        if line.endswith('"""'):
            lines.append(line[:-3])
            break
        lines.append(line)
    return "\n".join(lines).strip("\n")


async def _chat(
    ctx: Context,
    client: AsyncClient,
    system: list[dict[str, str]],
    options: dict[str, Any],
    first: str | None,
) -> int:
    tty = isatty(ctx.stdin)
    reader = _LineReader(ctx.stdin, tty=tty)
    history: list[dict[str, str]] = list(system)
    loop = asyncio.get_running_loop()
    turn: asyncio.Task[str] | None = None

    def on_sigint() -> None:
        if turn is not None and not turn.done():
            turn.cancel()
        else:
            ctx.out.write("\nUse Ctrl + d or /bye to exit.\n>>> ")
            ctx.out.flush()

    own_sigint = ctx.signals and tty
    if own_sigint:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    # Load the model now: a missing model fails before the first question.
    await client.generate(ctx.args.model, **_load_options(options))
    if tty:
        ctx.out.write("Send a message (/? for help)\n")
    try:
        while True:
            if first is not None:
                line: str | None = first
                first = None
            else:
                line = await reader.read(">>> " if tty else "")
            if line is None:
                break
            if not line.strip():
                continue
            if line.startswith("/"):
                if _command(ctx, line, history):
                    break
                continue
            text = await _message(reader, line)
            if not text:
                continue
            history.append({"role": "user", "content": text})
            turn = asyncio.create_task(answer(ctx, client, list(history), options))
            try:
                reply = await turn
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
                history.pop()  # Ctrl-C ended the answer; forget the question
                ctx.out.write("\n")
                continue
            finally:
                turn = None
            history.append({"role": "assistant", "content": reply})
            if tty:
                ctx.out.write("\n")
    finally:
        if own_sigint:
            loop.remove_signal_handler(signal.SIGINT)
    return EXIT_OK


def _load_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("keep_alive", "options")}


def _command(ctx: Context, line: str, history: list[dict[str, str]]) -> bool:
    """Run a /command; True means exit."""
    word, _, rest = line.partition(" ")
    if word in ("/bye", "/exit"):
        return True
    if word in ("/?", "/help"):
        ctx.write(_HELP)
    elif word == "/clear":
        history[:] = [m for m in history if m["role"] == "system"]
        ctx.write("Cleared session context")
    elif word == "/set" and rest.startswith("system "):
        history[:] = [m for m in history if m["role"] != "system"]
        history.insert(0, {"role": "system", "content": rest[7:].strip()})
        ctx.write("Set system message.")
    else:
        ctx.write(f"Unknown command '{word}'. Type /? for help")
    return False


# -- embed ----------------------------------------------------------------------------


def _chunks(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def embed(ctx: Context) -> int:
    args = ctx.args
    texts: Iterator[str]
    if args.text:
        texts = iter(args.text)
    elif isatty(ctx.stdin):
        raise CliError("no input: give texts as arguments or one per line on stdin")
    else:
        texts = (line.rstrip("\r\n") for line in ctx.stdin if line.strip())
    async with ctx.client() as client:
        for chunk in _chunks(texts, args.batch_size):
            reply = await client.embed(
                args.model, chunk, truncate=args.truncate, dimensions=args.dimensions
            )
            for text, vector in zip(chunk, reply.embeddings, strict=True):
                ctx.emit({"input": text, "embedding": vector})
    return EXIT_OK
