"""``python -m ollama_async.testing``: run FakeOllama as a process.

Prints ``FakeOllama listening on http://HOST:PORT`` once bound (so a parent
process can read the port when ``--port 0`` is used), serves until SIGINT or
SIGTERM, then prints ``FakeOllama stopped after N requests``. The options and
the run are ``_serve``'s, shared with ``ollama-async serve-fake``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from ._serve import ServeError, add_options, serve


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m ollama_async.testing``."""
    parser = argparse.ArgumentParser(
        prog="python -m ollama_async.testing",
        description="Serve a fake Ollama API (ollama_async.testing.FakeOllama).",
    )
    add_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 once stopped by a signal, 1 when it cannot listen (the
    port is taken), 2 for bad options."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C where signals are not ours
        try:
            asyncio.run(serve(args, sys.stdout, signals=True))
        except ServeError as exc:
            parser.exit(1, f"{parser.prog}: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
