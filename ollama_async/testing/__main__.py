"""``python -m ollama_async.testing``: run FakeOllama as a process.

Prints ``FakeOllama listening on http://HOST:PORT`` once bound (so a parent
process can read the port when ``--port 0`` is used), serves until SIGINT or
SIGTERM, then prints ``FakeOllama stopped after N requests``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ._faults import Fault, parse_fault_header
from ._server import FakeOllama


def _fault(spec: str) -> Fault:
    try:
        return parse_fault_header(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid fault {spec!r}: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ollama_async.testing",
        description="Serve a fake Ollama API (ollama_async.testing.FakeOllama).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434, help="0 picks a free port")
    parser.add_argument("--response-tokens", type=int, default=24)
    parser.add_argument("--tokens-per-second", type=float, default=None)
    parser.add_argument("--first-token-delay", type=float, default=0.0)
    parser.add_argument("--load-delay", type=float, default=0.0)
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument(
        "--burst", action="store_true", help="many NDJSON lines per write"
    )
    parser.add_argument("--server-version", default="0.33.0")
    parser.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="SPEC",
        help="a global fault in X-Fake-Fault syntax, e.g. "
        "'status=503; probability=0.2; path=/api/chat' (repeatable)",
    )
    parser.add_argument(
        "--fault-seed", type=int, default=0, help="seed for probability faults"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    async with FakeOllama(
        host=args.host,
        port=args.port,
        response_tokens=args.response_tokens,
        tokens_per_second=args.tokens_per_second,
        first_token_delay=args.first_token_delay,
        load_delay=args.load_delay,
        max_concurrency=args.max_concurrency,
        burst=args.burst,
        version=args.server_version,
        fault_seed=args.fault_seed,
    ) as server:
        for fault in args.fault:
            server.add_fault(fault)
        print(f"FakeOllama listening on {server.url}", flush=True)
        await stop.wait()
    print(f"FakeOllama stopped after {len(server.requests)} requests", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main(sys.argv[1:])
