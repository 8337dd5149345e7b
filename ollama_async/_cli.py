"""The ``ollama-async`` command line, also run as ``python -m ollama_async``.

Owns the argument parser, the exit codes, one-line error reporting, signal
handling and the :class:`Context` every command receives. The commands live in
``_cli_models`` (list, ps, show, pull, push, create, cp, rm, stop, version),
``_cli_run`` (run, embed, batch) and ``_cli_demo`` (demo, serve-fake), each
imported only when its command runs.

Built on the public API of ``ollama_async`` only. Imports nothing heavy at
module level: tqdm is imported by the commands that draw progress bars, and the
emulator (which imports aiohttp) by ``demo`` and ``serve-fake``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import msgspec

from ollama_async import (
    AsyncClient,
    ConnectError,
    DecodeError,
    OllamaError,
    RequestError,
    ResponseError,
    TransportError,
    __version__,
)

__all__ = ["CliError", "Context", "amain", "build_parser", "main"]

# -- exit codes ------------------------------------------------------------------

EXIT_OK = 0
"""Success."""
EXIT_SERVER = 1
"""The server answered with an error (unknown model, bad request, 5xx, an
error line in a stream) or with something that is not Ollama's API."""
EXIT_USAGE = 2
"""Bad command line, bad argument value, unreadable or malformed input file."""
EXIT_CONNECTION = 3
"""No server answered, or the connection broke or timed out."""
EXIT_PARTIAL = 4
"""``batch``: everything ran, but some items failed (see their ``error``)."""
EXIT_INTERNAL = 70
"""A bug in ollama-async (``--debug`` shows the traceback)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT); what a shell reports for a process killed by SIGINT."""
EXIT_BROKEN_PIPE = 141
"""stdout was closed early (``... | head``); 128 + SIGPIPE."""
EXIT_TERMINATED = 143
"""SIGTERM; 128 + 15."""

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the server answered with an error (e.g. unknown model)
  2    usage error: bad arguments or input
  3    connection error: no server answered, or the connection broke
  4    batch: finished, but some items failed
  70   internal error (a bug; --debug shows the traceback)
  130  interrupted (Ctrl-C)
  141  stdout closed early (broken pipe)
  143  terminated (SIGTERM)
"""


class CliError(Exception):
    """A failure a command reports as one line on stderr, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# -- the context every command gets -----------------------------------------------


@dataclass(eq=False)
class Context:
    """Parsed arguments, the streams to use, and shared helpers."""

    args: argparse.Namespace
    out: TextIO
    err: TextIO
    stdin: TextIO
    signals: bool = False
    """Whether the command owns the process's signal handlers (from main())."""

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    def client(self, **kwargs: Any) -> AsyncClient:
        """A client for ``--host`` (else ``$OLLAMA_HOST``, else the default)."""
        return AsyncClient(self.args.host, **kwargs)

    def write(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)

    def note(self, text: str) -> None:
        """A line of diagnostics or progress on stderr."""
        self.out.flush()  # keep the order when both go to one place
        self.err.write(text + "\n")
        self.err.flush()

    def emit(self, value: Any) -> None:
        """One JSON document on its own line on stdout."""
        self.out.write(msgspec.json.encode(value).decode() + "\n")
        self.out.flush()

    def bars(self) -> bool:
        """Whether to draw tqdm progress bars (on stderr): a terminal, tqdm
        installed, and no ``--no-progress``."""
        return (
            not self.args.no_progress
            and isatty(self.err)
            and importlib.util.find_spec("tqdm") is not None
        )


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


# -- the parser -------------------------------------------------------------------

Handler = Callable[[Context], Awaitable[int]]


def _common_options(*, top: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name. After it,
    they default to SUPPRESS: one not given there keeps the value from before
    the command. (Separate parsers: ``parents`` shares Action objects, so
    defaults set on one would leak into the other.)"""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    off: object = False if top else argparse.SUPPRESS

    group.add_argument(
        "--host",
        default=default(None),
        help="Ollama server: URL, host:port or :port "
        "(default: $OLLAMA_HOST, then http://127.0.0.1:11434)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=off,
        help="machine-readable output: the API's JSON, one document per line",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=off,
        help="show tracebacks and the client's log (retries)",
    )
    group.add_argument(
        "--no-progress",
        action="store_true",
        default=off,
        help="no progress bars, even on a terminal",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``ollama-async`` argument parser."""
    common = _common_options(top=False)
    parser = argparse.ArgumentParser(
        prog="ollama-async",
        description="A command line for Ollama, built on the ollama_async SDK.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(top=True)],
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(handler=handler)
        return p

    p = command("run", "_cli_run:run", "chat with a model (streams the answer)")
    p.add_argument("model")
    p.add_argument("prompt", nargs="*", help="the prompt; none: interactive chat")
    p.add_argument(
        "-i",
        "--interactive",
        action="store_true",
        help="chat even when stdin is not a terminal (one message a line)",
    )
    p.add_argument("--system", help="system message")
    p.add_argument("--format", help="'json', or a JSON schema (inline JSON or @FILE)")
    think = p.add_mutually_exclusive_group()
    think.add_argument(
        "--think",
        action="store_const",
        const=True,
        help="let a thinking model think first",
    )
    think.add_argument(
        "--think-level", dest="think", choices=["low", "medium", "high", "max"]
    )
    think.add_argument(
        "--no-think",
        dest="think",
        action="store_const",
        const=False,
        help="disable thinking",
    )
    p.add_argument(
        "--hidethinking", action="store_true", help="do not print the model's thinking"
    )
    p.add_argument("--keepalive", help="how long the model stays loaded, e.g. 5m")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="model option, e.g. temperature=0.2 (repeatable)",
    )
    p.add_argument(
        "--verbose", action="store_true", help="timings and token rates on stderr"
    )

    command("list", "_cli_models:list_models", "list installed models")
    command("ps", "_cli_models:ps", "list models loaded in memory")

    p = command("show", "_cli_models:show", "show a model's details")
    p.add_argument("model")
    for flag in ("modelfile", "parameters", "template", "system", "license"):
        p.add_argument(
            f"--{flag}",
            dest="part",
            action="store_const",
            const=flag,
            help=f"print only the {flag}",
        )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="all metadata (with --json: tensors too)",
    )

    for name, verb in (("pull", "download"), ("push", "upload")):
        p = command(name, f"_cli_models:{name}", f"{verb} a model")
        p.add_argument("model")
        p.add_argument(
            "--insecure",
            action="store_true",
            help="allow an insecure (http, self-signed) registry",
        )

    p = command("create", "_cli_models:create", "create a model from a Modelfile")
    p.add_argument("model")
    p.add_argument("-f", "--file", help="Modelfile (default: ./Modelfile)")
    p.add_argument(
        "--from",
        dest="from_",
        metavar="MODEL",
        help="base model, instead of a Modelfile's FROM",
    )
    p.add_argument("--system", help="system message (overrides the Modelfile's)")
    p.add_argument("-q", "--quantize", help="quantize to this level, e.g. q4_K_M")

    p = command("cp", "_cli_models:cp", "copy a model")
    p.add_argument("source")
    p.add_argument("destination")

    p = command("rm", "_cli_models:rm", "remove models")
    p.add_argument("models", nargs="+", metavar="model")

    p = command("stop", "_cli_models:stop", "unload a running model")
    p.add_argument("model")

    command("version", "_cli_models:version", "client and server versions")

    p = command("embed", "_cli_run:embed", "embed texts; JSON lines out")
    p.add_argument("model")
    p.add_argument("text", nargs="*", help="texts; none: one per line of stdin")
    p.add_argument("--dimensions", type=int, help="truncate vectors to this size")
    p.add_argument(
        "--truncate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cut inputs longer than the context (server default: yes)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=32,
        help="texts per request (default: 32)",
    )

    p = command(
        "batch",
        "_cli_run:batch",
        "many prompts at once: JSON lines in, JSON lines out, resumable",
    )
    p.add_argument(
        "input", nargs="?", default="-", help="JSON lines of prompts (default: stdin)"
    )
    p.add_argument("-m", "--model", help="model for lines that name none")
    p.add_argument(
        "-o",
        "--output",
        help="append results here and skip ids already in it (default: stdout)",
    )
    p.add_argument(
        "-c",
        "--concurrency",
        type=_positive,
        default=8,
        help="requests at once (default: 8)",
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="truncate --output instead of resuming it",
    )

    p = command(
        "serve-fake",
        "_cli_demo:serve_fake",
        "serve the built-in Ollama emulator (FakeOllama)",
    )
    p.add_argument("--bind", default="127.0.0.1", help="address (default: 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=11434,
        help="port; 0 picks a free one (default: 11434)",
    )
    p.add_argument("--response-tokens", type=_positive, default=24)
    p.add_argument("--tokens-per-second", type=float, default=None)
    p.add_argument("--first-token-delay", type=float, default=0.0)
    p.add_argument("--load-delay", type=float, default=0.0)

    p = command(
        "demo",
        "_cli_demo:demo",
        "a tour: streaming, structured output, fan-out, model management",
    )
    p.add_argument(
        "--emulator",
        action="store_true",
        help="use the built-in emulator even if a server answers",
    )
    p.add_argument("-m", "--model", help="model to use on a real server")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# -- errors -----------------------------------------------------------------------


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and one-line message for an exception."""
    match exc:
        case CliError():
            return exc.code, str(exc)
        case RequestError():
            return EXIT_USAGE, str(exc)
        case ResponseError():
            return EXIT_SERVER, str(exc)
        case TransportError():
            return EXIT_CONNECTION, str(exc)
        case DecodeError():
            return EXIT_SERVER, f"unexpected reply from the server: {exc}"
        case OllamaError():
            return EXIT_SERVER, str(exc)
        case BrokenPipeError():
            return EXIT_BROKEN_PIPE, ""
        case OSError() if exc.filename is not None:
            return EXIT_USAGE, f"{exc.strerror or exc}: {exc.filename}"
        case _:
            name = type(exc).__name__
            return (
                EXIT_INTERNAL,
                f"internal error: {name}: {exc} (--debug shows the traceback)",
            )


def is_connection_error(exc: BaseException | None) -> bool:
    return isinstance(exc, ConnectError)


@contextlib.contextmanager
def _library_log(err: TextIO, *, debug: bool) -> Iterator[None]:
    """Keep the client's log (retry notices) off the terminal unless --debug."""
    logger = logging.getLogger("ollama_async")
    handler: logging.Handler
    if debug:
        handler = logging.StreamHandler(err)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.NullHandler()
    old_level = logger.level
    logger.addHandler(handler)
    if debug:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


# -- entry points -----------------------------------------------------------------


def _handler(spec: str) -> Handler:
    module, _, name = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(f"ollama_async.{module}"), name)
    return handler


async def amain(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    signals: bool = False,
) -> int:
    """Run one command in the running loop; return its exit code.

    Errors become one line on stderr and an exit code. Cancellation (Ctrl-C
    under :func:`main`) propagates, after streams and connections are closed.
    ``signals=True`` lets commands install signal handlers (only from main()).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            parser = build_parser()
            args, extra = parser.parse_known_args(argv)
            # argparse stops filling `run`'s prompt at the first option
            # (`run llama3.2 --verbose Why is ...`): the words after it come
            # back here, and belong to the prompt.
            if args.command == "run" and not any(w.startswith("-") for w in extra):
                args.prompt += extra
                extra = []
            if extra:
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    ctx = Context(args, out, err, stdin or sys.stdin, signals=signals)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if signals and task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        with _library_log(err, debug=args.debug):
            return await _handler(args.handler)(ctx)
    except Exception as exc:
        code, message = describe(exc)
        if args.debug:
            traceback.print_exception(exc, file=err)
        if message:
            err.write(f"ollama-async: error: {message}\n")
        return code
    finally:
        if signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)
        with contextlib.suppress(OSError, ValueError):
            out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: run a command in a new event loop."""
    code = EXIT_OK
    try:
        with asyncio.Runner() as runner:
            code = runner.run(amain(argv, signals=True))
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except asyncio.CancelledError:
        code = EXIT_TERMINATED
    if code == EXIT_BROKEN_PIPE:
        # Python flushes stdout again at exit; point it at /dev/null so that
        # flush cannot fail a second time (as the docs of signal advise).
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    return code
