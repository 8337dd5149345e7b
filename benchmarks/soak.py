"""Soak test (issue 6): many requests, injected failures, a host killed mid-run.

Three scenarios against FakeOllama emulators, each a separate
``python -m ollama_async.testing --port 0`` process, so the client's memory and
CPU figures are its own:

- A: 10,000 non-streamed chats at concurrency 256, one host: zero errors,
  bounded memory (RSS after the first 2,000 requests vs after the last).
- B: the same with ~20% of the replies a 503 "server busy" (``--fault
  'status=503; probability=0.2'``): every request succeeds through the
  client's ``Retry`` policy; retries counted from the ``ollama_async`` logger
  and from the emulator's own request count.
- C: ``MultiHostClient`` over three emulators, one SIGKILLed half-way: every
  request answered exactly once, per-host counts before and after the kill,
  and how long failover took.

Usage::

    python -m benchmarks.soak                 # A, B, C; writes docs/soak.md
    python benchmarks/soak.py --no-write      # print only
    python -m benchmarks.soak --scenarios A,C --requests 2000

Exits 1 when a check fails. Every emulator it starts is stopped by PID on the
way out, also on an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import datetime
import gc
import logging
import os
import platform
import resource
import select
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

import ollama_async
from ollama_async import AsyncClient, Limits, MultiHostClient, Retry

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "soak.md"
MODEL = "llama3.2"
MiB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Small waits, so a 20% failure rate costs milliseconds, not seconds; ten tries
# make a request that fails every time (0.2 ** 10) practically impossible.
SOAK_RETRY = Retry(attempts=10, backoff=0.01, max_backoff=0.2)
SOAK_RETRY_TEXT = "Retry(attempts=10, backoff=0.01, max_backoff=0.2)"
# Response lengths tell the hosts of scenario C apart (``eval_count``).
HOST_TOKENS = (22, 23, 24)


# -- processes ---------------------------------------------------------------------


class Emulator:
    """One ``python -m ollama_async.testing`` process started by this script."""

    running: list[Emulator] = []  # noqa: RUF012 - the registry of our children

    def __init__(self, *args: str) -> None:
        self.args = args
        # A session of its own: Ctrl-C in the terminal reaches only us, and we
        # stop the emulator ourselves (and read its request count).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ollama_async.testing", "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        Emulator.running.append(self)
        self.pid = self.proc.pid
        self.url = ""
        self.served: int | None = None
        self.killed = False

    def wait_ready(self, timeout: float = 30.0) -> str:
        """Read ``FakeOllama listening on URL`` from its first stdout line."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("FakeOllama listening on "):
            raise RuntimeError(f"emulator {self.pid} did not start: {line!r}")
        self.url = line.split()[-1]
        return self.url

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far (Linux ``/proc``), None if unknown."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def alive(self) -> bool:
        """False once the process has exited (a zombie counts as gone)."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return self.proc.poll() is None
        return stat.rpartition(")")[2].split()[0] not in ("Z", "X")

    def kill(self) -> None:
        """SIGKILL: the host vanishes without closing anything cleanly."""
        os.kill(self.pid, signal.SIGKILL)
        self.killed = True

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 10 s), reap, and read the request count."""
        proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            for line in proc.stdout.read().splitlines():
                if line.startswith("FakeOllama stopped after "):
                    self.served = int(line.split()[3])
            proc.stdout.close()
        if self in Emulator.running:
            Emulator.running.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for emulator in reversed(cls.running):
            try:
                emulator.stop()
            except Exception as exc:  # keep stopping the others
                print(f"could not stop emulator {emulator.pid}: {exc!r}")


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwind through the finally blocks that stop emulators


# -- measuring ---------------------------------------------------------------------


def rss() -> int:
    """This process's resident set size in bytes (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class _CountWarnings(logging.Handler):
    """Counts the retry warnings of the ``ollama_async`` logger, silently."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class Tally:
    """What one run of ``drive`` saw."""

    requests: int
    seconds: float = 0.0
    cpu: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    latencies: array.array[float] = field(default_factory=lambda: array.array("d"))
    finished: array.array[float] = field(default_factory=lambda: array.array("d"))
    rss_before: int = 0
    rss_peak: int = 0
    rss_marks: dict[int, int] = field(default_factory=dict)
    server_requests: int | None = None
    server_cpu: float | None = None

    def quantile(self, q: int) -> float:
        """The q-th percentile latency in milliseconds."""
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def drive(
    call: Callable[[int], Awaitable[None]],
    n: int,
    concurrency: int,
    marks: tuple[int, ...],
    on_done: Callable[[int, int], None] | None = None,
) -> Tally:
    """Run ``call(0..n-1)`` on ``concurrency`` workers; time each call, sample
    RSS every 100 ms and every 250 completions, note RSS at ``marks``."""
    tally = Tally(n)
    tally.latencies = array.array("d", bytes(8 * n))
    tally.finished = array.array("d", bytes(8 * n))
    handler = _CountWarnings()
    logger = logging.getLogger("ollama_async")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    gc.collect()
    tally.rss_before = tally.rss_peak = rss()
    next_id = 0
    done = 0

    async def worker() -> None:
        nonlocal next_id, done
        while next_id < n:
            i = next_id
            next_id += 1
            start = time.perf_counter()
            try:
                await call(i)
            except Exception as exc:
                tally.errors[type(exc).__name__] += 1
            end = time.perf_counter()
            tally.latencies[i] = end - start
            tally.finished[i] = end
            done += 1
            if done % 250 == 0 or done in marks:
                size = rss()
                tally.rss_peak = max(tally.rss_peak, size)
                if done in marks:
                    tally.rss_marks[done] = size
            if on_done is not None:
                on_done(i, done)

    async def sampler() -> None:
        while True:
            await asyncio.sleep(0.1)
            tally.rss_peak = max(tally.rss_peak, rss())

    sampling = asyncio.create_task(sampler())
    cpu = time.process_time()
    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        tally.seconds = time.perf_counter() - start
        tally.cpu = time.process_time() - cpu
        sampling.cancel()
        logger.removeHandler(handler)
        logger.propagate = propagate
    tally.retries = handler.count
    return tally


def _messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Soak request {i}: say something."}]


# -- scenarios ---------------------------------------------------------------------


async def _one_host(url: str, n: int, concurrency: int, retry: Retry) -> Tally:
    block = min(2000, n)
    async with AsyncClient(
        url, limits=Limits(max_connections=concurrency), retry=retry
    ) as client:

        async def call(i: int) -> None:
            reply = await client.chat(MODEL, messages=_messages(i))
            if not reply.done or not reply.message.content:
                raise ValueError(f"request {i}: incomplete answer")

        return await drive(call, n, concurrency, marks=(block, n))


def scenario_a(n: int, concurrency: int) -> Tally:
    """One emulator, no faults, the default Retry policy."""
    emulator = Emulator()
    try:
        emulator.wait_ready()
        cpu = emulator.cpu_seconds()
        tally = asyncio.run(_one_host(emulator.url, n, concurrency, Retry()))
        end_cpu = emulator.cpu_seconds()
        if cpu is not None and end_cpu is not None:
            tally.server_cpu = end_cpu - cpu
    finally:
        emulator.stop()
    tally.server_requests = emulator.served
    return tally


def scenario_b(n: int, concurrency: int, busy: float) -> Tally:
    """One emulator answering ~``busy`` of chats with 503 "server busy"."""
    emulator = Emulator(
        "--fault",
        f"status=503; probability={busy}; path=/api/chat",
        "--fault-seed",
        "6",
    )
    try:
        emulator.wait_ready()
        cpu = emulator.cpu_seconds()
        tally = asyncio.run(_one_host(emulator.url, n, concurrency, SOAK_RETRY))
        end_cpu = emulator.cpu_seconds()
        if cpu is not None and end_cpu is not None:
            tally.server_cpu = end_cpu - cpu
    finally:
        emulator.stop()
    tally.server_requests = emulator.served
    return tally


@dataclass
class Failover:
    """Scenario C's results beyond the tally."""

    tally: Tally
    urls: list[str]
    killed: int
    before: Counter[int]
    after: Counter[int]
    answered: int
    duplicates: int
    mislabelled: int
    in_flight_at_kill: int
    detect: float | None
    exited: float | None
    settle: float
    longest_gap: float
    slowest_affected: float
    failures_at_end: int
    served: list[int | None]


async def _failover(emulators: list[Emulator], n: int, concurrency: int) -> Failover:
    kill_at = n // 2
    victim = 1
    urls = [e.url for e in emulators]
    by_tokens = {tokens: host for host, tokens in enumerate(HOST_TOKENS)}
    results: dict[int, int] = {}
    started: dict[int, float] = {}
    duplicates = 0
    mislabelled = 0
    killed_at = 0.0
    detected_at: float | None = None
    exited_at: float | None = None
    in_flight: list[int] = []

    async with MultiHostClient(
        urls, limits=Limits(max_connections=concurrency), retry=SOAK_RETRY
    ) as client:
        victim_state = client.hosts[victim]

        async def watch() -> None:
            # Poll until the process is gone and the client has taken it out.
            nonlocal detected_at, exited_at
            while detected_at is None or exited_at is None:
                now = time.perf_counter()
                if exited_at is None and not emulators[victim].alive():
                    exited_at = now
                if detected_at is None and victim_state.failures:
                    detected_at = now
                await asyncio.sleep(0.001)

        watching: asyncio.Task[None] | None = None

        def on_done(i: int, done: int) -> None:
            nonlocal killed_at, watching
            started.pop(i, None)
            if done == kill_at:
                emulators[victim].kill()
                killed_at = time.perf_counter()
                in_flight.extend(started)
                watching = asyncio.get_running_loop().create_task(watch())

        async def call(i: int) -> None:
            nonlocal duplicates, mislabelled
            started[i] = time.perf_counter()
            reply = await client.chat(MODEL, messages=_messages(i))
            host = by_tokens.get(reply.eval_count or 0)
            if host is None or not reply.done:
                mislabelled += 1
                return
            if i in results:
                duplicates += 1
            results[i] = host

        try:
            tally = await drive(
                call, n, concurrency, marks=(kill_at, n), on_done=on_done
            )
        finally:
            if watching is not None:
                watching.cancel()
        failures_at_end = victim_state.failures

    before: Counter[int] = Counter()
    after: Counter[int] = Counter()
    for i, host in results.items():
        (before if tally.finished[i] <= killed_at else after)[host] += 1
    after_kill = sorted(t for t in tally.finished if t > killed_at)
    gaps = [b - a for a, b in zip([killed_at, *after_kill], after_kill, strict=False)]
    affected = [tally.finished[i] for i in in_flight]
    return Failover(
        tally=tally,
        urls=urls,
        killed=victim,
        before=before,
        after=after,
        answered=len(results),
        duplicates=duplicates,
        mislabelled=mislabelled,
        in_flight_at_kill=len(in_flight),
        detect=None if detected_at is None else detected_at - killed_at,
        exited=None if exited_at is None else exited_at - killed_at,
        settle=max(affected, default=killed_at) - killed_at,
        longest_gap=max(gaps, default=0.0),
        slowest_affected=max((tally.latencies[i] for i in in_flight), default=0.0),
        failures_at_end=failures_at_end,
        served=[],
    )


def scenario_c(n: int, concurrency: int) -> Failover:
    """Three emulators behind MultiHostClient; the second is SIGKILLed when
    half of the requests have been answered."""
    emulators = [Emulator("--response-tokens", str(t)) for t in HOST_TOKENS]
    try:
        for emulator in emulators:
            emulator.wait_ready()
        result = asyncio.run(_failover(emulators, n, concurrency))
    finally:
        for emulator in emulators:
            emulator.stop()
    result.served = [e.served for e in emulators]
    return result


# -- report ------------------------------------------------------------------------


def _mib(size: int) -> str:
    return f"{size / MiB:.1f}"


def _signed_mib(size: int) -> str:
    return f"{size / MiB:+.1f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _server_share(tally: Tally) -> str:
    if tally.server_cpu is None:
        return "n/a"
    return f"{100 * tally.server_cpu / tally.seconds:.0f}%"


def load_table(runs: dict[str, Tally], block: int) -> str:
    header = [
        "scenario",
        "requests",
        "errors",
        "retries (log)",
        "server requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "client CPU µs/req",
        "server CPU",
        "RSS before MiB",
        "peak RSS MiB",
        f"RSS growth {block:,} → {{n}}",
    ]
    rows = []
    for name, t in runs.items():
        first, last = t.rss_marks.get(block, 0), t.rss_marks.get(t.requests, 0)
        rows.append(
            [
                name,
                f"{t.requests:,}",
                str(sum(t.errors.values())),
                f"{t.retries:,}",
                "n/a" if t.server_requests is None else f"{t.server_requests:,}",
                f"{t.rate:,.0f}",
                f"{t.quantile(50):.1f}",
                f"{t.quantile(99):.1f}",
                f"{max(t.latencies) * 1000:.1f}",
                f"{t.cpu / t.requests * 1e6:.0f}",
                _server_share(t),
                _mib(t.rss_before),
                _mib(t.rss_peak),
                f"{_signed_mib(last - first)} MiB",
            ]
        )
    n = next(iter(runs.values())).requests if runs else 0
    header[-1] = header[-1].format(n=f"{n:,}")
    return _table(header, rows)


def failover_tables(f: Failover) -> str:
    rows = []
    for host in range(len(f.urls)):
        name = f"{host + 1}" + (" (killed)" if host == f.killed else "")
        served = f.served[host] if host < len(f.served) else None
        rows.append(
            [
                name,
                f"{f.before[host]:,}",
                f"{f.after[host]:,}",
                "killed (no count)" if served is None else f"{served:,}",
            ]
        )
    hosts = _table(
        ["host", "answers before kill", "answers after kill", "server requests"],
        rows,
    )
    t = f.tally
    detect = "not seen" if f.detect is None else f"{f.detect * 1000:.1f} ms"
    exited = "not seen" if f.exited is None else f"{f.exited * 1000:.1f} ms"
    facts = _table(
        ["measure", "value"],
        [
            [
                "requests / answered / errors",
                f"{t.requests:,} / {f.answered:,} / {sum(t.errors.values())}",
            ],
            ["answered twice / unknown host", f"{f.duplicates} / {f.mislabelled}"],
            [
                "requests/s, p50 / p99 / max ms",
                f"{t.rate:,.0f}, {t.quantile(50):.1f} / "
                f"{t.quantile(99):.1f} / {max(t.latencies) * 1000:.1f}",
            ],
            ["retries logged", f"{t.retries:,}"],
            ["requests in flight at the kill", f"{f.in_flight_at_kill}"],
            ["kill → process gone (kernel)", exited],
            ["kill → host taken out by the client", detect],
            [
                "kill → last request in flight at the kill answered",
                f"{f.settle * 1000:.1f} ms (p99 of the run: {t.quantile(99):.1f} ms)",
            ],
            [
                "slowest request in flight at the kill",
                f"{f.slowest_affected * 1000:.1f} ms",
            ],
            [
                "longest pause in answers after the kill",
                f"{f.longest_gap * 1000:.1f} ms",
            ],
            [
                "consecutive failures of the killed host at the end",
                f"{f.failures_at_end}",
            ],
        ],
    )
    return hosts + "\n\n" + facts


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        memory = f"{pages * PAGE / 1024**3:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        memory = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return [
        ("date (UTC)", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")),
        ("CPU", f"{cpu}, {os.cpu_count()} logical cores"),
        ("memory", memory),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("ollama_async", f"{ollama_async.__version__} (git {commit})"),
        ("aiohttp (emulator)", aiohttp.__version__),
        ("msgspec", msgspec.__version__),
        ("event loop", "asyncio default (no uvloop)"),
        ("load average at start (1/5/15 min)", _loadavg()),
    ]


def _loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


@dataclass
class Checks:
    failed: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    def expect(self, ok: bool, text: str) -> None:
        (self.passed if ok else self.failed).append(text)


def check(runs: dict[str, Tally], failover: Failover | None, busy: float) -> Checks:
    checks = Checks()
    a, b = runs.get("A"), runs.get("B")
    if a is not None:
        checks.expect(not a.errors, f"A: zero errors ({dict(a.errors) or 0})")
        checks.expect(
            a.server_requests == a.requests,
            f"A: the emulator saw exactly {a.requests:,} requests "
            f"({a.server_requests})",
        )
    if b is not None:
        checks.expect(
            not b.errors, f"B: every request succeeded ({dict(b.errors) or 0})"
        )
        checks.expect(
            b.server_requests == b.requests + b.retries,
            f"B: emulator requests = requests + logged retries "
            f"({b.server_requests} = {b.requests} + {b.retries})",
        )
        share = b.retries / (b.requests + b.retries)
        checks.expect(
            abs(share - busy) < 0.05,
            f"B: {share:.1%} of the requests the emulator saw got a 503 "
            f"(asked for {busy:.0%})",
        )
    if failover is not None:
        f = failover
        t = f.tally
        checks.expect(
            f.answered == t.requests and not t.errors and not f.mislabelled,
            f"C: all {t.requests:,} requests answered ({f.answered:,}, errors "
            f"{dict(t.errors) or 0})",
        )
        checks.expect(f.duplicates == 0, f"C: none answered twice ({f.duplicates})")
        checks.expect(
            sum(f.after.values()) > 0 and f.after[f.killed] <= f.in_flight_at_kill,
            f"C: after the kill the survivors answered ({sum(f.after.values()):,}), "
            f"the killed host at most what was already on the wire "
            f"({f.after[f.killed]})",
        )
    return checks


def _reading(
    args: argparse.Namespace, runs: dict[str, Tally], failover: Failover | None
) -> list[str]:
    notes = []
    a = runs.get("A")
    if a is not None and a.server_cpu is not None:
        notes.append(
            f"- In A the emulator used {_server_share(a)} of a core and the "
            f"client {100 * a.cpu / a.seconds:.0f}% ({a.cpu / a.requests * 1e6:.0f}"
            f" µs per request): requests/s measures the pair on this machine. "
            f"The latencies are mostly queueing: {args.concurrency} requests "
            f"wait their turn in one emulator."
        )
    if a is not None:
        notes.append(
            "- Memory is flat once the pool is warm: the *RSS growth* column is "
            f"what {a.requests - min(2000, a.requests):,} more requests added."
        )
    b = runs.get("B")
    if b is not None:
        notes.append(
            f"- B: {b.retries:,} 503 replies, each retried after a jittered "
            f"wait of at most 10-200 ms; the tail latency (p99 "
            f"{b.quantile(99):.0f} ms) is requests that drew several 503s in a "
            f"row."
        )
    if failover is not None:
        f = failover
        notes.append(
            f"- C: the {f.in_flight_at_kill} requests in flight at the kill "
            f"include those on the killed host; their connections closed before "
            f"any byte of an answer reached the caller, so `MultiHostClient` "
            f"sent them to another host (a failover, not a logged retry). The "
            f"killed host's *answers after kill* are replies it had already "
            f"written before it died. Every request that found the host dead "
            f"counted one failure (last row), so its backoff went to "
            f"`max_backoff` (60 s) at once instead of doubling from "
            f"`min_backoff` (1 s) probe by probe."
        )
    return ["### Reading the numbers", "", *notes, ""] if notes else []


def render(
    args: argparse.Namespace,
    runs: dict[str, Tally],
    failover: Failover | None,
    checks: Checks,
    elapsed: float,
) -> str:
    block = min(2000, args.requests)
    out = [
        "# Soak test",
        "",
        "Generated by `python -m benchmarks.soak` (issue 6; how to run it: the "
        "*Soak* section of `benchmarks/README.md`). Do not edit by hand: rerun it.",
        "",
        "## Machine",
        "",
        _table(["", ""], [[k, v] for k, v in machine()]),
        "",
        "## Method",
        "",
        f"- Every emulator is a separate `python -m ollama_async.testing --port 0` "
        f"process (aiohttp.web), so the client's RSS and CPU below are its own. "
        f"Client and emulators share the machine's {os.cpu_count()} cores; the "
        f"*server CPU* column is the emulator's CPU time over the run's wall time "
        f"(100% = one core busy).",
        f"- {args.requests:,} non-streamed `client.chat()` calls, each with its own "
        f"prompt, run by {args.concurrency} worker tasks that take the next request "
        f"id as they finish one (a bounded pipeline, not {args.requests:,} tasks at "
        f"once). The client has `Limits(max_connections={args.concurrency})`. "
        f"Latency is per call, retries and failover included.",
        "- RSS is read from `/proc/self/statm` every 100 ms and every 250 answers; "
        f"*RSS growth* is RSS after the last answer minus RSS after answer "
        f"{block:,}, i.e. what the last {args.requests - block:,} requests added "
        f"once pools and caches were warm.",
        "- The scenarios run one after the other in one client process, so B's "
        "*RSS before* is what A left.",
        "- A: one emulator, no faults, the default `Retry()` policy.",
        f"- B: the emulator started with `--fault 'status=503; "
        f"probability={args.busy}; path=/api/chat'` (Ollama's queue-full reply, "
        f"drawn from a seeded generator), client with `{SOAK_RETRY_TEXT}`. Retries "
        f"are counted twice: warnings on the `ollama_async` logger, and the "
        f"emulator's own request count (printed on exit) minus {args.requests:,}.",
        f"- C: `MultiHostClient` over three emulators answering with "
        f"{'/'.join(map(str, HOST_TOKENS))} tokens (so `eval_count` tells which host "
        f"answered), client retry as in B; host 2 gets SIGKILL when half of the "
        f"requests are answered. Results are kept per request id: a missing id is "
        f"a lost request, a second answer for an id a duplicate. *Host taken out* "
        f"is when the client's `HostState.failures` for the killed host turned "
        f"non-zero (polled every 1 ms).",
        "",
        "## Results",
        "",
    ]
    if runs:
        out += ["### A and B: one host", "", load_table(runs, block), ""]
    if failover is not None:
        out += ["### C: three hosts, one killed", "", failover_tables(failover), ""]
    out += _reading(args, runs, failover)
    out += ["### Checks", ""]
    out += [f"- ✅ {text}" for text in checks.passed]
    out += [f"- ❌ {text}" for text in checks.failed]
    out += ["", f"Whole run: {elapsed:.0f} s.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--busy", type=float, default=0.2, help="503 share in B")
    parser.add_argument("--scenarios", default="A,B,C")
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    wanted = {s.strip().upper() for s in args.scenarios.split(",")}

    signal.signal(signal.SIGTERM, _on_sigterm)
    began = time.perf_counter()
    runs: dict[str, Tally] = {}
    failover: Failover | None = None
    try:
        if "A" in wanted:
            print(f"A: {args.requests:,} chats at concurrency {args.concurrency} ...")
            runs["A"] = scenario_a(args.requests, args.concurrency)
        if "B" in wanted:
            print(f"B: the same with {args.busy:.0%} 503 replies ...")
            runs["B"] = scenario_b(args.requests, args.concurrency, args.busy)
        if "C" in wanted:
            print("C: three hosts, one SIGKILLed half-way ...")
            failover = scenario_c(args.requests, args.concurrency)
    except KeyboardInterrupt:
        print("interrupted; stopping the emulators")
        return 130
    finally:
        Emulator.stop_all()
    elapsed = time.perf_counter() - began
    checks = check(runs, failover, args.busy)
    report = render(args, runs, failover, checks, elapsed)
    print()
    print(report.split("## Results", 1)[1].strip())
    if not args.no_write:
        args.out.write_text(report, encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
