"""One measurement: one client, one scenario, in this fresh process.

Run by `benchmarks.run`, one process per (client, scenario, repeat):
    python -m benchmarks._worker CLIENT SCENARIO URL [--quick] [--profile N]
Prints one JSON object on stdout; exits non-zero on a wrong result.

Order inside: pin to CPU 1, import the client (not measured here; import
time has its own measurement), warm up with a smaller run of the same shape
(connections opened, code paths and caches hot), collect garbage, then
measure `time.process_time()` and wall time around the scenario only, for a
few passes (median reported). Each pass's result is checked after it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import resource
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _payloads as P
from benchmarks._scenarios import CLIENTS, SCENARIOS, Scenario, quick

CLIENT_CPU = 1
INNER_MAX = 5  # measured passes per process, at most
INNER_BUDGET = 0.8  # seconds of measured wall time before we stop adding passes


def pin(cpu: int) -> bool:
    # Do not test `cpu in sched_getaffinity(0)`: the runner pins itself to the
    # server's CPU and we inherit that mask; widening it to CPU 1 is allowed.
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return os.sched_getaffinity(0) == {cpu}


def server_stats(url: str) -> dict[str, float]:
    """The bench server's own clocks, over a throwaway blocking socket."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"GET /_bench/stats HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


async def lanes(
    fn: Callable[[], Awaitable[Any]], total: int, concurrency: int
) -> list[Any]:
    """Run `fn` `total` times with at most `concurrency` in flight.

    Lanes pull from one shared iterator: no semaphore and no task per request
    beyond the lanes, so the harness adds the same small cost to every client.
    """
    results: list[Any] = []
    todo = iter(range(total))

    async def lane() -> None:
        for _ in todo:
            results.append(await fn())

    await asyncio.gather(*(lane() for _ in range(min(total, concurrency))))
    return results


def workload(
    bench: Any, s: Scenario, requests: int, chunks: int
) -> Callable[[], Awaitable[list[Any]]]:
    if s.kind == "stream":
        fn: Callable[[], Awaitable[Any]] = lambda: bench.stream(chunks)  # noqa: E731
    elif s.kind == "chat":
        fn = lambda: bench.chat(chunks)  # noqa: E731
    elif s.kind == "embed":
        inputs = [f"embed me {i}" for i in range(chunks)]
        fn = lambda: bench.embed(inputs)  # noqa: E731
    elif s.kind == "ttfc":
        fn = lambda: bench.first_chunk(chunks)  # noqa: E731
    else:
        raise ValueError(s.kind)
    return lambda: lanes(fn, requests, s.concurrency)


def check(s: Scenario, results: list[Any]) -> None:
    """A wrong result fails the run: speed without correctness means nothing."""
    if len(results) != s.requests:
        raise AssertionError(f"{len(results)} results, expected {s.requests}")
    text = P.expected_text(s.chunks)
    if s.kind == "stream":
        for count, got in results:
            if count != s.chunks + 1 or got != text:
                raise AssertionError(f"stream: {count} lines, text {got[:60]!r}...")
    elif s.kind == "chat":
        for got in results:
            if got != text:
                raise AssertionError(f"chat: text {got[:60]!r}...")
    elif s.kind == "embed":
        probes = P.embed_probe(s.chunks)
        for vectors in results:
            if len(vectors) != s.chunks or any(len(v) != P.EMBED_DIM for v in vectors):
                raise AssertionError("embed: wrong shape")
            for i, j, value in probes:
                if abs(vectors[i][j] - value) > 1e-7 * max(1.0, abs(value)):
                    raise AssertionError(f"embed: [{i}][{j}]={vectors[i][j]}")
    elif s.kind == "ttfc" and not all(t > 0 for t in results):
        raise AssertionError("ttfc: no first chunk")


async def measure(args: argparse.Namespace, s: Scenario) -> dict[str, Any]:
    spec = CLIENTS[args.client]
    module = importlib.import_module(f"benchmarks.clients.{spec.module}")
    bench = module.Bench(**dict(spec.kwargs))
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    samples: list[dict[str, float]] = []
    ttfc: list[float] = []
    await bench.start(args.url, s.concurrency)
    try:
        await workload(bench, s, s.warmup_requests, s.warmup_chunks)()
        run = workload(bench, s, s.requests, s.chunks)
        # Several measured passes while they fit in INNER_BUDGET (fast clients
        # get up to INNER_MAX, slow ones one): the median of a few passes
        # shrugs off a single hiccup of this shared machine.
        spent = 0.0
        while len(samples) < (1 if profiler else args.passes) and (
            not samples or spent < INNER_BUDGET
        ):
            gc.collect()
            srv0 = server_stats(args.url)
            if profiler is not None:
                profiler.enable()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            results = await run()
            cpu1, wall1 = time.process_time(), time.perf_counter()
            if profiler is not None:
                profiler.disable()
            srv1 = server_stats(args.url)
            check(s, results)
            wall = wall1 - wall0
            spent += wall
            samples.append(
                {
                    "cpu": cpu1 - cpu0,
                    "wall": wall,
                    "server": (srv1["cpu"] - srv0["cpu"]) / wall,
                }
            )
            if s.kind == "ttfc":
                ttfc.extend(results)
    finally:
        await bench.close()
    out: dict[str, Any] = {
        "client": args.client,
        "scenario": s.name,
        "cpu": statistics.median(x["cpu"] for x in samples),
        "wall": statistics.median(x["wall"] for x in samples),
        "units": s.units(),
        "passes": len(samples),
        "server_cpu_share": max(x["server"] for x in samples),
        "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "pinned": args.pinned,
    }
    if ttfc:
        out["ttfc"] = statistics.median(ttfc)
    if profiler is not None:
        out["profile"] = profile_summary(profiler, s.units(), args.profile)
    return out


def profile_summary(profiler: Any, units: int, top: int) -> list[dict[str, Any]]:
    """Top functions by own time, in µs per unit (chunk or request)."""
    import pstats

    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = "~" if path == "~" else f"{shorten(path)}:{line}"
        rows.append(
            {
                "function": f"{where}({func})",
                "calls_per_unit": ncalls / units,
                "own_us": tottime / units * 1e6,
                "cum_us": cumtime / units * 1e6,
            }
        )
    rows.sort(key=lambda r: r["own_us"], reverse=True)
    return rows[:top]


def shorten(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("client", choices=sorted(CLIENTS))
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("url")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", type=int, default=0, help="cProfile, top N rows")
    ap.add_argument("--passes", type=int, default=INNER_MAX, help="max measured passes")
    args = ap.parse_args(argv)
    args.pinned = pin(CLIENT_CPU)
    s = SCENARIOS[args.scenario]
    if args.quick:
        s = quick(s)
    factory = None
    if CLIENTS[args.client].loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            out = runner.run(measure(args, s))
    except AssertionError as exc:
        print(json.dumps({"error": f"wrong result: {exc}"}))
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
