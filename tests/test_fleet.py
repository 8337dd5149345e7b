"""A fleet shared well: MultiHostClient's adaptive concurrency per host (AIMD
on 503, 429 and first-byte latency), a fixed limit and its pool timeout, and
the calls that act on every host (load, unload, pull_everywhere), against
emulators over loopback."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from conftest import USER_HI, free_port

from ollama_async import (
    AdaptiveConcurrency,
    AsyncClient,
    ConnectError,
    MultiHostClient,
    PoolTimeout,
    RequestError,
    Retry,
    ServerBusyError,
    Timeout,
)
from ollama_async.testing import FakeOllama, Fault

MODEL = "llama3.2"
# Enough tries that a run without adaptation also ends with every answer.
PATIENT = Retry(attempts=100_000, backoff=0.01, max_backoff=0.05)


@pytest.fixture
async def two() -> AsyncIterator[list[FakeOllama]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(FakeOllama()) for _ in range(2)]


async def _rejections(concurrency: AdaptiveConcurrency | int | None) -> int:
    """503s a host with 2 slots and no queue answers to 40 chats at once."""
    async with FakeOllama(num_parallel=2, max_queue=0, tokens_per_second=400) as server:
        async with MultiHostClient(
            [server.url], concurrency=concurrency, retry=PATIENT, refresh_interval=0
        ) as client:
            replies = await asyncio.gather(
                *(client.chat(MODEL, USER_HI) for _ in range(40))
            )
            assert all(r.done for r in replies)  # retries hide every 503
            (host,) = client.hosts
            assert host.overloads == server.busy_rejections
            assert server.peak_running <= 2
        return server.busy_rejections


async def test_adapting_sends_far_fewer_requests_into_503s() -> None:
    adaptive = await _rejections(AdaptiveConcurrency(initial=8))
    blind = await _rejections(None)
    assert blind >= 20, blind
    assert adaptive * 3 < blind, (adaptive, blind)


async def test_a_503_cuts_the_limit_once_per_round() -> None:
    async with FakeOllama(num_parallel=1, max_queue=0, tokens_per_second=200) as server:
        policy = AdaptiveConcurrency(initial=8, latency_tolerance=None)
        async with MultiHostClient(
            [server.url], concurrency=policy, retry=PATIENT, refresh_interval=0
        ) as client:
            (host,) = client.hosts
            await asyncio.gather(*(client.chat(MODEL, USER_HI) for _ in range(8)))
            # Seven 503s answered the first round at once: one overload, one
            # cut (8 -> 4), not seven (8 -> 0.06).
            assert host.overloads >= 7
            assert host.decreases < host.overloads
            assert host.limit is not None and host.limit <= 4


async def test_a_503_pauses_the_host_so_waiting_calls_do_not_burst_into_it() -> None:
    # Four clients share a host with 2 slots and a queue of 2; 30 calls each,
    # 3 tries a call. Without a pause, every fast 503 freed room that the
    # client's next waiting call took at once, into the same full host: bursts
    # of 503s that used up calls' tries (about 260 503s and 70 failed calls
    # here, against about 85 and 4 with it).
    async with FakeOllama(num_parallel=2, max_queue=2, tokens_per_second=400) as server:
        few = Retry(attempts=3, backoff=0.01, max_backoff=0.05)

        async def one_client() -> list[object]:
            policy = AdaptiveConcurrency(latency_tolerance=None)
            async with MultiHostClient(
                [server.url], concurrency=policy, retry=few, refresh_interval=0
            ) as client:
                calls = (client.chat(MODEL, USER_HI) for _ in range(30))
                replies = await asyncio.gather(*calls, return_exceptions=True)
                (host,) = client.hosts
                assert host.overloads == 0 or host.paused_until > 0
                return replies

        replies = [
            r
            for c in await asyncio.gather(*(one_client() for _ in range(4)))
            for r in c
        ]
        failed = [r for r in replies if isinstance(r, BaseException)]
        assert all(isinstance(r, ServerBusyError) for r in failed), failed
        assert len(failed) <= 15, len(failed)
        assert server.busy_rejections <= 150, server.busy_rejections


async def test_the_limit_grows_while_the_host_keeps_up() -> None:
    async with FakeOllama(tokens_per_second=400) as server:
        policy = AdaptiveConcurrency(initial=1, maximum=12)
        async with MultiHostClient(
            [server.url], concurrency=policy, refresh_interval=0
        ) as client:
            (host,) = client.hosts
            await asyncio.gather(*(client.chat(MODEL, USER_HI) for _ in range(60)))
            # +1 per answer while the allowance was all in use: near the
            # maximum before the 60 ran out.
            assert host.limit is not None and host.limit >= 8
            assert host.decreases == host.overloads == 0
            assert server.peak_running <= 12


async def test_the_limit_grows_again_when_the_host_recovers() -> None:
    async with FakeOllama(num_parallel=1, max_queue=0, tokens_per_second=400) as server:
        policy = AdaptiveConcurrency(initial=8, latency_tolerance=None)
        async with MultiHostClient(
            [server.url], concurrency=policy, retry=PATIENT, refresh_interval=0
        ) as client:
            (host,) = client.hosts
            await asyncio.gather(*(client.chat(MODEL, USER_HI) for _ in range(16)))
            cut = host.allowance
            assert host.decreases >= 1 and cut < 8
            server.num_parallel, server.max_queue = 16, None  # more GPUs, say
            await asyncio.gather(*(client.chat(MODEL, USER_HI) for _ in range(120)))
            assert host.allowance > cut + 2  # about one more per round
            assert host.overloads == server.busy_rejections


async def test_a_growing_queue_cuts_the_limit_before_any_503() -> None:
    # One slot and a long queue: requests beyond the first wait on the server,
    # so the time to first byte climbs; the client backs off on that alone.
    async with FakeOllama(num_parallel=1, response_tokens=8) as server:
        server.tokens_per_second = 100  # 80 ms per answer
        policy = AdaptiveConcurrency(initial=1, maximum=64)
        async with MultiHostClient(
            [server.url], concurrency=policy, refresh_interval=0
        ) as client:
            (host,) = client.hosts
            await asyncio.gather(*(client.chat(MODEL, USER_HI) for _ in range(40)))
            assert server.busy_rejections == 0
            assert host.decreases >= 1
            assert host.limit is not None and host.limit < 64
            assert host.usual_latency is not None


async def test_requests_beyond_every_limit_wait_in_the_client(
    two: list[FakeOllama],
) -> None:
    for server in two:
        server.tokens_per_second = 400
    async with MultiHostClient(
        [s.url for s in two], concurrency=2, refresh_interval=0
    ) as client:
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, *(h.in_flight for h in client.hosts))
                await asyncio.sleep(0.001)

        watcher = asyncio.create_task(watch())
        replies = await asyncio.gather(
            *(client.chat(MODEL, USER_HI) for _ in range(20))
        )
        watcher.cancel()
        assert all(r.done for r in replies)
        assert peak == 2
        assert [s.peak_running for s in two] == [2, 2]


async def test_no_room_within_the_pool_timeout_raises(fake_ollama: FakeOllama) -> None:
    fake_ollama.tokens_per_second = 50  # about half a second per answer
    async with MultiHostClient(
        [fake_ollama.url],
        concurrency=1,
        timeout=Timeout(pool=0.05),
        retry=None,
        refresh_interval=0,
    ) as client:
        results = await asyncio.gather(
            client.chat(MODEL, USER_HI),
            client.chat(MODEL, USER_HI),
            return_exceptions=True,
        )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], PoolTimeout)
    assert "concurrency limit" in str(errors[0])
    assert fake_ollama.url in str(errors[0])


async def test_a_cancelled_waiter_passes_its_turn_on(fake_ollama: FakeOllama) -> None:
    fake_ollama.tokens_per_second = 200
    async with MultiHostClient(
        [fake_ollama.url], concurrency=1, refresh_interval=0
    ) as client:
        first = asyncio.create_task(client.chat(MODEL, USER_HI))
        waiting = [asyncio.create_task(client.chat(MODEL, USER_HI)) for _ in range(3)]
        await asyncio.sleep(0.02)
        waiting[0].cancel()
        done = await asyncio.wait_for(asyncio.gather(first, *waiting[1:]), 10)
        assert all(r.done for r in done)
        assert client.hosts[0].in_flight == 0


@pytest.mark.parametrize(
    ("concurrency", "message"),
    [
        (0, "concurrency must be a positive int"),
        ("8", "concurrency must be"),
        (True, "concurrency"),
    ],
)
def test_bad_concurrency_is_refused(concurrency: object, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        MultiHostClient(["127.0.0.1:1"], concurrency=concurrency)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": 0}, "initial must be a positive int"),
        ({"minimum": 4, "initial": 2}, "minimum <= initial <= maximum"),
        ({"decrease": 1.0}, "decrease must be a number between 0 and 1"),
        ({"decrease": float("nan")}, "decrease"),
        ({"latency_tolerance": 1}, "latency_tolerance must be a finite number above 1"),
        ({"latency_tolerance": float("inf")}, "latency_tolerance"),
    ],
)
def test_bad_adaptive_settings_are_refused(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(RequestError, match=message):
        AdaptiveConcurrency(**kwargs)  # type: ignore[arg-type]


# -- load and unload -------------------------------------------------------------


def _loaded(server: FakeOllama) -> set[str]:
    return {entry["name"] for entry in server.ps_entries()}


async def test_load_and_unload(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    await client.load(MODEL, keep_alive="1h")
    assert _loaded(fake_ollama) == {f"{MODEL}:latest"}
    await client.unload(MODEL)
    assert _loaded(fake_ollama) == set()
    sent = [r.json for r in fake_ollama.requests]
    assert sent == [
        {"model": MODEL, "stream": False, "keep_alive": "1h"},
        {"model": MODEL, "stream": False, "keep_alive": 0},
    ]


async def test_an_embedding_model_loads_through_embed(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    await client.load("nomic-embed-text")
    assert _loaded(fake_ollama) == {"nomic-embed-text:latest"}
    assert [r.path for r in fake_ollama.requests] == ["/api/generate", "/api/embed"]
    await client.unload("nomic-embed-text")  # an unload needs no capability
    assert _loaded(fake_ollama) == set()


async def test_load_of_an_unknown_model_raises(client: AsyncClient) -> None:
    with pytest.raises(Exception, match="not found"):
        await client.load("no-such-model")


async def test_multihost_load_and_unload_act_on_every_host(
    two: list[FakeOllama],
) -> None:
    async with MultiHostClient([s.url for s in two], refresh_interval=0) as client:
        await client.load(MODEL)
        assert [_loaded(s) for s in two] == [{f"{MODEL}:latest"}] * 2
        await client.unload(MODEL)
        assert [_loaded(s) for s in two] == [set(), set()]


async def test_a_host_that_fails_is_named_and_the_others_still_load(
    two: list[FakeOllama],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    hosts = [two[0].url, dead, two[1].url]
    async with MultiHostClient(hosts, refresh_interval=0, retry=None) as client:
        with pytest.raises(ExceptionGroup) as caught:
            await client.load(MODEL)
    assert [_loaded(s) for s in two] == [{f"{MODEL}:latest"}] * 2
    (error,) = caught.value.exceptions
    assert isinstance(error, ConnectError)
    assert f"on host {dead}" in error.__notes__
    assert "1 of 3 hosts" in str(caught.value)


async def test_load_progress_counts_hosts(two: list[FakeOllama]) -> None:
    out = io.StringIO()
    async with MultiHostClient([s.url for s in two], refresh_interval=0) as client:
        await client.load(MODEL, progress={"file": out})
    assert "2/2" in out.getvalue()


async def test_pull_everywhere_with_a_bar_per_host(two: list[FakeOllama]) -> None:
    out = io.StringIO()
    async with MultiHostClient([s.url for s in two], refresh_interval=0) as client:
        await client.pull_everywhere("gemma3:1b", progress={"file": out})
        for server in two:
            assert any(
                m.name == "gemma3:1b"
                for m in (await client.host(server.url).list()).models
            )
    text = out.getvalue()
    for server in two:
        assert server.url in text
    assert "B/s" in text or "MB" in text or "kB" in text or "GB" in text


async def test_pull_everywhere_reports_a_failing_host(two: list[FakeOllama]) -> None:
    two[1].add_fault(Fault(status=500, path="/api/pull"))
    async with MultiHostClient(
        [s.url for s in two], refresh_interval=0, retry=None
    ) as client:
        with pytest.raises(ExceptionGroup) as caught:
            await client.pull_everywhere("gemma3:1b")
    (error,) = caught.value.exceptions
    assert f"on host {two[1].url}" in error.__notes__
