"""Scenarios and clients: the matrix a run covers (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    kind: str  # "stream" | "chat" | "embed" | "ttfc"
    requests: int
    concurrency: int
    chunks: int  # content chunks per stream (num_predict); chat: tokens joined
    pace_ms: float = 0.0  # server pacing; 0 = burst
    unit: str = "chunk"  # what CPU is divided by: "chunk" (NDJSON line) | "request"
    target: float | None = None  # max ratio to the floor, default loop
    target_uvloop: float | None = None  # max ratio of the uvloop run to the floor
    warmup_requests: int = 1
    warmup_chunks: int = 1

    def units(self) -> int:
        if self.unit == "chunk":  # the done line is a line the client decodes too
            return self.requests * (self.chunks + 1)
        return self.requests


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "S1", "one 50,000-chunk chat stream", "stream", 1, 1, 50_000,
            target=1.3, warmup_requests=1, warmup_chunks=5_000,
        ),
        Scenario(
            "S2", "200 concurrent streams x 200 chunks", "stream", 200, 200, 200,
            target=1.5, warmup_requests=200, warmup_chunks=5,
        ),
        Scenario(
            "S3", "1,000 non-streamed chats, concurrency 100", "chat", 1000, 100,
            32, unit="request", target=2.0, warmup_requests=100, warmup_chunks=32,
        ),
        Scenario(
            "S4", "200 embeds of 32 x 768 floats, concurrency 32", "embed", 200,
            32, 32, unit="request", target=1.1, warmup_requests=32,
            warmup_chunks=32,
        ),
        Scenario(
            "S5", "200 paced streams x 25 chunks (20 ms/chunk)", "stream", 200,
            200, 25, pace_ms=20.0, target=1.6, target_uvloop=1.15,
            warmup_requests=200, warmup_chunks=2,
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
    sizes = {
        "S1": {"chunks": 5_000, "warmup_chunks": 500},
        "S2": {"requests": 100, "concurrency": 100, "chunks": 100},
        "S3": {"requests": 200, "warmup_requests": 100},
        "S4": {"requests": 64},
        "S5": {"requests": 100, "concurrency": 100, "chunks": 10},
        "TTFC": {"requests": 20, "warmup_requests": 5},
    }
    return replace(s, **sizes.get(s.name, {}))  # type: ignore[arg-type]


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
        Client("floor", "floor", note="raw asyncio streams + msgspec"),
        Client("ollama_async", "ollama_async_client"),
        Client("ollama_async+uvloop", "ollama_async_client", loop="uvloop"),
        Client("floor+uvloop", "floor", loop="uvloop", note="for the uvloop ratio"),
        Client("aiohttp+msgspec", "aiohttp_plain", note="plain loop, for scale"),
        Client(
            "official", "official", pooled=False, note="ollama 0.6.3, default pool"
        ),
        Client(
            "official+pool", "official", kwargs=(("raised_pool", True),),
            note="pool = concurrency",
        ),
    ]
}  # fmt: skip

FLOOR = "floor"
