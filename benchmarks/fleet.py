"""Adaptive concurrency (issue 17): several client processes share a small
fleet of emulator hosts with limited slots. How many 503s per minute do the
hosts answer, and how many calls fail, with ``MultiHostClient``'s adaptive
concurrency per host, and without it (``concurrency=None``)?

Each mode gets fresh hosts: ``python -m ollama_async.testing`` processes with
``--num-parallel`` slots, a ``--max-queue`` behind them and a paced model
(``--tokens-per-second``). Then ``--clients`` worker processes each keep
``--concurrency`` chats in flight for ``--seconds``, with the client's default
retry policy (3 tries), as a batch job would. A worker counts its answers, its
failed calls, the 503s its hosts answered it (``HostState.overloads``) and
its latencies, and prints them as one JSON line.

Usage::

    python -m benchmarks.fleet                 # 4 clients, 2 hosts, 60 s a mode
    python -m benchmarks.fleet --seconds 20 --clients 2

Every process it starts is stopped by PID on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks._emulator import Emulator

MODEL = "llama3.2"
MESSAGES = [{"role": "user", "content": "Say something."}]


# -- a worker: one client process -------------------------------------------------


async def _work(
    hosts: list[str], mode: str, seconds: float, width: int
) -> dict[str, Any]:
    from ollama_async import AdaptiveConcurrency, MultiHostClient, OllamaError

    concurrency = None
    if mode != "none":  # "adaptive" or "adaptive:<latency_tolerance>"
        _, _, tolerance = mode.partition(":")
        concurrency = (
            AdaptiveConcurrency(latency_tolerance=float(tolerance))
            if tolerance
            else AdaptiveConcurrency()
        )
    answers = failures = 0
    failed_by: dict[str, int] = {}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with MultiHostClient(
        hosts, concurrency=concurrency, refresh_interval=0
    ) as client:

        async def one_lane() -> None:
            nonlocal answers, failures
            while time.monotonic() < deadline:
                start = time.monotonic()
                try:
                    await client.chat(MODEL, MESSAGES)
                except OllamaError as exc:
                    failures += 1
                    kind = type(exc).__name__
                    failed_by[kind] = failed_by.get(kind, 0) + 1
                    continue
                answers += 1
                latencies.append(time.monotonic() - start)

        await asyncio.gather(*(one_lane() for _ in range(width)))
        overloads = sum(h.overloads for h in client.hosts)
        limits = [h.limit for h in client.hosts]
    return {
        "answers": answers,
        "failures": failures,
        "failed_by": failed_by,
        "overloads": overloads,
        "latencies": latencies,
        "limits": limits,
    }


def worker(argv: list[str]) -> None:
    import logging

    logging.getLogger("ollama_async").addHandler(logging.NullHandler())
    logging.getLogger("ollama_async").propagate = False  # retries are expected here
    hosts, mode, seconds, width = (
        argv[0].split(","),
        argv[1],
        float(argv[2]),
        int(argv[3]),
    )
    result = asyncio.run(_work(hosts, mode, seconds, width))
    print(json.dumps(result))


# -- the runner ----------------------------------------------------------------------


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, float]:
    emulators: list[Emulator] = []
    workers: list[subprocess.Popen[str]] = []
    try:
        for _ in range(args.hosts):
            emulators.append(
                Emulator.start(
                    "--num-parallel",
                    str(args.slots),
                    "--max-queue",
                    str(args.queue),
                    "--tokens-per-second",
                    str(args.tokens_per_second),
                    "--response-tokens",
                    str(args.response_tokens),
                )
            )
        hosts = ",".join(e.url for e in emulators)
        started = time.monotonic()
        for _ in range(args.clients):
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.fleet",
                        "--worker",
                        hosts,
                        mode,
                        str(args.seconds),
                        str(args.concurrency),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        results = []
        for proc in workers:
            out, _ = proc.communicate(timeout=args.seconds * 4 + 120)
            results.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.monotonic() - started
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for emulator in emulators:
            emulator.stop()
    minutes = elapsed / 60
    latencies = sorted(x for r in results for x in r["latencies"])
    return {
        "answers_per_min": sum(r["answers"] for r in results) / minutes,
        "busy_per_min": sum(r["overloads"] for r in results) / minutes,
        "failed_per_min": sum(r["failures"] for r in results) / minutes,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(len(latencies) * 0.95)] if latencies else float("nan"),
        "limits": [r["limits"] for r in results],  # type: ignore[dict-item]
        "failed_by": {  # type: ignore[dict-item]
            kind: sum(r["failed_by"].get(kind, 0) for r in results)
            for kind in sorted({k for r in results for k in r["failed_by"]})
        },
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--hosts", type=int, default=2, help="emulator hosts")
    parser.add_argument("--slots", type=int, default=2, help="--num-parallel per host")
    parser.add_argument("--queue", type=int, default=4, help="--max-queue per host")
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--response-tokens", type=int, default=20)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="chats in flight per client"
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="length of each mode"
    )
    parser.add_argument(
        "--tolerances",
        type=float,
        nargs="*",
        default=[],
        help="also run AdaptiveConcurrency(latency_tolerance=T) for each T",
    )
    args = parser.parse_args(argv)
    capacity = (
        args.hosts * args.slots * args.tokens_per_second / args.response_tokens * 60
    )
    print(
        f"{args.clients} clients x {args.concurrency} chats in flight; "
        f"{args.hosts} hosts x {args.slots} slots + queue {args.queue}; "
        f"{args.response_tokens} tokens at {args.tokens_per_second:g}/s per "
        f"answer: at most {capacity:.0f} answers/min\n"
    )
    rows = {}
    modes = ["none", "adaptive", *(f"adaptive:{t:g}" for t in args.tolerances)]
    for mode in modes:
        with contextlib.suppress(KeyboardInterrupt):
            rows[mode] = run_mode(mode, args)
    print("| concurrency | answers/min | 503s/min | failed calls/min | p50 s | p95 s |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, row in rows.items():
        name = "`None` (no adaptation)"
        if mode == "adaptive":
            name = "`AdaptiveConcurrency()`"
        elif mode.startswith("adaptive:"):
            name = f"`AdaptiveConcurrency(latency_tolerance={mode[9:]})`"
        print(
            f"| {name} | {row['answers_per_min']:.0f} | "
            f"{row['busy_per_min']:.0f} | {row['failed_per_min']:.0f} | "
            f"{row['p50']:.2f} | {row['p95']:.2f} |"
        )
    for mode, row in rows.items():
        if mode != "none":
            print(f"\n{mode}: per-host limits at the end, per client: {row['limits']}")
        print(f"{mode}: failed calls by error: {row['failed_by']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
