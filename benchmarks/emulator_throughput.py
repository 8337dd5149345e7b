"""How many NDJSON chunks per second FakeOllama streams in burst mode.

Runs the emulator as a separate process (``python -m ollama_async.testing
--burst``) so server and reader do not share a CPU, and reads one generate
stream with a raw aiohttp reader that only counts newlines. This measures the
regular FakeOllama (no leaner dedicated server). Usage::

    python benchmarks/emulator_throughput.py [--tokens N] [--in-process] [--no-burst]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import aiohttp

from ollama_async.testing import FakeOllama

BODY = {"model": "llama3.2", "prompt": "benchmark"}


async def read_stream(url: str) -> tuple[int, int, float]:
    """(lines, bytes, seconds) for one streamed generate answer."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        start = time.perf_counter()
        async with session.post(url + "/api/generate", json=BODY) as resp:
            lines = size = 0
            async for data in resp.content.iter_any():
                lines += data.count(b"\n")
                size += len(data)
        return lines, size, time.perf_counter() - start


async def subprocess_run(tokens: int, *, burst: bool) -> tuple[int, int, float]:
    flags = ["--burst"] if burst else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollama_async.testing",
        "--port",
        "0",
        *flags,
        "--response-tokens",
        str(tokens),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        banner = (await proc.stdout.readline()).decode()
        url = banner.rsplit(" ", 1)[-1].strip()
        await read_stream(url)  # warm-up: imports, first connection
        return await read_stream(url)
    finally:
        proc.terminate()
        await proc.wait()


async def in_process_run(tokens: int, *, burst: bool) -> tuple[int, int, float]:
    async with FakeOllama(burst=burst, response_tokens=tokens) as server:
        await read_stream(server.url)
        return await read_stream(server.url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--no-burst", action="store_true", help="one line per write")
    args = parser.parse_args()
    run = in_process_run if args.in_process else subprocess_run
    lines, size, seconds = asyncio.run(run(args.tokens, burst=not args.no_burst))
    where = "in-process" if args.in_process else "subprocess server"
    where += ", one line per write" if args.no_burst else ", burst"
    print(
        f"{where}: {lines:,} lines, {size / 1e6:.1f} MB in {seconds:.2f} s -> "
        f"{lines / seconds:,.0f} chunks/s ({size / seconds / 1e6:.0f} MB/s)"
    )


if __name__ == "__main__":
    main()
