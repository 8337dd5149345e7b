"""What every CLI command shares: the :class:`Context` it receives, the
:class:`CliError` it raises, the exit codes, and :func:`describe`, the one map
from an exception to an exit code and a one-line message.

Imports only the public API of ``ollama_async`` (and msgspec).
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import msgspec

from ollama_async import (
    AsyncClient,
    ConnectError,
    DecodeError,
    MultiHostClient,
    OllamaError,
    RequestError,
    ResponseError,
    TransportError,
)

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

    def client(self, hosts: Sequence[str] = (), **kwargs: Any) -> AsyncClient:
        """A client for ``--host`` (else ``$OLLAMA_HOST``, else the default),
        or for ``hosts`` when given: over several, a :class:`MultiHostClient`,
        which spreads the calls and fails over (``batch``)."""
        if len(hosts) > 1:
            return MultiHostClient(hosts, **kwargs)
        return AsyncClient(hosts[0] if hosts else self.args.host, **kwargs)

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
