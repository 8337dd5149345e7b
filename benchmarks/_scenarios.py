"""Scenarios and clients: the matrix a run covers (stdlib only)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    kind: str  # "stream" | "chat" | "embed" | "ttfc" | "blob"
    requests: int
    concurrency: int
    chunks: int  # content chunks per stream (num_predict); chat: tokens joined
    pace_ms: float = 0.0  # server pacing; 0 = burst
    unit: str = "chunk"  # CPU is divided by: "chunk" (NDJSON line) | "request" | "file"
    # Ceiling on ollama_async's CPU per unit / the reference's (blob: wall time).
    target: float | None = None
    # Floor on the official client's CPU per unit / ollama_async's.
    official_factor: float | None = None
    warmup_requests: int = 1
    warmup_chunks: int = 1
    clients: tuple[str, ...] | None = None  # only these clients run it (None: all)
    rounds: int | None = None  # at most this many rounds (slow scenarios)
    memory: bool = False  # also measure resident memory per open stream (S6)
    blob_mib: int = 0  # blob: size of the uploaded file
    rss_limit_mib: float | None = None  # blob: ollama_async's peak RSS growth
    # Fewer streams for some clients, ((client, streams), ...), the reason in
    # `note`: CPU per chunk stays comparable, the run stays short.
    reduced: tuple[tuple[str, int], ...] = ()
    note: str = ""

    def for_client(self, client: str) -> Scenario:
        """This scenario as `client` runs it (see `reduced`)."""
        n = dict(self.reduced).get(client)
        if n is None:
            return self
        return replace(self, requests=n, concurrency=n, warmup_requests=n)

    def units(self) -> int:
        if self.unit == "chunk":  # the done line is a line the client decodes too
            return self.requests * (self.chunks + 1)
        return self.requests


REFERENCE = "aiohttp+msgspec"
"""The denominator of every ratio: the loop a careful user writes by hand."""

OFFICIAL = ("official", "official+pool")

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "S1", "one 50,000-chunk chat stream", "stream", 1, 1, 50_000,
            target=1.0, official_factor=10, warmup_requests=1, warmup_chunks=5_000,
        ),
        Scenario(
            "S2", "200 concurrent streams x 200 chunks", "stream", 200, 200, 200,
            target=1.0, official_factor=10, warmup_requests=200, warmup_chunks=5,
        ),
        Scenario(
            "S3", "1,000 non-streamed chats, concurrency 100", "chat", 1000, 100,
            32, unit="request", target=1.05, official_factor=10,
            warmup_requests=100, warmup_chunks=32,
        ),
        Scenario(
            "S4", "200 embeds of 32 x 768 floats, concurrency 32", "embed", 200,
            32, 32, unit="request", target=1.0, warmup_requests=32,
            warmup_chunks=32,
        ),
        Scenario(
            "S5", "200 paced streams x 25 chunks (20 ms/chunk)", "stream", 200,
            200, 25, pace_ms=20.0, target=1.0, official_factor=10,
            warmup_requests=200, warmup_chunks=2,
        ),
        # The warm-up is the full shape: it opens the 4,000 connections and is
        # the pass whose resident memory per open stream is measured.
        Scenario(
            "S6", "4,000 paced streams x 20 chunks (100 ms/chunk)", "stream",
            4000, 4000, 20, pace_ms=100.0, target=1.0, official_factor=10,
            warmup_requests=4000, warmup_chunks=20, memory=True,
            # httpx's default pool (100 connections) would take 40 waves.
            clients=(REFERENCE, "ollama_async", "official+pool", "floor"),
            reduced=(("official+pool", 500),),
            note="with its pool raised, httpx spent ~1.3 ms of CPU per chunk at "
            "100 to 500 streams and 1.5 to 2.5 ms at 1,000 to 4,000; 4,000 x 20 "
            "chunks took ~125 s of CPU per pass (~4.5 min per worker with the "
            "warm-up). With fewer streams its CPU per chunk is lower, so the cut "
            "flatters it: the 10x check is, if anything, harder for ollama_async.",
        ),
        Scenario(
            "S7", "create_blob of a 2 GiB file", "blob", 1, 1, 0, unit="file",
            target=1.2, rounds=3, blob_mib=2048, rss_limit_mib=32.0,
            clients=(REFERENCE, "ollama_async", "official"),
        ),
        Scenario(
            "TTFC", "time to first chunk, 50 sequential paced streams", "ttfc",
            50, 1, 2, pace_ms=2.0, unit="request", warmup_requests=10,
            warmup_chunks=2,
        ),
    ]
}  # fmt: skip


def quick(s: Scenario) -> Scenario:
    """Smaller sizes for --quick: same shapes, a fraction of the work."""
    sizes: dict[str, dict[str, object]] = {
        "S1": {"chunks": 5_000, "warmup_chunks": 500},
        "S2": {"requests": 100, "concurrency": 100, "chunks": 100},
        "S3": {"requests": 200, "warmup_requests": 100},
        "S4": {"requests": 64},
        "S5": {"requests": 100, "concurrency": 100, "chunks": 10},
        "S6": {
            "requests": 1000,
            "concurrency": 1000,
            "chunks": 10,
            "warmup_requests": 1000,
            "warmup_chunks": 10,
            "reduced": (("official+pool", 100),),
        },
        "S7": {"blob_mib": 256},
        "TTFC": {"requests": 20, "warmup_requests": 5},
    }
    titles = {
        "S1": "one 5,000-chunk chat stream",
        "S2": "100 concurrent streams x 100 chunks",
        "S3": "200 non-streamed chats, concurrency 100",
        "S4": "64 embeds of 32 x 768 floats, concurrency 32",
        "S5": "100 paced streams x 10 chunks (20 ms/chunk)",
        "S6": "1,000 paced streams x 10 chunks (100 ms/chunk)",
        "S7": "create_blob of a 256 MiB file",
        "TTFC": "time to first chunk, 20 sequential paced streams",
    }
    changes = dict(sizes.get(s.name, {}))
    if s.name in titles:
        changes["title"] = titles[s.name] + " (quick)"
    return replace(s, **changes)  # type: ignore[arg-type]


def scenario(name: str, quick_mode: bool) -> Scenario:
    return quick(SCENARIOS[name]) if quick_mode else SCENARIOS[name]


@dataclass(frozen=True)
class Client:
    name: str
    module: str  # under benchmarks.clients
    loop: str = "asyncio"  # "asyncio" | "uvloop"
    kwargs: tuple[tuple[str, object], ...] = ()
    pooled: bool = True  # False: ignores the scenario's concurrency (default pool)
    note: str = ""


CLIENTS: dict[str, Client] = {
    c.name: c
    for c in [
        Client(REFERENCE, "aiohttp_plain", note="the reference: a bare session loop"),
        Client(
            "ollama_async", "ollama_async_client",
            note="telemetry on by default: OpenTelemetry API, no SDK (no-op spans)",
        ),
        Client(
            "ollama_async-otel-off", "ollama_async_client",
            kwargs=(("telemetry", "off"),), note="telemetry=False",
        ),
        Client(
            "ollama_async+otel", "ollama_async_client",
            kwargs=(("telemetry", "sdk"),),
            note="OpenTelemetry SDK: batch spans + metrics, exported to /dev/null",
        ),
        Client(
            "official", "official", pooled=False, note="ollama 0.6.3, default pool"
        ),
        Client(
            "official+pool", "official", kwargs=(("raised_pool", True),),
            note="pool = concurrency",
        ),
        Client("floor", "floor", note="raw asyncio streams + msgspec, informational"),
        Client("ollama_async+uvloop", "ollama_async_client", loop="uvloop"),
        Client(
            "aiohttp+msgspec+uvloop", "aiohttp_plain", loop="uvloop",
            note="the same-loop reference for ollama_async+uvloop",
        ),
    ]
}  # fmt: skip

UVLOOP_REFERENCE = "aiohttp+msgspec+uvloop"

BASE_TREE_ENV = "BENCH_BASE_TREE"
"""A checkout of an older commit: when set, `ollama_async@base` runs the same
adapter as `ollama_async` over that tree's package, in the same rounds."""
BASE = "ollama_async@base"
if os.environ.get(BASE_TREE_ENV):
    CLIENTS[BASE] = Client(
        BASE, "ollama_async_base", note=f"ollama_async from {os.environ[BASE_TREE_ENV]}"
    )
