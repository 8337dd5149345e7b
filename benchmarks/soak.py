"""Soak test (issues 6 and 14): mixed calls under load, injected faults, a host
killed mid-run, and checks that each can be made to fail.

Every call is verified, not just counted. Each request has its own prompt, so
its answer is unique, and the expected answer is computed before the run (see
`Oracle`). A call ends in exactly one outcome, recorded against its request id:

- ``ok``: the answer equals the expected one exactly (text, ``done`` and the
  token count of the final line; the vector's bytes for ``embed``);
- ``cross``: it is the answer of another request (cross-delivery);
- ``truncated``: a prefix of the expected text, or all of it without the final
  ``done`` line, returned as if complete;
- ``wrong``: anything else;
- ``typed``: an ``ollama_async.OllamaError`` was raised;
- ``untyped``: any other exception;
- ``uncut``: a stream the emulator was told to cut arrived whole (the fault did
  not fire).

Scenarios, each against separate ``python -m ollama_async.testing --port 0``
processes, so the client's RSS and CPU are its own:

- A: mixed calls (chat, generate, streamed chat, streamed generate, embed,
  list) at concurrency 256, no faults: every answer exact, no error at all.
- B: the same with faults: 10% 503 "server busy", 3% connections dropped
  before the reply (both retried by the client), and one stream in five cut by
  the emulator, after 3 lines or just before the final line. Every cut stream
  must raise a typed error; every other call must answer exactly.
- C: ``MultiHostClient`` over three emulators, one SIGKILLed half-way.

After each scenario: open file descriptors and sockets before the client was
created vs after it closed; RSS and the number of GC-tracked objects after
warm-up vs after the last call (both with nothing in flight).

``--break NAME`` breaks something on purpose (in the soak's own client wrapper
or setup, never in ``ollama_async``), so that a check must fail; the full run
proves every break makes its check fail (exit status 1) by running each one in
a subprocess. See ``BREAKS``.

Usage::

    python -m benchmarks.soak             # A, B, C, break proofs; writes docs/soak.md
    python -m benchmarks.soak --no-write  # print only
    python -m benchmarks.soak --scenarios B --requests 2000 --no-prove-breaks
    python -m benchmarks.soak --break truncate --scenarios B --requests 2000

Exit status: 0 all checks passed, 1 a check failed, 2 the oracle disagrees with
the emulator on quiet sequential calls (the soak is out of date, not the
client), 130 interrupted. Every emulator it starts is stopped by PID on the way
out, also on an error, Ctrl-C or SIGTERM.

Only the public API of ``ollama_async`` is used, so the soak keeps working when
the transport underneath changes. The oracle reuses the emulator's generator
(``ollama_async.testing``, which never imports the client side).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import datetime
import gc
import hashlib
import logging
import os
import platform
import re
import resource
import select
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

import ollama_async
from ollama_async import (
    AsyncClient,
    Limits,
    MultiHostClient,
    OllamaError,
    Retry,
    ServerBusyError,
)
from ollama_async.testing import FakeOllama
from ollama_async.testing import _generation as emulator_generation

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "soak.md"
MiB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

TEXT_MODEL = "llama3.2"
EMBED_MODEL = "nomic-embed-text"
# Streams sent to these models are cut by the emulator's model-filtered faults
# (B only): llava after 3 lines, qwen3 (asked not to think) right before the
# final ``done`` line, when all of the text has arrived.
CUT_MID_MODEL = "llava:7b"
CUT_FINAL_MODEL = "qwen3:8b"
CUT_MID_AFTER = 3
BUSY = 0.10
DROPPED = 0.03
B_FAULTS = (
    f"model={CUT_MID_MODEL}; disconnect_after={CUT_MID_AFTER}",
    f"model={CUT_FINAL_MODEL}; disconnect_after=1000",
    f"status=503; probability={BUSY}",
    f"disconnect_after=0; probability={DROPPED}",
)
B_FAULT_SEED = 14
# Small waits, so faults cost milliseconds; ten tries make a call that fails
# every time (0.13 ** 10) practically impossible.
SOAK_RETRY = Retry(attempts=10, backoff=0.01, max_backoff=0.2)
SOAK_RETRY_TEXT = "Retry(attempts=10, backoff=0.01, max_backoff=0.2)"
RESPONSE_TOKENS = 24
# Response lengths tell the hosts of scenario C apart; pacing keeps its
# streams going for ~60 ms, so the kill catches some mid-stream.
HOST_TOKENS = (22, 23, 24)
HOST_PACE = 400  # tokens per second
VICTIM = 1
STREAMS = ("chat-stream", "generate-stream")
# One cycle of 25 request ids: 5 of each text kind, 3 embeds, 2 lists.
KINDS = tuple(
    ("chat", "chat-stream", "generate", "generate-stream")[j % 5]
    if j % 5 < 4
    else ("list" if j // 5 in (2, 4) else "embed")
    for j in range(25)
)
DEFAULT_RSS_LIMIT_MIB = 10.0
# GC-tracked objects alive after the last call vs after warm-up (both taken
# with nothing in flight, after a full collection): a leak of one object per
# call shows as thousands.
OBJECTS_LIMIT = 1000
PROOF_REQUESTS = 2000


# -- breaking on purpose -----------------------------------------------------------


@dataclass(frozen=True)
class Break:
    scenario: str
    fails: str
    what: str


BREAKS: dict[str, Break] = {
    "drop": Break("A", "answered", "the soak forgets the outcome of one request"),
    "duplicate": Break("A", "duplicates", "the soak records one outcome twice"),
    "corrupt": Break("A", "wrong", "one answer's text is altered (a doubled space)"),
    "swap": Break("A", "cross", "two chats hand each other their answers"),
    "untyped": Break(
        "A", "untyped", "a ConnectionResetError escapes the wrapper for one call"
    ),
    "extra": Break("A", "wire", "one extra, unaccounted list() call on the client"),
    "leak": Break("A", "fds", "an AsyncClient is opened, used once and never closed"),
    "grow": Break("A", "rss", "16 KiB of bytes kept per call, as a leak would"),
    "keep": Break(
        "A", "objects", "every answer is kept, in a list of its own (2 objects a call)"
    ),
    "truncate": Break(
        "B",
        "truncated",
        "the stream wrapper swallows a mid-stream error and returns the "
        "parts so far as the answer",
    ),
    "no-retry": Break(
        "B", "typed", "the client gets Retry.never(), so 503s reach the caller"
    ),
    "no-faults": Break(
        "B", "faults", "B's emulator starts without its --fault options"
    ),
    "no-kill": Break("C", "failover", "host 2 is not killed"),
}
HOARD: list[Any] = []  # --break grow, --break keep
LEAKED: list[AsyncClient] = []  # --break leak: referenced, so never collected


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


def open_fds() -> tuple[int, int]:
    """(open file descriptors, of which sockets) of this process (Linux)."""
    fds = sockets = 0
    for name in os.listdir("/proc/self/fd"):
        fds += 1
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                sockets += 1
        except OSError:
            pass  # the descriptor listdir itself used, closed by now
    return fds, sockets


_RETRY_CAUSE = re.compile(r"retry \d+ of \d+ in [\d.]+ s after (\w+)")


class _CountRetries(logging.Handler):
    """Counts the retry lines (INFO) of the ``ollama_async`` logger by the
    error retried, silently."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.causes: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        match = _RETRY_CAUSE.search(record.getMessage())
        self.causes[match.group(1) if match else "other"] += 1


# -- requests and their expected answers -------------------------------------------


@dataclass(slots=True)
class Req:
    """One call of the soak, and what it must return."""

    i: int
    kind: str
    model: str
    prompt: str
    think: bool | None = None
    cut: str = ""  # "", "mid" or "final": the emulator cuts this stream
    texts: tuple[str, ...] = ()  # expected text, one per host variant
    tokens: tuple[int, ...] = ()
    digest: bytes = b""  # expected embedding (blake2b of its float64 bytes)


@dataclass(slots=True)
class Answer:
    text: str = ""
    done: bool = False
    eval_count: int | None = None
    digest: bytes = b""
    names: tuple[str, ...] = ()


def _digest(vector: Iterable[float]) -> bytes:
    return hashlib.blake2b(array.array("d", vector).tobytes(), digest_size=16).digest()


class Oracle:
    """Expected answers, computed the way the emulator makes them.

    FakeOllama's answers are a pure function of the request: the text of a
    chat or generate call is ``words(rng, response_tokens)`` with ``rng``
    seeded by the model and the request's messages or prompt (``make_plan`` in
    ``ollama_async/testing/_plans.py``, seeds in ``_inference.py``); an
    embedding is ``embedding(model, text, dim)``. This mirrors those seeds and
    calls the emulator's generator. If either side changes, the preflight
    (quiet sequential calls) catches it and the soak exits 2 rather than
    blaming the client.
    """

    def __init__(self) -> None:
        models = FakeOllama().models  # never started: only its model registry
        self.names = tuple(sorted(models))
        self._key = {}
        for name in (TEXT_MODEL, EMBED_MODEL, CUT_MID_MODEL, CUT_FINAL_MODEL):
            model = models.find(name)
            assert model is not None, name
            self._key[name] = model.key
        embedder = models.find(EMBED_MODEL)
        assert embedder is not None
        self.dim = embedder.embedding_length
        self._embeds: dict[str, bytes] = {}

    def text(self, req: Req, tokens: int) -> str:
        if req.kind.startswith("chat"):
            seed: list[Any] = [
                [{"role": "user", "content": req.prompt}],
                None,
                req.think,
                [],
            ]
        else:
            seed = [req.prompt, None, None, None, req.think, False]
        rng = emulator_generation.rng_for(
            self._key[req.model], msgspec.json.encode(seed), None
        )
        return "".join(emulator_generation.words(rng, tokens))

    def embedding(self, text: str) -> bytes:
        digest = self._embeds.get(text)
        if digest is None:
            vector = emulator_generation.embedding(
                self._key[EMBED_MODEL], text, self.dim
            )
            digest = self._embeds[text] = _digest(vector)
        return digest


def plan(oracle: Oracle, n: int, tokens: tuple[int, ...], *, cuts: bool) -> list[Req]:
    """Requests 0..n-1 with their expected answers. With ``cuts``, streams
    whose id falls in the 4th or 8th block of 25 of every 250 go to a model
    the emulator cuts."""
    reqs = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        prompt = f"Soak request {i} ({kind}): say something."
        req = Req(i, kind, TEXT_MODEL, prompt)
        if kind == "embed":
            req.model = EMBED_MODEL
            req.digest = oracle.embedding(prompt)
        elif kind != "list":
            block = (i // 25) % 10
            if cuts and kind in STREAMS and block in (3, 7):
                req.cut = "mid" if block == 3 else "final"
                req.model = CUT_MID_MODEL if block == 3 else CUT_FINAL_MODEL
                if req.model == CUT_FINAL_MODEL:
                    req.think = False  # a thinking model: keep the text plain
            req.tokens = tokens
            req.texts = tuple(oracle.text(req, t) for t in tokens)
        reqs.append(req)
    return reqs


def owners(reqs: list[Req]) -> dict[str | bytes, int]:
    """Expected answer -> the request it belongs to (cross-delivery lookup)."""
    out: dict[str | bytes, int] = {}
    for req in reqs:
        for text in req.texts:
            out[text] = req.i
        if req.digest:
            out[req.digest] = req.i
    return out


def judge(
    req: Req, answer: Answer, owner: dict[str | bytes, int], names: tuple[str, ...]
) -> tuple[str, int]:
    """(outcome, host variant) of a call that returned normally."""
    if req.kind == "list":
        return ("ok" if answer.names == names else "wrong"), -1
    if req.kind == "embed":
        if answer.digest == req.digest:
            return "ok", -1
        other = owner.get(answer.digest, req.i)
        return ("cross" if other != req.i else "wrong"), -1
    for host, text in enumerate(req.texts):
        if (
            answer.text == text
            and answer.done
            and answer.eval_count == req.tokens[host]
        ):
            return ("uncut" if req.cut else "ok"), host
    if owner.get(answer.text, req.i) != req.i:
        return "cross", -1
    if any(text.startswith(answer.text) for text in req.texts):
        return "truncated", -1  # a prefix, or all of it without the final line
    return "wrong", -1


# -- calling -----------------------------------------------------------------------


async def _consume(
    stream: Any, piece: Callable[[Any], str], *, accept_cut: bool
) -> Answer:
    """Read a whole stream. A stream that ends without an exception is taken
    as complete: whether it really is, is for `judge` to find out."""
    parts: list[str] = []
    last: Any = None
    try:
        async with stream as chunks:
            async for part in chunks:
                parts.append(piece(part) or "")
                last = part
    except OllamaError:
        if not (accept_cut and last is not None):
            raise
        # --break truncate: what a careless wrapper does.
    if last is None:
        return Answer()
    return Answer("".join(parts), bool(last.done), last.eval_count)


async def ask(client: AsyncClient, req: Req, *, accept_cut: bool = False) -> Answer:
    kind = req.kind
    messages = [{"role": "user", "content": req.prompt}]
    if kind == "chat":
        r = await client.chat(req.model, messages=messages, think=req.think)
        return Answer(r.message.content or "", bool(r.done), r.eval_count)
    if kind == "generate":
        g = await client.generate(req.model, prompt=req.prompt, think=req.think)
        return Answer(g.response or "", bool(g.done), g.eval_count)
    if kind == "chat-stream":
        stream: Any = client.chat(
            req.model, messages=messages, think=req.think, stream=True
        )
        return await _consume(
            stream, lambda p: p.message.content, accept_cut=accept_cut
        )
    if kind == "generate-stream":
        stream = client.generate(
            req.model, prompt=req.prompt, think=req.think, stream=True
        )
        return await _consume(stream, lambda p: p.response, accept_cut=accept_cut)
    if kind == "embed":
        e = await client.embed(req.model, input=req.prompt)
        vectors = e.embeddings or []
        digest = _digest(vectors[0]) if len(vectors) == 1 else b"?"
        return Answer(digest=digest)
    if kind == "list":
        listing = await client.list()
        return Answer(names=tuple(sorted(m.model or "" for m in listing.models)))
    raise AssertionError(kind)


# -- driving -----------------------------------------------------------------------


@dataclass
class Run:
    """What one scenario saw."""

    name: str
    requests: int
    brk: str = ""
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: array.array[float] = field(default_factory=lambda: array.array("d"))
    finished: array.array[float] = field(default_factory=lambda: array.array("d"))
    outcomes: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicates: int = 0
    typed: Counter[str] = field(default_factory=Counter)  # "Kind: ErrorType"
    typed_ids: list[int] = field(default_factory=list)
    untyped: Counter[str] = field(default_factory=Counter)
    must_cut: int = 0
    cut_ids: set[int] = field(default_factory=set)
    cut_typed: int = 0
    typed_busy: int = 0  # ServerBusyError raised to the caller
    typed_broken: int = 0  # other errors raised on calls that were not cut
    hosts: list[int] = field(default_factory=list)  # host variant per id, -1
    retries: Counter[str] = field(default_factory=Counter)
    calls: int = 0  # requests the soak made on purpose (extra ones included)
    served: int | None = None
    server_cpu: float | None = None
    warm: int = 0
    rss_warm: int = 0
    rss_end: int = 0
    rss_peak: int = 0
    objects_warm: int = 0
    objects_end: int = 0
    fds: tuple[int, int] = (0, 0)
    fds_after: tuple[int, int] = (0, 0)
    failover: Failover | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def quantile(self, q: int) -> float:
        """The q-th percentile latency in milliseconds."""
        if len(self.latencies) < 2:
            return 0.0
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000

    @property
    def retry_total(self) -> int:
        return sum(self.retries.values())

    @property
    def retried_busy(self) -> int:
        return self.retries["ServerBusyError"]

    @property
    def retried_broken(self) -> int:
        return self.retry_total - self.retried_busy

    @property
    def growth(self) -> int:
        return self.rss_end - self.rss_warm

    @property
    def leaked_fds(self) -> int:
        return self.fds_after[0] - self.fds[0]

    @property
    def leaked_sockets(self) -> int:
        return self.fds_after[1] - self.fds[1]

    def faults_seen(self) -> tuple[int, int]:
        """(503s, broken connections) outside the cut streams, whether
        retried (logged) or raised to the caller."""
        busy = self.retried_busy + self.typed_busy
        return busy, self.retried_broken + self.typed_broken

    def unexpected_typed(self) -> list[int]:
        """Ids of typed errors the scenario does not allow."""
        allowed = self.cut_ids
        if self.failover is not None:
            allowed = allowed | self.failover.stream_in_flight
        return [i for i in self.typed_ids if i not in allowed]


@dataclass
class Failover:
    """Scenario C's results beyond the run."""

    urls: list[str]
    killed: bool
    kill_at: int
    in_flight: set[int]
    stream_in_flight: set[int]
    before: Counter[int]
    after: Counter[int]
    victim_after_outside: int
    detect: float | None
    exited: float | None
    settle: float
    longest_gap: float
    failures_at_end: int
    served: list[int | None] = field(default_factory=list)


def _target(n: int, kind: str = "chat") -> int:
    """The id a --break acts on: the first ``kind`` call past a third of the run."""
    i = n // 3
    while KINDS[i % len(KINDS)] != kind:
        i += 1
    return i


async def drive(
    run: Run,
    client: AsyncClient,
    reqs: list[Req],
    names: tuple[str, ...],
    concurrency: int,
    *,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> None:
    """Run every request on ``concurrency`` workers, each taking the next id;
    judge each call and record its outcome against its id."""
    n = len(reqs)
    brk = run.brk
    owner = owners(reqs)
    recorded = bytearray(n)
    run.latencies = array.array("d", bytes(8 * n))
    run.finished = array.array("d", bytes(8 * n))
    run.hosts = [-1] * n
    run.cut_ids = {r.i for r in reqs if r.cut}
    run.must_cut = len(run.cut_ids)
    # Warm-up fills the pool: at least twice the concurrency when there are
    # calls enough, else the second pipeline opens connections the first did
    # not and they count as growth.
    run.warm = max(1, min(1000, n // 5), min(2 * concurrency, n // 2))
    target = _target(n) if n > 50 else 0
    partner = target + 5  # the next chat, for --break swap
    swap: dict[int, asyncio.Future[Answer]] = {}
    if brk == "swap":
        loop = asyncio.get_running_loop()
        swap = {target: loop.create_future(), partner: loop.create_future()}
    handler = _CountRetries()
    logger = logging.getLogger("ollama_async")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    propagate, logger.propagate = logger.propagate, False
    run.rss_peak = rss()
    next_id = 0
    done = 0

    def record(i: int, outcome: str) -> None:
        recorded[i] = min(recorded[i] + 1, 255)
        run.outcomes[outcome] += 1

    async def worker(limit: int) -> None:
        nonlocal next_id, done
        while next_id < limit:
            i = next_id
            next_id += 1
            req = reqs[i]
            if on_start is not None:
                on_start(i)
            start = time.perf_counter()
            answer: Answer | None = None
            try:
                answer = await ask(client, req, accept_cut=brk == "truncate")
                if i == target and brk == "untyped":
                    raise ConnectionResetError("escaped the wrapper (--break)")
                if i == target and brk == "extra":
                    await client.list()  # not counted in run.calls
                if i == target and brk == "corrupt":
                    answer.text = answer.text.replace(" ", "  ", 1)
                if i in swap:
                    swap[i].set_result(answer)
                    other = partner if i == target else target
                    answer = await asyncio.wait_for(swap[other], 60)
                outcome, host = judge(req, answer, owner, names)
                run.hosts[i] = host
            except OllamaError as exc:
                outcome = "typed"
                run.typed[f"{req.kind}: {type(exc).__name__}"] += 1
                run.typed_ids.append(i)
                if req.cut:
                    run.cut_typed += 1
                elif isinstance(exc, ServerBusyError):
                    run.typed_busy += 1
                else:
                    run.typed_broken += 1
            except Exception as exc:
                outcome = "untyped"
                run.untyped[f"{req.kind}: {type(exc).__name__}"] += 1
            end = time.perf_counter()
            run.latencies[i] = end - start
            run.finished[i] = end
            if not (i == target and brk == "drop"):
                record(i, outcome)
            if i == target and brk == "duplicate":
                record(i, outcome)
            if brk == "grow":
                HOARD.append(b"\xa5" * 16384)
            if brk == "keep" and answer is not None:
                HOARD.append([answer])
            done += 1
            if done % 250 == 0:
                run.rss_peak = max(run.rss_peak, rss())
            if on_done is not None:
                on_done(i, done)

    async def sampler() -> None:
        while True:
            await asyncio.sleep(0.1)
            run.rss_peak = max(run.rss_peak, rss())

    def mark() -> tuple[int, int]:
        # Cyclic garbage (an exception and its traceback's frames) waits for a
        # full collection: count what is still alive.
        gc.collect()
        size = rss()
        run.rss_peak = max(run.rss_peak, size)
        return size, len(gc.get_objects())

    sampling = asyncio.create_task(sampler())
    cpu = time.process_time()
    start = time.perf_counter()
    try:
        # Two pipelines, the second started when the first has drained, so
        # both memory marks see a warm pool, no call in flight and no worker.
        await asyncio.gather(*(worker(run.warm) for _ in range(concurrency)))
        run.rss_warm, run.objects_warm = mark()
        await asyncio.gather(*(worker(n) for _ in range(concurrency)))
        run.rss_end, run.objects_end = mark()
    finally:
        run.seconds = time.perf_counter() - start
        run.cpu = time.process_time() - cpu
        sampling.cancel()
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(level)
    run.retries = handler.causes
    run.calls += n
    run.lost = recorded.count(0)
    run.duplicates = sum(1 for c in recorded if c > 1)


async def _settled_fds(before: tuple[int, int]) -> tuple[int, int]:
    """Open fds after a close, given up to a second for sockets to close."""
    now = open_fds()
    for _ in range(20):
        if now[0] <= before[0] and now[1] <= before[1]:
            break
        await asyncio.sleep(0.05)
        now = open_fds()
    return now


# -- scenarios ---------------------------------------------------------------------


async def _one_host(
    run: Run, url: str, reqs: list[Req], names: tuple[str, ...], concurrency: int
) -> None:
    retry = Retry.never() if run.brk == "no-retry" else SOAK_RETRY
    run.fds = open_fds()
    if run.brk == "leak":
        leaked = AsyncClient(url)
        await leaked.list()
        run.calls += 1
        LEAKED.append(leaked)
    async with AsyncClient(
        url, limits=Limits(max_connections=concurrency), retry=retry
    ) as client:
        await drive(run, client, reqs, names, concurrency)
    run.fds_after = await _settled_fds(run.fds)


def one_host(
    name: str,
    oracle: Oracle,
    n: int,
    concurrency: int,
    brk: str,
    *,
    faults: bool,
) -> Run:
    """A (``faults=False``) or B: one emulator, mixed calls."""
    args: list[str] = ["--response-tokens", str(RESPONSE_TOKENS)]
    if faults and brk != "no-faults":
        for spec in B_FAULTS:
            args += ["--fault", spec]
        args += ["--fault-seed", str(B_FAULT_SEED)]
    reqs = plan(oracle, n, (RESPONSE_TOKENS,), cuts=faults)
    run = Run(name, n, brk)
    emulator = Emulator(*args)
    try:
        emulator.wait_ready()
        cpu = emulator.cpu_seconds()
        asyncio.run(_one_host(run, emulator.url, reqs, oracle.names, concurrency))
        end_cpu = emulator.cpu_seconds()
        if cpu is not None and end_cpu is not None:
            run.server_cpu = end_cpu - cpu
    finally:
        emulator.stop()
    run.served = emulator.served
    return run


async def _failover(
    run: Run,
    emulators: list[Emulator],
    reqs: list[Req],
    names: tuple[str, ...],
    concurrency: int,
) -> None:
    n = len(reqs)
    kill_at = n // 2
    urls = [e.url for e in emulators]
    started: set[int] = set()
    in_flight: set[int] = set()
    killed_at = 0.0
    detected_at: float | None = None
    exited_at: float | None = None
    run.fds = open_fds()

    async with MultiHostClient(
        urls, limits=Limits(max_connections=concurrency), retry=SOAK_RETRY
    ) as client:
        victim_state = client.hosts[VICTIM]

        async def watch() -> None:
            # Poll until the process is gone and the client has taken it out.
            nonlocal detected_at, exited_at
            while detected_at is None or exited_at is None:
                now = time.perf_counter()
                if exited_at is None and not emulators[VICTIM].alive():
                    exited_at = now
                if detected_at is None and victim_state.failures:
                    detected_at = now
                await asyncio.sleep(0.001)

        watching: asyncio.Task[None] | None = None

        def on_done(i: int, done: int) -> None:
            nonlocal killed_at, watching
            started.discard(i)
            if done == kill_at:
                if run.brk != "no-kill":
                    emulators[VICTIM].kill()
                killed_at = time.perf_counter()
                in_flight.update(started)
                watching = asyncio.get_running_loop().create_task(watch())

        try:
            await drive(
                run,
                client,
                reqs,
                names,
                concurrency,
                on_start=started.add,
                on_done=on_done,
            )
        finally:
            if watching is not None:
                watching.cancel()
        failures_at_end = victim_state.failures
    run.fds_after = await _settled_fds(run.fds)

    before: Counter[int] = Counter()
    after: Counter[int] = Counter()
    victim_after_outside = 0
    for i, host in enumerate(run.hosts):
        if host < 0:
            continue
        late = run.finished[i] > killed_at
        (after if late else before)[host] += 1
        if late and host == VICTIM and i not in in_flight:
            victim_after_outside += 1
    after_kill = sorted(t for t in run.finished if t > killed_at)
    gaps = [b - a for a, b in zip([killed_at, *after_kill], after_kill, strict=False)]
    affected = [run.finished[i] for i in in_flight]
    run.failover = Failover(
        urls=urls,
        killed=emulators[VICTIM].killed,
        kill_at=kill_at,
        in_flight=in_flight,
        stream_in_flight={i for i in in_flight if reqs[i].kind in STREAMS},
        before=before,
        after=after,
        victim_after_outside=victim_after_outside,
        detect=None if detected_at is None else detected_at - killed_at,
        exited=None if exited_at is None else exited_at - killed_at,
        settle=max(affected, default=killed_at) - killed_at,
        longest_gap=max(gaps, default=0.0),
        failures_at_end=failures_at_end,
    )


def failover(oracle: Oracle, n: int, concurrency: int, brk: str) -> Run:
    """C: three emulators behind MultiHostClient; the second is SIGKILLed when
    half of the requests have been answered."""
    reqs = plan(oracle, n, HOST_TOKENS, cuts=False)
    run = Run("C", n, brk)
    emulators = [
        Emulator("--response-tokens", str(t), "--tokens-per-second", str(HOST_PACE))
        for t in HOST_TOKENS
    ]
    try:
        for emulator in emulators:
            emulator.wait_ready()
        asyncio.run(_failover(run, emulators, reqs, oracle.names, concurrency))
    finally:
        for emulator in emulators:
            emulator.stop()
    assert run.failover is not None
    run.failover.served = [e.served for e in emulators]
    return run


async def _preflight(url: str, oracle: Oracle) -> list[str]:
    """One quiet, sequential call of every kind and model through the client,
    judged like the soak's: any mismatch means the oracle is out of date."""
    reqs = plan(oracle, 250, (RESPONSE_TOKENS,), cuts=True)
    seen: set[tuple[str, str]] = set()
    sample = []
    for req in reqs:
        if (req.kind, req.model) not in seen:
            seen.add((req.kind, req.model))
            sample.append(req)
    owner = owners(reqs)
    problems = []
    async with AsyncClient(url, retry=Retry.never()) as client:
        for req in sample:
            try:
                answer = await ask(client, req)
                outcome, _ = judge(req, answer, owner, oracle.names)
            except Exception as exc:
                outcome, answer = f"{type(exc).__name__}: {exc}", Answer()
            if outcome not in ("ok", "uncut"):
                expected = req.texts[0] if req.texts else req.digest.hex()
                problems.append(
                    f"{req.kind} on {req.model}: {outcome}; expected "
                    f"{expected!r}, got {answer.text or answer.names!r}"
                )
    return problems


def preflight(oracle: Oracle) -> list[str]:
    emulator = Emulator("--response-tokens", str(RESPONSE_TOKENS))
    try:
        emulator.wait_ready()
        return asyncio.run(_preflight(emulator.url, oracle))
    finally:
        emulator.stop()


# -- checks ------------------------------------------------------------------------


@dataclass
class Check:
    scenario: str
    id: str
    ok: bool
    text: str


def checks_for(run: Run, rss_limit: float) -> list[Check]:
    s = run.name
    out: list[Check] = []

    def expect(check_id: str, ok: bool, text: str) -> None:
        out.append(Check(s, check_id, ok, f"{s}: {text}"))

    o = run.outcomes
    expect(
        "answered",
        run.lost == 0,
        f"every request id has an outcome (lost: {run.lost})",
    )
    expect(
        "duplicates",
        run.duplicates == 0,
        f"no request id has two outcomes (duplicated: {run.duplicates})",
    )
    expect("wrong", o["wrong"] == 0, f"no wrong answer ({o['wrong']})")
    expect(
        "truncated",
        o["truncated"] == 0,
        f"no truncated answer accepted as complete ({o['truncated']})",
    )
    expect(
        "cross",
        o["cross"] == 0,
        f"no answer delivered to another request ({o['cross']})",
    )
    expect(
        "untyped",
        not run.untyped,
        f"no exception outside OllamaError ({dict(run.untyped) or 0})",
    )
    unexpected = run.unexpected_typed()
    if s == "A":
        expect(
            "typed",
            not run.typed_ids,
            f"no typed error without faults ({dict(run.typed) or 0})",
        )
    elif s == "B":
        expect(
            "typed",
            not unexpected,
            f"only the streams the emulator cut failed ({run.cut_typed:,} of "
            f"{run.must_cut:,} cut streams raised a typed error; other calls "
            f"failed: {len(unexpected)})",
        )
        busy, broken = run.faults_seen()
        expect(
            "faults",
            o["uncut"] == 0 and busy > 0 and broken > 0,
            f"the faults fired: streams meant to be cut that arrived whole "
            f"{o['uncut']}, 503s {busy:,}, connections dropped before a reply "
            f"{broken:,} (retried or raised)",
        )
    elif run.failover is not None:
        f = run.failover
        expect(
            "typed",
            not unexpected,
            f"typed errors only on streams in flight at the kill "
            f"({len(run.typed_ids)} errors, {len(unexpected)} outside the "
            f"{len(f.stream_in_flight)} streams in flight)",
        )
    if s in ("A", "B"):
        expected = run.calls + run.retry_total
        expect(
            "wire",
            run.served == expected,
            f"the emulator saw calls + logged retries ({run.served} = "
            f"{run.calls:,} + {run.retry_total:,})",
        )
    expect(
        "fds",
        run.leaked_fds <= 0 and run.leaked_sockets <= 0,
        f"no fd or socket left open after close (fds {run.fds[0]} → "
        f"{run.fds_after[0]}, sockets {run.fds[1]} → {run.fds_after[1]})",
    )
    expect(
        "rss",
        run.growth <= rss_limit * MiB,
        f"RSS growth after warm-up ≤ {rss_limit:g} MiB ({run.growth / MiB:+.1f} MiB,"
        f" request {run.warm:,} → {run.requests:,})",
    )
    objects = run.objects_end - run.objects_warm
    expect(
        "objects",
        objects <= OBJECTS_LIMIT,
        f"GC-tracked objects after the last call ≤ after warm-up + "
        f"{OBJECTS_LIMIT:,} ({objects:+,})",
    )
    if run.failover is not None:
        f = run.failover
        expect(
            "failover",
            f.killed
            and f.exited is not None
            and sum(f.after.values()) > 0
            and f.victim_after_outside == 0,
            f"host 2 killed and gone ({'yes' if f.killed and f.exited else 'no'}),"
            f" survivors answered after the kill ({sum(f.after.values()):,}), "
            f"host 2 answered nothing after it that was not already in flight "
            f"({f.victim_after_outside})",
        )
    return out


# -- break proofs ------------------------------------------------------------------


@dataclass
class Proof:
    name: str
    command: str
    status: int
    failed: list[str]
    lines: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        brk = BREAKS[self.name]
        return self.status == 1 and f"{brk.scenario}:{brk.fails}" in self.failed


_FAIL_LINE = re.compile(r"^FAIL \[(\w+:[\w-]+)\]")


def prove_breaks(requests: int, concurrency: int, rss_limit: float) -> list[Proof]:
    proofs = []
    for name, brk in BREAKS.items():
        args = [
            "--break",
            name,
            "--scenarios",
            brk.scenario,
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
            "--rss-limit-mib",
            f"{rss_limit:g}",
        ]
        command = "python -m benchmarks.soak " + " ".join(args)
        print(f"  --break {name} ...", flush=True)
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.soak", *args, "--no-prove-breaks"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("FAIL ")]
        failed = [m.group(1) for ln in lines if (m := _FAIL_LINE.match(ln))]
        if done.returncode not in (0, 1):
            lines.append(f"(stderr) {done.stderr.strip()[-500:]}")
        proofs.append(
            Proof(
                name,
                command,
                done.returncode,
                failed,
                lines,
                time.perf_counter() - began,
            )
        )
    return proofs


# -- report ------------------------------------------------------------------------


def _mib(size: int) -> str:
    return f"{size / MiB:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    out = []
    for k, row in enumerate([header, *rows]):
        out.append(
            "  ".join(
                cell.ljust(w) if c == 0 else cell.rjust(w)
                for c, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _server_share(run: Run) -> str:
    if run.server_cpu is None or not run.seconds:
        return "n/a"
    return f"{100 * run.server_cpu / run.seconds:.0f}%"


def summary_rows(runs: list[Run]) -> tuple[list[str], list[list[str]]]:
    header = ["measure", *(r.name for r in runs)]

    def row(label: str, value: Callable[[Run], str]) -> list[str]:
        return [label, *(value(r) for r in runs)]

    def served(r: Run) -> str:
        if r.failover is not None:
            return " + ".join(
                "killed" if s is None else f"{s:,}" for s in r.failover.served
            )
        return "n/a" if r.served is None else f"{r.served:,}"

    rows = [
        row("calls", lambda r: f"{r.requests:,}"),
        row("answered exactly (ok)", lambda r: f"{r.outcomes['ok']:,}"),
        row("wrong", lambda r: str(r.outcomes["wrong"])),
        row("truncated but accepted", lambda r: str(r.outcomes["truncated"])),
        row("cross-delivered", lambda r: str(r.outcomes["cross"])),
        row("lost / duplicated ids", lambda r: f"{r.lost} / {r.duplicates}"),
        row("untyped errors", lambda r: str(sum(r.untyped.values()))),
        row(
            "typed errors (expected)",
            lambda r: f"{len(r.typed_ids) - len(r.unexpected_typed()):,}",
        ),
        row("typed errors (unexpected)", lambda r: str(len(r.unexpected_typed()))),
        row("streams the emulator was told to cut", lambda r: f"{r.must_cut:,}"),
        row("cut streams that arrived whole", lambda r: str(r.outcomes["uncut"])),
        row(
            "retries logged (503 / broken)",
            lambda r: f"{r.retried_busy:,} / {r.retried_broken:,}",
        ),
        row("server requests", served),
        row("leaked fds / sockets", lambda r: f"{r.leaked_fds} / {r.leaked_sockets}"),
        row("RSS after warm-up MiB", lambda r: _mib(r.rss_warm)),
        row("RSS at end MiB", lambda r: _mib(r.rss_end)),
        row("RSS growth", lambda r: f"{r.growth / MiB:+.1f} MiB"),
        row("peak RSS MiB", lambda r: _mib(r.rss_peak)),
        row(
            "GC-tracked objects growth",
            lambda r: f"{r.objects_end - r.objects_warm:+,}",
        ),
        row("calls/s", lambda r: f"{r.rate:,.0f}"),
        row(
            "latency p50 / p99 / max ms",
            lambda r: (
                f"{r.quantile(50):.0f} / {r.quantile(99):.0f} / "
                f"{max(r.latencies, default=0) * 1000:.0f}"
            ),
        ),
        row(
            "client CPU µs/call",
            lambda r: f"{r.cpu / r.requests * 1e6:.0f}" if r.requests else "n/a",
        ),
        row("emulator CPU", _server_share),
    ]
    return header, rows


def failover_rows(f: Failover, run: Run) -> list[list[str]]:
    hosts = []
    for host in range(len(f.urls)):
        name = f"{host + 1}" + (" (killed)" if host == VICTIM else "")
        served = f.served[host] if host < len(f.served) else None
        hosts.append(
            [
                name,
                f"{f.before[host]:,}",
                f"{f.after[host]:,}",
                "killed (no count)" if served is None else f"{served:,}",
            ]
        )
    return hosts


def failover_facts(f: Failover) -> list[list[str]]:
    def ms(value: float | None) -> str:
        return "not seen" if value is None else f"{value * 1000:.1f} ms"

    return [
        [
            "calls in flight at the kill (streams)",
            f"{len(f.in_flight)} ({len(f.stream_in_flight)})",
        ],
        ["kill → process gone (kernel)", ms(f.exited)],
        ["kill → host taken out by the client", ms(f.detect)],
        ["kill → last call in flight at the kill finished", ms(f.settle)],
        ["longest pause between answers after the kill", ms(f.longest_gap)],
        ["consecutive failures of the killed host at the end", str(f.failures_at_end)],
    ]


def typed_rows(runs: list[Run]) -> list[list[str]]:
    keys = sorted({k for r in runs for k in r.typed})
    return [[k, *(f"{r.typed[k]:,}" for r in runs)] for k in keys]


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
        ("aiohttp", aiohttp.__version__),
        ("msgspec", msgspec.__version__),
        ("event loop", "asyncio default (no uvloop)"),
        ("load average at start (1/5/15 min)", _loadavg()),
    ]


def _loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def terminal(runs: list[Run], checks: list[Check], proofs: list[Proof]) -> str:
    out = []
    if runs:
        header, rows = summary_rows(runs)
        out += ["", _text_table(header, rows)]
        typed = typed_rows(runs)
        if typed:
            out += ["", _text_table(["typed errors", *(r.name for r in runs)], typed)]
        for run in runs:
            if run.failover is not None:
                f = run.failover
                out += [
                    "",
                    _text_table(
                        ["C host", "answers before kill", "after kill", "requests"],
                        failover_rows(f, run),
                    ),
                    _text_table(["C failover", ""], failover_facts(f)),
                ]
    if proofs:
        out += ["", "Break proofs (each must fail its check, exit status 1):"]
        for p in proofs:
            brk = BREAKS[p.name]
            mark = "PASS" if p.ok else "FAIL"
            out.append(
                f"{mark} [proof:{p.name}] --break {p.name} → exit {p.status}, "
                f"failed {', '.join(p.failed) or 'nothing'} (wanted "
                f"{brk.scenario}:{brk.fails})"
            )
    out += ["", "Checks:"]
    out += [
        f"{'PASS' if c.ok else 'FAIL'} [{c.scenario}:{c.id}] {c.text}" for c in checks
    ]
    return "\n".join(out)


def reading(runs: list[Run]) -> list[str]:
    notes = []
    for run in runs:
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(run.typed.items()))
        if run.name == "B":
            busy, broken = run.faults_seen()
            accepted = run.outcomes["truncated"] + run.outcomes["uncut"]
            raised = len(run.unexpected_typed())
            notes.append(
                f"- B: the {len(run.typed_ids):,} typed errors are the "
                f"{run.must_cut:,} streams the emulator cut ({kinds}): half "
                f"after {CUT_MID_AFTER} lines, half with all of the text "
                "received and only the final `done` line missing; "
                f"{accepted or 'none'} returned as an answer. Of the {busy:,} "
                f"503s and {broken:,} connections dropped before a reply, "
                f"{raised or 'none'} reached the caller: the client retried "
                "them. The *wire* check compares the emulator's request count "
                "with the calls and the logged retries."
            )
        if run.failover is not None:
            f = run.failover
            notes.append(
                f"- C: the emulators pace their answers ({HOST_PACE} tokens/s, "
                f"~{1000 * HOST_TOKENS[-1] // HOST_PACE} ms a stream) so that "
                f"the kill catches streams mid-way: {len(run.typed_ids)} did "
                f"and raised a typed error ({kinds or 'none'}). The other "
                f"{len(f.in_flight) - len(run.typed_ids)} calls in flight at "
                "the kill were answered, by another host when host 2 had not "
                "started sending; host 2's answers after the kill are replies "
                "it had written before it died."
            )
    notes.append(
        "- Memory: the live objects do not grow. B's RSS grows more than A's "
        "(connections dropped and made again, exceptions) while its object "
        "count does not: memory the allocator keeps, not objects alive. It "
        "levels off rather than growing with the calls (+4.1 MiB at 10,000 "
        "calls, +4.9 MiB at 20,000, measured the same way when this soak was "
        "written)."
    )
    return ["### Reading the numbers", "", *notes, ""]


def render(
    args: argparse.Namespace,
    runs: list[Run],
    checks: list[Check],
    proofs: list[Proof],
    elapsed: float,
) -> str:
    n = args.requests
    out = [
        "# Soak test",
        "",
        "Generated by `python -m benchmarks.soak` (issues 6 and 14). Do not edit "
        "by hand: rerun it (a few minutes; `--no-prove-breaks` skips the break "
        "proofs).",
        "",
        "## Machine",
        "",
        _table(["", ""], [[k, v] for k, v in machine()]),
        "",
        "## What it checks",
        "",
        f"{n:,} calls per scenario at concurrency {args.concurrency}, run by "
        f"{args.concurrency} worker tasks that each take the next request id "
        f"(a bounded pipeline), through one client with "
        f"`Limits(max_connections={args.concurrency})` and `{SOAK_RETRY_TEXT}`. "
        "The mix repeats every 25 ids: 5 each of `chat`, `generate`, streamed "
        "`chat`, streamed `generate`, 3 `embed`, 2 `list`. Every emulator is a "
        "separate `python -m ollama_async.testing --port 0` process, so the "
        "client's RSS and CPU are its own; client and emulators share the "
        f"machine's {os.cpu_count()} cores.",
        "",
        "**Every answer is verified.** Each request has its own prompt; the "
        "emulator's answers are a pure function of the request, so the soak "
        "computes the expected text (and embedding) of every request before "
        "the run with the emulator's own generator (`Oracle`; a preflight of "
        "quiet sequential calls proves the oracle right first, else exit 2). "
        "A call ends in exactly one outcome, recorded against its id:",
        "",
        "- *ok*: the text equals the expected one exactly, the last part says "
        "`done` and its `eval_count` is the expected token count (embed: the "
        "vector's bytes; list: the model names);",
        "- *cross-delivered*: the answer is exactly another request's;",
        "- *truncated but accepted*: a strict prefix of the expected text, or "
        "all of it without the final `done` line, returned without an error;",
        "- *wrong*: anything else returned without an error;",
        "- *typed error*: an `ollama_async.OllamaError`; *untyped error*: any "
        "other exception.",
        "",
        "An id with no outcome is *lost*, one with two *duplicated*.",
        "",
        "- **A**: one emulator, no faults. Every call must answer exactly, "
        "without any error.",
        "- **B**: the emulator started with "
        + ", ".join(f"`--fault '{f}'`" for f in B_FAULTS)
        + f" and `--fault-seed {B_FAULT_SEED}`. The first two cut every stream "
        f"sent to `{CUT_MID_MODEL}` after {CUT_MID_AFTER} lines and every "
        f"stream sent to `{CUT_FINAL_MODEL}` just before its final `done` line "
        "(all of the text has arrived); the soak sends one stream in five to "
        "these models, so it knows which streams must fail. Each of those must "
        "raise a typed error; every other call must answer exactly, through "
        "the retries of 503s and of connections dropped before any reply "
        "(both counted from the warnings on the `ollama_async` logger, by the "
        "error retried).",
        "- **C**: `MultiHostClient` over three emulators answering with "
        f"{'/'.join(map(str, HOST_TOKENS))} tokens (so the verified answer "
        "tells which host gave it); host 2 gets SIGKILL when half of the calls "
        "are answered. Typed errors are allowed only for streams in flight at "
        "the kill (a stream that has yielded a part is never replayed); other "
        "calls must fail over. Host 2 may answer after the kill only calls "
        "that were already in flight.",
        "- *wire* (A, B): the emulator's own request count (printed on exit) "
        "must equal the calls made plus the retries logged: a hidden resend "
        "or an unlogged retry fails it.",
        "- *fds*: `/proc/self/fd` counted (and its sockets) before the client "
        "is created and after it is closed (given up to 1 s to settle).",
        "- *rss*, *objects*: the calls run as two pipelines: the first "
        "max(min(1,000, n/5), min(2 * concurrency, n/2)) ids (warm-up: the "
        "pool fills, caches load), then the rest. After each has drained "
        "(no call in flight, no worker task) a full `gc.collect()`, then RSS "
        "(`/proc/self/statm`) and "
        "`len(gc.get_objects())`. RSS may grow by at most "
        f"{args.rss_limit_mib:g} MiB and the objects by at most "
        f"{OBJECTS_LIMIT:,}, whatever the number of calls: a leak of 1 KiB or "
        "of one object per call fails them at 10,000 calls.",
        "",
        "## Running it",
        "",
        "```sh",
        "python -m benchmarks.soak              # A, B, C at 10,000 calls, the "
        "break proofs; writes this file",
        "python -m benchmarks.soak --no-write   # print only",
        "python -m benchmarks.soak --scenarios B --requests 2000 --no-prove-breaks",
        "python -m benchmarks.soak --break truncate --scenarios B "
        "--requests 2000  # must exit 1",
        "```",
        "",
        "Exit status 0: every check passed (and every break proved); 1: a "
        "check failed; 2: the preflight found the oracle out of date (the "
        "emulator's generator or the request bodies changed; fix `Oracle`, "
        "the client is not to blame); 130: interrupted. It prints a summary "
        "table and one `PASS`/`FAIL [scenario:check]` line per check. The "
        "soak uses only `from ollama_async import ...`, so it runs unchanged "
        "on a new transport; the emulators are stopped by PID on any exit.",
        "",
        "## Results",
        "",
    ]
    if runs:
        header, rows = summary_rows(runs)
        out += [_table(header, rows), ""]
        typed = typed_rows(runs)
        if typed:
            out += [
                "Typed errors by call and exception:",
                "",
                _table(["call: exception", *(r.name for r in runs)], typed),
                "",
            ]
    for run in runs:
        if run.failover is not None:
            f = run.failover
            out += [
                "### C: three hosts, one killed",
                "",
                _table(
                    [
                        "host",
                        "verified text answers before kill",
                        "after kill",
                        "server requests",
                    ],
                    failover_rows(f, run),
                ),
                "",
                _table(["measure", "value"], failover_facts(f)),
                "",
            ]
    if runs:
        out += reading(runs)
    out += ["### Checks", ""]
    out += [
        f"- {'✅' if c.ok else '❌'} `{c.scenario}:{c.id}` {c.text}" for c in checks
    ]
    out += [""]
    if proofs:
        out += [
            "## Every check can fail",
            "",
            "`--break NAME` breaks one thing on purpose, in the soak's own "
            "wrapper or setup (never in `ollama_async`); its check must then "
            "fail and the soak exit with status 1. The full run proves it for "
            f"every break, each in a subprocess of {args.proof_requests:,} "
            "calls:",
            "",
            _table(
                [
                    "--break",
                    "what it breaks",
                    "check that must fail",
                    "exit",
                    "failed checks",
                    "proved",
                ],
                [
                    [
                        f"`{p.name}`",
                        BREAKS[p.name].what,
                        f"`{BREAKS[p.name].scenario}:{BREAKS[p.name].fails}`",
                        str(p.status),
                        ", ".join(f"`{x}`" for x in p.failed) or "none",
                        "✅" if p.ok else "❌",
                    ]
                    for p in proofs
                ],
            ),
            "",
            "The failing lines each printed:",
            "",
        ]
        for p in proofs:
            out += [
                f"`{p.command}` → exit status {p.status}",
                "",
                "```",
                *p.lines,
                "```",
                "",
            ]
    out += [f"Whole run: {elapsed:.0f} s.", ""]
    return "\n".join(out)


# -- main --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--scenarios", default="A,B,C")
    parser.add_argument("--rss-limit-mib", type=float, default=DEFAULT_RSS_LIMIT_MIB)
    parser.add_argument(
        "--break",
        dest="brk",
        default="",
        choices=["", *BREAKS],
        metavar="NAME",
        help="break something on purpose: " + ", ".join(BREAKS),
    )
    parser.add_argument(
        "--prove-breaks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run every --break in a subprocess and check it fails "
        "(default: on, unless --break is given)",
    )
    parser.add_argument("--proof-requests", type=int, default=PROOF_REQUESTS)
    parser.add_argument("--out", type=Path, default=DOC)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    wanted = {s.strip().upper() for s in args.scenarios.split(",") if s.strip()}
    if not wanted <= {"A", "B", "C"}:
        parser.error(f"--scenarios: A, B and/or C, not {args.scenarios!r}")
    if args.brk and BREAKS[args.brk].scenario not in wanted:
        parser.error(f"--break {args.brk} acts on scenario {BREAKS[args.brk].scenario}")
    prove = (not args.brk) if args.prove_breaks is None else args.prove_breaks

    signal.signal(signal.SIGTERM, _on_sigterm)
    began = time.perf_counter()
    runs: list[Run] = []
    proofs: list[Proof] = []
    n, c, brk = args.requests, args.concurrency, args.brk
    try:
        oracle = Oracle()
        problems = preflight(oracle)
        if problems:
            print("The oracle disagrees with the emulator on quiet calls:")
            print("\n".join(f"  {p}" for p in problems))
            print("Fix Oracle (the emulator's seeds or the request bodies changed).")
            return 2
        if "A" in wanted:
            print(f"A: {n:,} mixed calls at concurrency {c}, no faults ...", flush=True)
            runs.append(one_host("A", oracle, n, c, brk, faults=False))
        if "B" in wanted:
            print(
                "B: the same with 503s, dropped connections, cut streams ...",
                flush=True,
            )
            runs.append(one_host("B", oracle, n, c, brk, faults=True))
        if "C" in wanted:
            print("C: three hosts, one SIGKILLed half-way ...", flush=True)
            runs.append(failover(oracle, n, c, brk))
        if prove:
            print(f"proving that each --break fails its check ({len(BREAKS)} runs):")
            proofs = prove_breaks(args.proof_requests, c, args.rss_limit_mib)
    except KeyboardInterrupt:
        print("interrupted; stopping the emulators")
        return 130
    finally:
        Emulator.stop_all()
    elapsed = time.perf_counter() - began
    checks = [check for run in runs for check in checks_for(run, args.rss_limit_mib)]
    print(terminal(runs, checks, proofs))
    failed = [ch for ch in checks if not ch.ok] + [p for p in proofs if not p.ok]
    print(
        f"\n{len(checks) - sum(not ch.ok for ch in checks)} of {len(checks)} checks "
        f"passed"
        + (
            f", {sum(p.ok for p in proofs)} of {len(proofs)} breaks proved"
            if proofs
            else ""
        )
        + f"; {elapsed:.0f} s"
        + (f" (--break {brk})" if brk else "")
    )
    if not args.no_write and not brk:
        args.out.write_text(
            render(args, runs, checks, proofs, elapsed), encoding="utf-8"
        )
        print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
