"""FakeOllama as a process: its command-line options and the run until a signal.

The one implementation behind ``python -m ollama_async.testing`` and
``ollama-async serve-fake``: :func:`add_options` gives a parser the options
(named after :class:`FakeOllama`'s arguments), :func:`serve` starts the
emulator from the parsed arguments, prints ``FakeOllama listening on URL``
once bound (so a parent reading stdout learns the port ``--port 0`` picked),
serves until SIGINT or SIGTERM, and prints ``FakeOllama stopped after N
requests`` (with ``--stats``, then ``FakeOllama stats {...}``: the counters of
``GET /_fake/stats`` as one JSON object).

Imports only the standard library and this package's own modules; the server
(and so aiohttp) only when :func:`serve` runs, so that a parser is cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import math
import signal
from typing import TextIO

from ._faults import Fault, parse_fault_header


class ServeError(Exception):
    """The emulator could not start (the port is taken); a one-line message.
    Both command lines print it as ``error: ...`` and exit with status 1."""


def _count(text: str) -> int:
    """A whole number >= 0 (0 tokens is an empty answer, 0 slots is always busy)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive(text: str) -> int:
    """A whole number >= 1 (a server runs at least one request at a time)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _non_negative(text: str) -> float:
    """A finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _port(text: str) -> int:
    port = _count(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"expected a port up to 65535, got {text!r}")
    return port


def _fault(spec: str) -> Fault:
    try:
        return parse_fault_header(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid fault {spec!r}: {exc}") from None


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options, in a group of their own."""
    group = parser.add_argument_group("emulator options")
    group.add_argument(
        "--host",
        "--bind",
        dest="bind",
        metavar="ADDRESS",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1)",
    )
    group.add_argument(
        "--port",
        type=_port,
        default=11434,
        help="port; 0 picks a free one (default: 11434)",
    )
    group.add_argument(
        "--response-tokens",
        type=_count,
        default=24,
        metavar="N",
        help="tokens per generate/chat answer (default: 24)",
    )
    group.add_argument(
        "--tokens-per-second",
        type=_non_negative,
        metavar="RATE",
        help="generation speed (default: as fast as possible)",
    )
    group.add_argument(
        "--first-token-delay",
        type=_non_negative,
        default=0.0,
        metavar="SECONDS",
        help="seconds before an answer's first line (default: 0)",
    )
    group.add_argument(
        "--load-delay",
        type=_non_negative,
        default=0.0,
        metavar="SECONDS",
        help="seconds to load a model not loaded yet (default: 0)",
    )
    group.add_argument(
        "--num-parallel",
        type=_positive,
        metavar="N",
        help="generate/chat/embed requests run at once, the others waiting in "
        "a first-come, first-served queue, like OLLAMA_NUM_PARALLEL "
        "(default: no limit)",
    )
    group.add_argument(
        "--max-queue",
        type=_count,
        metavar="N",
        help="requests waiting for --num-parallel beyond which the answer is "
        "Ollama's 503 'server busy', like OLLAMA_MAX_QUEUE (default: no limit)",
    )
    group.add_argument(
        "--max-concurrency",
        type=_count,
        metavar="N",
        help="generate/chat/embed requests in flight beyond which the answer is "
        "Ollama's 503 'server busy' at once, with no queue (default: no limit)",
    )
    group.add_argument(
        "--burst", action="store_true", help="many NDJSON lines per socket write"
    )
    group.add_argument(
        "--server-version",
        default="0.33.0",
        metavar="VERSION",
        help="what /api/version reports (default: 0.33.0)",
    )
    group.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="SPEC",
        help="a global fault in X-Fake-Fault syntax, e.g. "
        "'status=503; probability=0.2; path=/api/chat' (repeatable)",
    )
    group.add_argument(
        "--fault-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed for probability faults (default: 0)",
    )
    group.add_argument(
        "--stats",
        action="store_true",
        help="print the counters on exit, as one JSON object (they are also "
        "served at GET /_fake/stats)",
    )


async def serve(args: argparse.Namespace, out: TextIO, *, signals: bool) -> None:
    """Serve until SIGINT or SIGTERM (``signals``: whether to take over their
    handlers) or until cancelled.

    Raises:
        ServeError: the emulator cannot listen where asked.
    """
    from ._server import FakeOllama

    server = FakeOllama(
        host=args.bind,
        port=args.port,
        response_tokens=args.response_tokens,
        tokens_per_second=args.tokens_per_second,
        first_token_delay=args.first_token_delay,
        load_delay=args.load_delay,
        num_parallel=args.num_parallel,
        max_queue=args.max_queue,
        max_concurrency=args.max_concurrency,
        burst=args.burst,
        version=args.server_version,
        fault_seed=args.fault_seed,
    )
    for fault in args.fault:
        server.add_fault(fault)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    if signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
    try:
        try:
            await server.start()
        except OSError as exc:
            raise ServeError(_listen_error(args.bind, args.port, exc)) from None
        try:
            out.write(f"FakeOllama listening on {server.url}\n")
            out.flush()
            await stop.wait()
        finally:
            await server.stop()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    out.write(f"FakeOllama stopped after {len(server.requests)} requests\n")
    if getattr(args, "stats", False):
        out.write(f"FakeOllama stats {json.dumps(server.stats())}\n")
    out.flush()


def _listen_error(bind: str, port: int, exc: OSError) -> str:
    """One line saying why the emulator cannot listen at ``bind:port``."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} is in use on {bind} (is Ollama or another emulator "
            "running? pick another with --port, or --port 0 for a free one)"
        )
    return f"cannot listen on {bind}:{port}: {exc.strerror or exc}"
