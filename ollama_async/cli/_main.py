"""The argument parser, the command table, and the entry points.

Every command is one row of :data:`COMMANDS`: its name and help, a function
adding its arguments, and its handler, imported directly and typed
``(Context) -> Awaitable[int]``, so mypy checks each one. The handlers live in
``_models`` (list, ps, show, pull, push, create, cp, rm, stop, version),
``_run`` (run, embed), ``_batch`` (batch) and ``_demo`` (demo, serve-fake,
whose options and run are the emulator's own, from ``ollama_async.testing``).

Imports nothing heavy at module level: tqdm is imported by the commands that
draw progress bars, and the emulator server (aiohttp.web) by ``demo`` and
``serve-fake`` when they run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TextIO

from ollama_async import __version__
from ollama_async.testing import add_options as add_emulator_options

from . import _batch, _demo, _models, _run
from ._context import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Context,
    describe,
)
from ._format import positive

Handler = Callable[[Context], Awaitable[int]]
"""What runs a command: the exit code, or an exception :func:`describe` maps."""


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """For a command that takes only the common options."""


@dataclass(frozen=True)
class Command:
    """One ``ollama-async`` subcommand: a row of :data:`COMMANDS`."""

    name: str
    help: str
    handler: Handler
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    own_host: bool = False
    """``--host`` after the name is the command's own, not the common option:
    ``serve-fake``'s is where to listen, ``batch``'s may be repeated."""


# -- arguments of each command ------------------------------------------------------


def _run_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--nowordwrap",
        action="store_true",
        help="do not wrap words at the terminal's width",
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


def _show_arguments(p: argparse.ArgumentParser) -> None:
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


def _transfer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow an insecure (http, self-signed) registry",
    )


def _create_arguments(p: argparse.ArgumentParser) -> None:
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


def _cp_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source")
    p.add_argument("destination")


def _rm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="+", metavar="model")


def _model_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("model")


def _embed_arguments(p: argparse.ArgumentParser) -> None:
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
        type=positive,
        default=32,
        help="texts per request (default: 32)",
    )


def _batch_arguments(p: argparse.ArgumentParser) -> None:
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
        type=positive,
        default=8,
        help="requests at once (default: 8)",
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="truncate --output instead of resuming it",
    )
    p.add_argument(
        "--host",
        dest="hosts",
        action="append",
        metavar="URL",
        help="Ollama server; repeat it to spread the prompts over several, "
        "with failover (default: --host before the command, $OLLAMA_HOST, "
        "then http://127.0.0.1:11434)",
    )
    p.add_argument(
        "--hosts-file",
        metavar="FILE",
        help="more servers, one a line ('#' starts a comment)",
    )
    p.add_argument(
        "--shard",
        type=_batch.shard,
        default=(0, 1),
        metavar="I/N",
        help="run only the non-empty lines I, I+N, I+2N, ... (from 0), so that "
        "N machines split one input; give each its own --output",
    )
    # argparse would rewrap the example's lines.
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = """\
N machines splitting one file, each resumable on its own:
  machine I of N:  ollama-async batch prompts.jsonl --shard I/N -o results.I.jsonl
  afterwards:      cat results.*.jsonl > results.jsonl
"""


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--emulator",
        action="store_true",
        help="use the built-in emulator even if a server answers",
    )
    p.add_argument("-m", "--model", help="model to use on a real server")


# -- the table ------------------------------------------------------------------------

COMMANDS: Final[tuple[Command, ...]] = (
    Command("run", "chat with a model (streams the answer)", _run.run, _run_arguments),
    Command("list", "list installed models", _models.list_models),
    Command("ps", "list models loaded in memory", _models.ps),
    Command("show", "show a model's details", _models.show, _show_arguments),
    Command("pull", "download a model", _models.pull, _transfer_arguments),
    Command("push", "upload a model", _models.push, _transfer_arguments),
    Command(
        "create", "create a model from a Modelfile", _models.create, _create_arguments
    ),
    Command("cp", "copy a model", _models.cp, _cp_arguments),
    Command("rm", "remove models", _models.rm, _rm_arguments),
    Command("stop", "unload a running model", _models.stop, _model_argument),
    Command("version", "client and server versions", _models.version),
    Command("embed", "embed texts; JSON lines out", _run.embed, _embed_arguments),
    Command(
        "batch",
        "many prompts at once: JSON lines in, JSON lines out, resumable",
        _batch.batch,
        _batch_arguments,
        own_host=True,
    ),
    Command(
        "serve-fake",
        "serve the built-in Ollama emulator (FakeOllama)",
        _demo.serve_fake,
        add_emulator_options,
        own_host=True,
    ),
    Command(
        "demo",
        "a tour: streaming, structured output, fan-out, model management",
        _demo.demo,
        _demo_arguments,
    ),
)

_BY_NAME: Final = {command.name: command for command in COMMANDS}


# -- the parser -------------------------------------------------------------------


def _common_options(*, top: bool, host: bool = True) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name. After it,
    they default to SUPPRESS: one not given there keeps the value from before
    the command. (Separate parsers: ``parents`` shares Action objects, so
    defaults set on one would leak into the other.)"""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    off: object = False if top else argparse.SUPPRESS

    if host:
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
    common = _common_options(top=False)
    without_host = _common_options(top=False, host=False)
    for command in COMMANDS:
        p = sub.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            parents=[without_host if command.own_host else common],
        )
        command.add_arguments(p)
    return parser


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
    handler = _BY_NAME[args.command].handler
    ctx = Context(args, out, err, stdin or sys.stdin, signals=signals)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if signals and task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        with _library_log(err, debug=args.debug):
            return await handler(ctx)
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
