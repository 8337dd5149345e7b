"""One measurement: one client, one scenario, in this fresh process.

Run by `benchmarks.run`, one process per (client, scenario, repeat):
    python -m benchmarks._worker CLIENT SCENARIO URL [--quick] [--profile N]
        [--blob-dir DIR]
Prints one JSON object on stdout; exits non-zero on a wrong result.

Order inside: pin to CPU 1, raise the open-file limit, import the client (not
measured here; import time has its own measurement), warm up with a smaller
run of the same shape (connections opened, code paths and caches hot),
collect garbage, then measure `time.process_time()` and wall time around the
scenario only, for a few passes (median reported). Each pass's result is
checked after it.

Memory scenarios (S6): a tiny warm-up (8 streams) first, then the RSS, then
the warm-up is the full shape (every stream open at once, each connection
opened); a thread polls the bench server for the number of streams open and
samples RSS while all are, so "RSS per open stream" is (RSS with all open -
RSS before) / streams, connections and buffers included. It is measured in
the first full pass because allocators rarely give memory back: a second pass
would reuse the first one's pages.

Blob scenario (S7): one small upload to warm up, then one `create_blob` of
the big file with a thread sampling /proc/self/statm every 2 ms; peak RSS
growth is the highest sample (or a new ru_maxrss high-water mark, whichever is
higher) minus the RSS just before the call. The server's byte count and the
digest returned are checked against what the runner wrote.
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
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _payloads as P
from benchmarks._scenarios import CLIENTS, SCENARIOS, Scenario, quick
from benchmarks._server import raise_nofile

CLIENT_CPU = 1
INNER_MAX = 5  # measured passes per process, at most
INNER_BUDGET = 0.8  # seconds of measured wall time before we stop adding passes
MEMORY_PREWARM = 8  # streams run before the memory baseline (code paths loaded)
MIB = 1 << 20


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


def server_stats(url: str) -> dict[str, Any]:
    """The bench server's own clocks, over a throwaway blocking socket."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"GET /_bench/stats HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    stats: dict[str, Any] = json.loads(data.split(b"\r\n\r\n", 1)[1])
    return stats


class Sampler(threading.Thread):
    """Resident memory from /proc/self/statm every `interval` seconds.

    With `url` and `streams`, it also asks the bench server how many paced
    streams are open and keeps the highest RSS seen while all `streams` are.
    The thread takes the GIL briefly per sample; every client pays the same.
    """

    def __init__(self, interval: float, url: str = "", streams: int = 0) -> None:
        super().__init__(daemon=True)
        self.interval, self.url, self.streams = interval, url, streams
        self.stop = threading.Event()
        self.peak = 0  # bytes
        self.all_open = 0  # bytes, highest sample with every stream open
        self.all_open_samples = 0
        self.max_open = 0
        self.fd = os.open("/proc/self/statm", os.O_RDONLY)

    def rss(self) -> int:
        os.lseek(self.fd, 0, os.SEEK_SET)
        return int(os.read(self.fd, 128).split()[1]) * PAGE

    def run(self) -> None:
        while not self.stop.is_set():
            if self.url:
                open_now = int(server_stats(self.url)["active"])
                rss = self.rss()
                self.max_open = max(self.max_open, open_now)
                if open_now >= self.streams:
                    self.all_open = max(self.all_open, rss)
                    self.all_open_samples += 1
            else:
                rss = self.rss()
            self.peak = max(self.peak, rss)
            self.stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self.peak = self.rss()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()
        self.peak = max(self.peak, self.rss())
        os.close(self.fd)


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_now() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE


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
    bench: Any, s: Scenario, requests: int, chunks: int, concurrency: int = 0
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
    return lambda: lanes(fn, requests, concurrency or s.concurrency)


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


async def measure_memory(
    args: argparse.Namespace, s: Scenario, bench: Any
) -> dict[str, Any]:
    """The full-shape warm-up, with RSS per open stream measured around it."""
    n = min(MEMORY_PREWARM, s.warmup_requests)
    await workload(bench, s, n, 2, concurrency=n)()
    gc.collect()
    before = rss_now()
    wall0 = time.perf_counter()
    with Sampler(0.02, args.url, s.warmup_requests) as sampler:
        results = await workload(bench, s, s.warmup_requests, s.warmup_chunks)()
    wall = time.perf_counter() - wall0
    check(replace(s, requests=s.warmup_requests, chunks=s.warmup_chunks), results)
    all_open = sampler.all_open_samples > 0
    high = sampler.all_open if all_open else sampler.peak
    return {
        "rss_before_mib": before / MIB,
        "rss_open_mib": high / MIB,
        "rss_per_stream_kib": (high - before) / s.warmup_requests / 1024,
        "all_open": all_open,  # False: never all open at once; peak used instead
        "max_open": sampler.max_open,
        "open_samples": sampler.all_open_samples,
        "memory_pass_wall": wall,
    }


async def measure_blob(
    args: argparse.Namespace, s: Scenario, bench: Any
) -> dict[str, Any]:
    """One create_blob of the big file after one of a small one."""
    with open(os.path.join(args.blob_dir, "digests.json")) as f:
        files = json.load(f)
    big, warm = files["big"], files["warm"]
    await bench.start(args.url, 1)
    try:
        if await bench.create_blob(warm["path"]) != warm["digest"]:
            raise AssertionError("blob: wrong digest for the warm-up file")
        gc.collect()
        srv0 = server_stats(args.url)
        maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        before = rss_now()
        with Sampler(0.002) as sampler:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            digest = await bench.create_blob(big["path"])
            cpu1, wall1 = time.process_time(), time.perf_counter()
        maxrss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        srv1 = server_stats(args.url)
    finally:
        await bench.close()
    if digest != big["digest"]:
        raise AssertionError(f"blob: returned {digest}, expected {big['digest']}")
    if srv1["blobs"] != srv0["blobs"] + 1 or srv1["blob_digest"] != big["digest"]:
        raise AssertionError(f"blob: server saw {srv1['blobs'] - srv0['blobs']}")
    if srv1["blob_bytes"] != big["size"]:
        raise AssertionError(f"blob: server got {srv1['blob_bytes']} bytes")
    if srv1["blob_verified"] is False:
        raise AssertionError("blob: the server's hash of the body differs")
    peak = sampler.peak
    if maxrss1 > maxrss0:  # a new high-water mark: a spike the sampler missed?
        peak = max(peak, maxrss1 * 1024)
    wall = wall1 - wall0
    return {
        "client": args.client,
        "scenario": s.name,
        "cpu": cpu1 - cpu0,
        "wall": wall,
        "units": s.units(),
        "passes": 1,
        "server_cpu_share": (srv1["cpu"] - srv0["cpu"]) / wall,
        "rss_kb": maxrss1,
        "rss_growth_mib": max(0, peak - before) / MIB,
        "blob_mib": big["size"] / MIB,
        "pinned": args.pinned,
    }


async def measure(args: argparse.Namespace, s: Scenario) -> dict[str, Any]:
    spec = CLIENTS[args.client]
    module = importlib.import_module(f"benchmarks.clients.{spec.module}")
    bench = module.Bench(**dict(spec.kwargs))
    if s.kind == "blob":
        return await measure_blob(args, s, bench)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    samples: list[dict[str, float]] = []
    ttfc: list[float] = []
    memory: dict[str, Any] = {}
    await bench.start(args.url, s.concurrency)
    try:
        if s.memory:
            memory = await measure_memory(args, s, bench)
        else:
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
        "requests": s.requests,
        "passes": len(samples),
        "server_cpu_share": max(x["server"] for x in samples),
        "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "pinned": args.pinned,
        **memory,
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
    ap.add_argument("--blob-dir", help="S7: directory with digests.json and files")
    args = ap.parse_args(argv)
    args.pinned = pin(CLIENT_CPU)
    nofile = raise_nofile()
    s = SCENARIOS[args.scenario]
    if args.quick:
        s = quick(s)
    s = s.for_client(args.client)
    if s.concurrency + 64 > nofile:
        print(json.dumps({"error": f"open-file limit {nofile} < {s.concurrency} + 64"}))
        return 3
    if s.kind == "blob" and not args.blob_dir:
        ap.error("--blob-dir is required for a blob scenario")
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
