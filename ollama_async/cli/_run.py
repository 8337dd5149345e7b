"""CLI commands that put a model to work on input: ``run`` (one answer, or an
interactive chat that mirrors ``ollama run``'s) and ``embed``. Public API of
``ollama_async`` only.

The answer is drawn with rich (the ``cli`` extra): word wrap at the terminal
width, a spinner on stderr until the first token, the thinking dimmed. Piped
output is plain text without escape codes, and so is everything under
``NO_COLOR`` but the spinner; without rich installed the output is plain too.

Ctrl-C: under ``main()`` the event loop cancels the command, and each stream is
left through ``async with``, so its connection is closed before the process
exits (Ollama stops generating when the socket drops). In an interactive chat
on a terminal, Ctrl-C ends only the answer being written.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import msgspec

from ollama_async import (
    AsyncClient,
    ChatResponse,
    NotFoundError,
    Options,
    ResponseError,
    ShowResponse,
    Stream,
)

from ._context import EXIT_OK, CliError, Context, isatty
from ._format import key_values, parse_value
from ._models import show_info, show_progress

# -- the session: what `ollama run` keeps between questions ---------------------------


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


@dataclass
class Session:
    """The model, the conversation and the settings ``/set`` changes."""

    model: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    system: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    format: Any = None
    think: Any = None
    keep_alive: Any = None
    verbose: bool = False
    wordwrap: bool = True
    hidethinking: bool = False
    vision: bool = False

    @classmethod
    def from_args(cls, ctx: Context) -> Session:
        args = ctx.args
        system = args.system or None
        return cls(
            model=args.model,
            messages=[{"role": "system", "content": system}] if system else [],
            system=system,
            options=key_values(args.option) or {},
            format=_format(args.format),
            think=args.think,
            keep_alive=None if args.keepalive is None else parse_value(args.keepalive),
            verbose=args.verbose,
            wordwrap=not getattr(args, "nowordwrap", False),
            hidethinking=args.hidethinking,
        )

    def chat_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``client.chat`` besides the messages."""
        kwargs: dict[str, Any] = {}
        if self.format is not None:
            kwargs["format"] = self.format
        if self.think is not None:
            kwargs["think"] = self.think
        if self.keep_alive is not None:
            kwargs["keep_alive"] = self.keep_alive
        if self.options:
            kwargs["options"] = dict(self.options)
        return kwargs

    def load_kwargs(self) -> dict[str, Any]:
        """What a generate with no prompt (loading the model) takes of them."""
        kwargs = self.chat_kwargs()
        return {k: v for k, v in kwargs.items() if k in ("keep_alive", "options")}


# -- drawing an answer ----------------------------------------------------------------


class _Display:
    """stdout through rich: styles only on a terminal and without NO_COLOR,
    the width for word wrap only on a terminal; a spinner on stderr."""

    def __init__(self, ctx: Context, *, wordwrap: bool) -> None:
        self.ctx = ctx
        self.console: Any = None
        self.err_console: Any = None
        with contextlib.suppress(ImportError):
            from rich.console import Console

            self.console, self.err_console = (
                Console(
                    file=file,
                    soft_wrap=True,
                    highlight=False,
                    markup=False,
                    emoji=False,
                )
                for file in (ctx.out, ctx.err)
            )
        terminal = self.console is not None and self.console.is_terminal
        self.styled = terminal and not self.console.no_color
        # One column spare: a full line would leave the cursor in limbo.
        self.width: int | None = self.console.width - 1 if terminal else None
        if not wordwrap:
            self.width = None
        self.last = ""
        self._spinner: Any = None

    def write(self, text: str, style: str | None = None) -> None:
        if not text:
            return
        if self.styled and style:
            self.console.out(text, style=style, highlight=False, end="")
        else:
            self.ctx.out.write(text)
        self.ctx.out.flush()
        self.last = text[-1]

    def start_spinner(self) -> None:
        if self.err_console is None or not self.err_console.is_terminal:
            return
        from rich.live import Live
        from rich.spinner import Spinner

        self._spinner = Live(
            Spinner("dots"),
            console=self.err_console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            refresh_per_second=12.5,
        )
        self._spinner.start()

    def stop_spinner(self) -> None:
        spinner, self._spinner = self._spinner, None
        if spinner is not None:
            spinner.stop()


class _Wrap:
    """Word wrap for text that arrives in pieces: a word is held until it
    ends, then written on this line, or on the next when it would pass
    ``width`` (None: no wrapping). Counts terminal cells, not characters."""

    def __init__(self, width: int | None) -> None:
        self.width = width
        self.column = 0
        self.word = ""

    def feed(self, text: str) -> str:
        if self.width is None:
            return text
        out: list[str] = []
        for char in text:
            if char == "\n":
                self._place(out)
                out.append("\n")
                self.column = 0
            elif char in " \t":
                self._place(out)
                if self.column + 1 > self.width:
                    out.append("\n")
                    self.column = 0
                else:
                    out.append(char)
                    self.column += 1
            else:
                self.word += char
        return "".join(out)

    def flush(self) -> str:
        out: list[str] = []
        self._place(out)
        return "".join(out)

    def _place(self, out: list[str]) -> None:
        if not self.word or self.width is None:
            return
        from rich.cells import cell_len

        size = cell_len(self.word)
        if self.column and self.column + size > self.width:
            out.append("\n")
            self.column = 0
        out.append(self.word)
        self.column += size
        if self.column > self.width:  # a word longer than a line
            self.column %= self.width
        self.word = ""


async def answer(ctx: Context, client: AsyncClient, session: Session) -> str:
    """Stream the answer to the session's messages to stdout; return its text."""
    messages = list(session.messages)
    kwargs = session.chat_kwargs()
    stream: Stream[ChatResponse]
    if ctx.json:
        stream = client.chat(session.model, messages, stream=True, **kwargs)
        async with stream:
            final = await stream.collect()
        ctx.emit(final)
        return final.message.content
    display = _Display(ctx, wordwrap=session.wordwrap)
    wrap = _Wrap(display.width)
    style: str | None = None  # of the words `wrap` holds
    parts: list[str] = []
    thinking = False
    last: ChatResponse | None = None
    display.start_spinner()
    try:
        stream = client.chat(session.model, messages, stream=True, **kwargs)
        async with stream:
            async for part in stream:
                thought = None if session.hidethinking else part.message.thinking
                content = part.message.content
                if thought or content:
                    display.stop_spinner()
                if thought:
                    if not thinking:
                        display.write("Thinking...\n", "bold dim")
                        thinking, style, wrap = True, "dim", _Wrap(display.width)
                    display.write(wrap.feed(thought), style)
                if content:
                    if thinking:
                        display.write(wrap.flush(), style)
                        if display.last != "\n":
                            display.write("\n")
                        display.write("...done thinking.\n\n", "bold dim")
                        thinking, style, wrap = False, None, _Wrap(display.width)
                    display.write(wrap.feed(content), style)
                    parts.append(content)
                last = part
    except asyncio.CancelledError:
        # Ctrl-C: the prompt starts on a line of its own. (A word held for
        # wrapping is dropped: the terminal has echoed ^C after the others.)
        display.stop_spinner()
        display.write("\n")
        raise
    finally:
        display.stop_spinner()
    display.write(wrap.flush(), style)
    if display.last != "\n":
        display.write("\n")
    if session.verbose and last is not None:
        _stats(ctx, last)
    return "".join(parts)


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


# -- images in a prompt (vision models), as `ollama run` finds them ------------------

_FILE_NAME = re.compile(
    r"(?:[a-zA-Z]:)?(?:\./|/|\\)[\S\\ ]+?\.(?i:jpg|jpeg|png|webp|wav)\b"
)
_ESCAPED = re.compile(r"\\([ ()\[\]{}$&;'\\*?~])")


def _file_names(text: str) -> list[str]:
    return _FILE_NAME.findall(text)


def user_message(ctx: Context, session: Session, text: str) -> dict[str, Any]:
    """A user message; for a vision model, the files the text names that
    exist become its images and leave its text."""
    message: dict[str, Any] = {"role": "user", "content": text}
    if not session.vision:
        return message
    images: list[bytes] = []
    for name in _file_names(text):
        path = _ESCAPED.sub(r"\1", name)
        try:
            data = Path(path).expanduser().read_bytes()
        except FileNotFoundError:
            continue
        kind = "audio" if path.lower().endswith(".wav") else "image"
        ctx.note(f"Added {kind} '{path}'")
        for form in (f"'{path}'", f"'{name}'", name):
            text = text.replace(form, "")
        images.append(data)
    if images:
        message["content"] = text.strip()
        message["images"] = images
    return message


# -- run ----------------------------------------------------------------------------


async def _find_model(
    ctx: Context, client: AsyncClient, reader: _LineReader, model: str
) -> ShowResponse:
    """The model's details; on a terminal, a missing model can be pulled."""
    try:
        return await client.show(model)
    except NotFoundError:
        if ctx.json or not (reader.tty and isatty(ctx.err)):
            raise
        reply = await reader.read(f"model '{model}' not found; pull it? [Y/n] ")
        if reply is None or reply.strip().lower() not in ("", "y", "yes"):
            if reply is None:
                ctx.write()
            raise
    await show_progress(ctx, client.pull(model, stream=True))
    return await client.show(model)


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
    session = Session.from_args(ctx)
    reader = _LineReader(ctx.stdin, tty=not piped)
    async with ctx.client() as client:
        info = await _find_model(ctx, client, reader, session.model)
        session.vision = "vision" in (info.capabilities or ())
        if prompt is None or args.interactive:
            return await _chat(ctx, client, reader, session, prompt)
        session.messages.append(user_message(ctx, session, prompt))
        await answer(ctx, client, session)
    return EXIT_OK


# -- interactive chat ----------------------------------------------------------------


class _LineReader:
    """Reads lines in a daemon thread, so the loop (and Ctrl-C) stay live and
    a line still being typed never holds up the exit."""

    def __init__(self, stdin: TextIO, *, tty: bool) -> None:
        self.stdin = stdin
        self.tty = tty
        self.readline: Any = None
        if tty:
            with contextlib.suppress(ImportError):  # line editing and history
                import readline

                self.readline = readline

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

    def history(self, *, on: bool) -> None:
        if self.readline is not None:
            self.readline.set_auto_history(on)


async def _rest(reader: _LineReader, first: str) -> str:
    """After a line that opens \"\"\" (its text is ``first``): the lines up to
    the one that ends with \"\"\", joined by newlines."""
    if first.endswith('"""'):
        return first[:-3]
    lines = [first]
    while True:
        line = await reader.read("... " if reader.tty else "")
        if line is None:
            break
        if line.endswith('"""'):
            lines.append(line[:-3])
            break
        lines.append(line)
    return "\n".join(lines)


async def _chat(
    ctx: Context,
    client: AsyncClient,
    reader: _LineReader,
    session: Session,
    first: str | None,
) -> int:
    tty = reader.tty
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
    # Load the model now: a model that cannot run fails before the first question.
    await client.generate(session.model, **session.load_kwargs())
    if tty:
        ctx.write("Send a message (/? for help)")
    try:
        while True:
            if first is not None:
                line: str | None = first
                first = None
            else:
                line = await reader.read(">>> " if tty else "")
            if line is None:
                if tty:  # Ctrl-D: end the prompt's line
                    ctx.write()
                break
            if line.startswith('"""'):
                text = (await _rest(reader, line[3:])).strip("\n")
            elif line.startswith("/") and not _names_a_file(session, line):
                if await _command(ctx, client, reader, session, line):
                    break
                continue
            else:
                text = line
            if not text.strip():
                continue
            session.messages.append(user_message(ctx, session, text))
            turn = asyncio.create_task(answer(ctx, client, session))
            try:
                reply = await turn
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
                session.messages.pop()  # Ctrl-C ended the answer; forget the question
                continue
            except ResponseError as exc:  # e.g. a model that cannot think
                session.messages.pop()
                ctx.write(f"error: {exc}")
                continue
            finally:
                turn = None
            session.messages.append({"role": "assistant", "content": reply})
            if tty:
                ctx.write()
    finally:
        if own_sigint:
            loop.remove_signal_handler(signal.SIGINT)
    return EXIT_OK


def _names_a_file(session: Session, line: str) -> bool:
    """A line that starts with a vision model's image path is a message."""
    word = line.split()[0]
    return session.vision and any(f.startswith(word) for f in _file_names(line))


# -- /commands, with `ollama run`'s words ---------------------------------------------

_USAGE = """\
Available Commands:
  /set            Set session variables
  /show           Show model information
  /load <model>   Load a session or model
  /save <model>   Save your current session
  /clear          Clear session context
  /bye            Exit
  /?, /help       Help for a command
  /? shortcuts    Help for keyboard shortcuts

Use \"\"\" to begin a multi-line message.
"""
_USAGE_FILES = (
    "Use /path/to/file to include .jpg, .png, .webp images, or .wav audio files.\n"
)
_USAGE_SET = """\
Available Commands:
  /set parameter ...     Set a parameter
  /set system <string>   Set system message
  /set history           Enable history
  /set nohistory         Disable history
  /set wordwrap          Enable wordwrap
  /set nowordwrap        Disable wordwrap
  /set format json       Enable JSON mode
  /set noformat          Disable formatting
  /set verbose           Show LLM stats
  /set quiet             Disable LLM stats
  /set think             Enable thinking
  /set nothink           Disable thinking

"""
_USAGE_SHORTCUTS = """\
Available keyboard shortcuts:
  Ctrl + a            Move to the beginning of the line (Home)
  Ctrl + e            Move to the end of the line (End)
   Alt + b            Move back (left) one word
   Alt + f            Move forward (right) one word
  Ctrl + k            Delete the sentence after the cursor
  Ctrl + u            Delete the sentence before the cursor
  Ctrl + w            Delete the word before the cursor

  Ctrl + l            Clear the screen
  Ctrl + c            Stop the model from responding
  Ctrl + d            Exit ollama (/bye)

"""
_USAGE_SHOW = """\
Available Commands:
  /show info         Show details for this model
  /show license      Show model license
  /show modelfile    Show Modelfile for this model
  /show parameters   Show parameters for this model
  /show system       Show system message
  /show template     Show prompt template

"""
_USAGE_PARAMETERS = """\
Available Parameters:
  /set parameter seed <int>             Random number seed
  /set parameter num_predict <int>      Max number of tokens to predict
  /set parameter top_k <int>            Pick from top k num of tokens
  /set parameter top_p <float>          Pick token based on sum of probabilities
  /set parameter min_p <float>          Pick token based on top token \
probability * min_p
  /set parameter num_ctx <int>          Set the context size
  /set parameter temperature <float>    Set creativity level
  /set parameter repeat_penalty <float> How strongly to penalize repetitions
  /set parameter repeat_last_n <int>    Set how far back to look for repetitions
  /set parameter num_gpu <int>          The number of layers to send to the GPU
  /set parameter stop <string> <string> ...   Set the stop parameters

"""


def _usage(ctx: Context, text: str) -> None:
    """Help goes to stderr, as ``ollama run`` prints it."""
    ctx.out.flush()
    ctx.err.write(text)
    ctx.err.flush()


async def _command(
    ctx: Context,
    client: AsyncClient,
    reader: _LineReader,
    session: Session,
    line: str,
) -> bool:
    """Run a /command; True means exit."""
    args = line.split()
    word = args[0]
    if word in ("/bye", "/exit"):
        return True
    if word in ("/?", "/help"):
        topic = args[1].lstrip("/") if len(args) > 1 else None
        if topic is None:
            files = _USAGE_FILES if session.vision else ""
            _usage(ctx, _USAGE + files + "\n")
        elif topic == "set":
            _usage(ctx, _USAGE_SET)
        elif topic == "show":
            _usage(ctx, _USAGE_SHOW)
        elif topic in ("shortcut", "shortcuts"):
            _usage(ctx, _USAGE_SHORTCUTS)
    elif word == "/set":
        await _set(ctx, reader, session, args)
    elif word == "/show":
        await _show(ctx, client, session, args)
    elif word == "/load":
        await _load(ctx, client, session, args)
    elif word == "/save":
        await _save(ctx, client, session, args)
    elif word == "/clear":
        session.messages = []
        if session.system:
            session.messages.append({"role": "system", "content": session.system})
        ctx.write("Cleared session context")
    else:
        ctx.write(f"Unknown command '{word}'. Type /? for help")
    return False


async def _set(
    ctx: Context, reader: _LineReader, session: Session, args: list[str]
) -> None:
    if len(args) < 2:
        _usage(ctx, _USAGE_SET)
        return
    what = args[1]
    if what in ("history", "nohistory"):
        reader.history(on=what == "history")
    elif what in ("wordwrap", "nowordwrap"):
        session.wordwrap = what == "wordwrap"
        ctx.write(f"Set '{what}' mode.")
    elif what in ("verbose", "quiet"):
        session.verbose = what == "verbose"
        ctx.write(f"Set '{what}' mode.")
    elif what == "think":
        level = args[2] if len(args) > 2 else None
        session.think = level or True
        ctx.write(f"Set 'think' mode to '{level}'." if level else "Set 'think' mode.")
    elif what == "nothink":
        session.think = False
        ctx.write("Set 'nothink' mode.")
    elif what == "format":
        if len(args) < 3 or args[2] != "json":
            ctx.write(
                "Invalid or missing format. For 'json' mode use '/set format json'"
            )
        else:
            session.format = "json"
            ctx.write("Set format to 'json' mode.")
    elif what == "noformat":
        session.format = None
        ctx.write("Disabled format.")
    elif what == "parameter":
        _set_parameter(ctx, session, args)
    elif what == "system":
        if len(args) < 3:
            _usage(ctx, _USAGE_SET)
            return
        text = " ".join(args[2:])
        if text.startswith('"""'):
            text = await _rest(reader, text[3:])
        _set_system(session, text)
        ctx.write("Set system message.")
    else:
        ctx.write(f"Unknown command '/set {what}'. Type /? for help")


def _set_parameter(ctx: Context, session: Session, args: list[str]) -> None:
    if len(args) < 4:
        _usage(ctx, _USAGE_PARAMETERS)
        return
    name, values = args[2], args[3:]
    if name not in Options.__struct_fields__:
        ctx.write(f"Couldn't set parameter: \"unknown parameter '{name}'\"")
        return
    raw: Any = values if name == "stop" else parse_value(values[0])
    try:  # the type Ollama expects: "0.2" -> 0.2, "true" -> True
        value = getattr(msgspec.convert({name: raw}, Options, strict=False), name)
    except msgspec.ValidationError as exc:
        ctx.write(f'Couldn\'t set parameter: "{exc}"')
        return
    session.options[name] = value
    ctx.write(f"Set parameter '{name}' to '{', '.join(values)}'")


def _set_system(session: Session, text: str) -> None:
    """As ``ollama run``: the last message, when it is a system message, is
    replaced; otherwise one is added."""
    session.system = text
    message = {"role": "system", "content": text}
    if session.messages and session.messages[-1]["role"] == "system":
        session.messages[-1] = message
    else:
        session.messages.append(message)


async def _show(
    ctx: Context, client: AsyncClient, session: Session, args: list[str]
) -> None:
    if len(args) < 2:
        _usage(ctx, _USAGE_SHOW)
        return
    reply = await client.show(session.model)
    what = args[1]
    if what == "info":
        show_info(ctx, reply)
    elif what == "license":
        ctx.write(reply.license or "No license was specified for this model.")
    elif what == "modelfile":
        ctx.write(reply.modelfile or "")
    elif what == "parameters":
        ctx.write("Model defined parameters:")
        if not reply.parameters:
            ctx.write("  No additional parameters were specified for this model.")
        for parameter in (reply.parameters or "").splitlines():
            ctx.write(f"  {parameter}")
        ctx.write()
        if session.options:
            ctx.write("User defined parameters:")
            for key, value in session.options.items():
                ctx.write(f"  {key:<30} {value}")
            ctx.write()
    elif what == "system":
        system = session.system or reply.system
        if system:
            ctx.write(system + "\n")
        else:
            ctx.write("No system message was specified for this model.")
    elif what == "template":
        ctx.write(reply.template or "No prompt template was specified for this model.")
    else:
        ctx.write(f"Unknown command '/show {what}'. Type /? for help")


async def _load(
    ctx: Context, client: AsyncClient, session: Session, args: list[str]
) -> None:
    if len(args) != 2:
        ctx.write("Usage:\n  /load <modelname>")
        return
    model = args[1]
    ctx.write(f"Loading model '{model}'")
    try:
        info = await client.show(model)
        await client.generate(model, **session.load_kwargs())
    except NotFoundError:
        ctx.write(f"Couldn't find model '{model}'")
        return
    session.model = model
    session.messages = []
    session.vision = "vision" in (info.capabilities or ())


async def _save(
    ctx: Context, client: AsyncClient, session: Session, args: list[str]
) -> None:
    if len(args) != 2:
        ctx.write("Usage:\n  /save <modelname>")
        return
    name = args[1]
    try:
        await client.create(
            name,
            from_=session.model,
            system=session.system,
            parameters=session.options or None,
            messages=session.messages or None,
        )
    except ResponseError as exc:
        if "invalid model name" in str(exc):
            ctx.write(f"error: The model name '{name}' is invalid")
        else:
            ctx.write(f"error: {exc}")
        return
    ctx.write(f"Created new model '{name}'")


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
