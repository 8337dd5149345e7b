"""Ray Data (issue 17): rows per second of ``ollama_async.ray`` by actors and
hosts, and what the integration costs per row against the same work written
by hand as a plain async UDF.

The hosts are ``python -m ollama_async.testing`` processes paced like a
model: ``--num-parallel`` slots each (the rest queue, as with
``OLLAMA_NUM_PARALLEL``) and ``--tokens-per-second``. A slot answers one
chat of ``--tokens`` tokens in ``tokens / rate`` seconds, so the fleet's
ceiling is ``hosts x slots x rate / tokens`` rows per second, whatever the
client does. Every actor keeps at most ``--per-actor`` calls in flight, so
the actors' ceiling is ``actors x per_actor x rate / tokens``. Rows per
second are counted while every actor answers, from completion times stamped
in the actors (the actors' start-up and the last stragglers are left out);
each cell is the median of ``--repeats`` runs.

The overhead comparison runs the same rows through ``build_ollama_processor``
and through ``HandUDF`` (below: ``AsyncClient.chat`` under a semaphore, the
columns built from the answers, nothing else), alternating, on the same
actor pool settings: once against paced hosts (what a job sees), once
against hosts that answer at once (the client's CPU is then all there is).
The same instant hosts show the CPU's ceiling by actors.

Usage::

    python -m benchmarks.ray_scaling             # ~5 min on 2 cores
    python -m benchmarks.ray_scaling --quick     # ~1.5 min, one run a cell

Needs the ``ray`` extra. Every process it starts is stopped by PID on the
way out, and Ray is shut down.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from benchmarks._emulator import Emulator

MODEL = "llama3.2"


class HandUDF:
    """The same work written by hand: one client per actor, a semaphore, a
    chat per row, the columns from the answers."""

    def __init__(self, hosts: list[str], limit: int) -> None:
        from ollama_async import AsyncClient, MultiHostClient

        self.client = (
            AsyncClient(hosts[0]) if len(hosts) == 1 else MultiHostClient(hosts)
        )
        self.limit = asyncio.Semaphore(limit)

    async def __call__(self, batch: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async def one(prompt: str) -> tuple[Any, float]:
            async with self.limit:
                messages = [{"role": "user", "content": prompt}]
                answer = await self.client.chat(MODEL, messages)
                return answer, time.time()

        done = await asyncio.gather(*(one(str(p)) for p in batch["prompt"]))
        yield {
            "id": batch["id"],
            "prompt": batch["prompt"],
            "generated_text": [a.message.content for a, _ in done],
            "num_input_tokens": [a.prompt_eval_count for a, _ in done],
            "num_generated_tokens": [a.eval_count for a, _ in done],
            "done_at": [at for _, at in done],
            "pid": [os.getpid()] * len(done),
        }


def rows(ray: Any, count: int) -> Any:
    """``count`` rows with an ``id`` and a ``prompt``, made before the clock."""
    items = [{"id": i, "prompt": f"Question {i}"} for i in range(count)]
    return ray.data.from_items(items, override_num_blocks=max(1, count // 16))


def rate(dataset: Any) -> tuple[float, int]:
    """Rows per second while every actor was answering (from the last actor's
    first answer to the first actor's last: start-up and stragglers are left
    out), from completion times stamped in the actors; and rows out."""
    frame = dataset.to_pandas()
    spans = frame.groupby("pid")["done_at"].agg(["min", "max"])
    start, end = spans["min"].max(), spans["max"].min()
    inside = frame["done_at"].between(start, end).sum()
    return (inside / (end - start) if end > start else 0.0), len(frame)


def stamp(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "done_at": time.time(), "pid": os.getpid()}


def processor_for(hosts: list[str], actors: int, per_actor: int) -> Any:
    from ollama_async.ray import OllamaProcessorConfig, build_ollama_processor

    config = OllamaProcessorConfig(
        model=MODEL,
        hosts=hosts,
        concurrency=actors,
        max_concurrent_requests=per_actor,
        batch_size=16,
        num_cpus=0.25,
    )
    return build_ollama_processor(config, postprocess=stamp)


def hand_for(ray: Any, hosts: list[str], actors: int, per_actor: int) -> Any:
    def apply(dataset: Any) -> Any:
        return dataset.map_batches(
            HandUDF,
            fn_constructor_kwargs={"hosts": hosts, "limit": per_actor},
            batch_size=16,
            compute=ray.data.ActorPoolStrategy(
                size=actors, max_concurrent_calls_per_actor=4
            ),
            num_cpus=0.25,
        )

    return apply


def check(result: tuple[float, int], count: int) -> float:
    per_second, seen = result
    if seen != count:
        raise RuntimeError(f"{count} rows in, {seen} out")
    return per_second


def scaling(ray: Any, args: argparse.Namespace, fleet: list[Emulator]) -> None:
    per_slot = args.rate / args.tokens
    print(
        f"\nRows per second by actors and hosts ({args.slots} slots a host, "
        f"{args.tokens} tokens at {args.rate:g} tokens/s: {per_slot:g} rows/s a "
        f"slot; {args.per_actor} calls in flight an actor; median of "
        f"{args.repeats})\n"
    )
    hosts_counts = [h for h in (1, 2, 4) if h <= len(fleet)]
    print("| actors | " + " | ".join(f"{h} host(s)" for h in hosts_counts) + " |")
    print("|---|" + "---|" * len(hosts_counts))
    for actors in (1, 2, 4):
        cells = []
        for count in hosts_counts:
            urls = [e.url for e in fleet[:count]]
            expected = min(actors * args.per_actor, count * args.slots) * per_slot
            total = int(args.seconds * expected)
            runs = [
                check(
                    rate(processor_for(urls, actors, args.per_actor)(rows(ray, total))),
                    total,
                )
                for _ in range(args.repeats)
            ]
            cells.append(f"{statistics.median(runs):.0f} ({expected:.0f})")
        print(f"| {actors} | " + " | ".join(cells) + " |")
    print(
        "\nIn brackets: min(actors x calls an actor, hosts x slots) x rows/s a "
        "slot, the ceiling of the slots in use."
    )


def cpu_bound(ray: Any, args: argparse.Namespace, urls: list[str]) -> None:
    """Hosts that answer at once: what the 2 cores give, by actors."""
    per_actor = 16
    print(
        f"\nHosts that answer at once ({len(urls)}), {per_actor} calls an actor: "
        f"the CPU is the ceiling (median of {args.repeats})\n"
    )
    print("| actors | rows/s |")
    print("|---|---|")
    for actors in (1, 2, 4):
        total = int(args.seconds * 400)
        runs = [
            check(rate(processor_for(urls, actors, per_actor)(rows(ray, total))), total)
            for _ in range(args.repeats)
        ]
        print(f"| {actors} | {statistics.median(runs):.0f} |")


def overhead(
    ray: Any, args: argparse.Namespace, urls: list[str], label: str, total: int
) -> None:
    actors, per_actor = 2, args.per_actor
    ours: list[float] = []
    hand: list[float] = []
    for _ in range(args.repeats):
        ours.append(
            check(rate(processor_for(urls, actors, per_actor)(rows(ray, total))), total)
        )
        hand.append(
            check(rate(hand_for(ray, urls, actors, per_actor)(rows(ray, total))), total)
        )
    mine, theirs = statistics.median(ours), statistics.median(hand)
    per_row = (1 / mine - 1 / theirs) * 1e6
    print(
        f"| {label} | {theirs:.0f} | {mine:.0f} | {theirs / mine - 1:+.1%} | "
        f"{per_row:+.0f} µs |"
    )


async def load_everywhere(urls: list[str]) -> None:
    """Load the model on every host first, as on a fleet in service: a
    ``MultiHostClient`` prefers hosts that have the model loaded
    (``cold_penalty``), and would keep a cold host out of a short run."""
    from ollama_async import AsyncClient

    for url in urls:
        async with AsyncClient(url) as client:
            await client.load(MODEL, keep_alive="1h")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ray_scaling")
    parser.add_argument("--slots", type=int, default=4, help="parallel slots a host")
    parser.add_argument("--rate", type=float, default=200.0, help="tokens/s a slot")
    parser.add_argument("--tokens", type=int, default=20, help="tokens an answer")
    parser.add_argument("--per-actor", type=int, default=4, help="calls an actor")
    parser.add_argument("--seconds", type=float, default=6.0, help="a run, about")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run a cell")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.seconds = 1, 4.0

    import ray
    import ray.data

    # Ray Data logs each run's end at INFO; the tables are the output here.
    logging.getLogger("ray").setLevel(logging.WARNING)

    paced = (
        "--num-parallel",
        str(args.slots),
        "--tokens-per-second",
        str(args.rate),
        "--response-tokens",
        str(args.tokens),
    )
    fleet = [Emulator.start(*paced) for _ in range(4)]
    fast = [Emulator.start("--response-tokens", str(args.tokens)) for _ in range(2)]
    asyncio.run(load_everywhere([e.url for e in (*fleet, *fast)]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    try:
        started = time.perf_counter()
        scaling(ray, args, fleet)
        cpu_bound(ray, args, [e.url for e in fast])
        print(
            f"\nOverhead: {args.per_actor} calls an actor, 2 actors, batches of 16, "
            f"median of {args.repeats}\n"
        )
        print(
            "| hosts | by hand rows/s | ollama_async.ray rows/s | overhead | per row |"
        )
        print("|---|---|---|---|---|")
        paced_rows = int(args.seconds * 2 * args.per_actor * args.rate / args.tokens)
        overhead(ray, args, [e.url for e in fleet[:2]], "2 paced", paced_rows)
        overhead(ray, args, [e.url for e in fast], "2 instant", int(args.seconds * 400))
        print(f"\n{time.perf_counter() - started:.0f} s")
    finally:
        ray.shutdown()
        for emulator in (*fleet, *fast):
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
