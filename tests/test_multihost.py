"""MultiHostClient against several emulators over loopback: spreading,
model-aware routing, taking dead hosts out and probing them back, failing
over before the first byte, and losing nothing when a host dies mid-run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from conftest import USER_HI, free_port

from ollama_async import MultiHostClient, RequestError, Retry, TransportError
from ollama_async.testing import FakeOllama, Fault

MODEL = "llama3.2"


@pytest.fixture
async def three() -> AsyncIterator[list[FakeOllama]]:
    async with AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(FakeOllama()) for _ in range(3)]
        yield servers


def _chats(server: FakeOllama) -> int:
    return sum(1 for r in server.requests if r.path == "/api/chat")


async def test_requests_spread_over_every_host(three: list[FakeOllama]) -> None:
    for server in three:
        server.tokens_per_second = 400  # long enough to overlap
    async with MultiHostClient([s.url for s in three], refresh_interval=0) as client:
        replies = await asyncio.gather(
            *(client.chat(MODEL, USER_HI) for _ in range(30))
        )
        assert all(r.done for r in replies)
        counts = [_chats(s) for s in three]
        assert sum(counts) == 30
        assert min(counts) >= 5, counts  # least-in-flight keeps them level
        assert all(h.in_flight == 0 for h in client.hosts)


async def test_prefers_the_host_with_the_model_loaded(three: list[FakeOllama]) -> None:
    async with MultiHostClient([s.url for s in three], refresh_interval=0.01) as client:
        await client.host(three[1].url).generate("qwen3:8b", "")  # load it there only
        await asyncio.sleep(0.02)
        for _ in range(6):
            await client.chat("qwen3:8b", USER_HI, think=False)
    assert [_chats(s) for s in three] == [0, 6, 0]


async def test_a_dead_host_is_taken_out_and_probed_back(
    three: list[FakeOllama],
) -> None:
    dead_port = free_port()
    hosts = [f"127.0.0.1:{dead_port}", three[0].url]
    async with MultiHostClient(
        hosts, refresh_interval=0, min_backoff=0.2, retry=Retry.never()
    ) as client:
        for _ in range(5):
            assert (await client.chat(MODEL, USER_HI)).done
        dead = client.hosts[0]
        assert dead.failures == 1  # tried once, then left out
        assert _chats(three[0]) == 5

        async with FakeOllama(port=dead_port) as revived:
            await asyncio.sleep(0.25)  # past the backoff: the next call probes it
            # Cold, it counts as 4 requests busier: 10 at once reach it.
            await asyncio.gather(*(client.chat(MODEL, USER_HI) for _ in range(10)))
            assert _chats(revived) >= 1
            assert dead.failures == 0


async def test_busy_host_fails_over_before_the_first_byte(
    three: list[FakeOllama],
) -> None:
    three[0].add_fault(Fault(status=503))
    three[1].add_fault(Fault(status=503))
    hosts = [s.url for s in three]
    async with MultiHostClient(
        hosts, refresh_interval=0, retry=Retry.never()
    ) as client:
        for _ in range(3):
            answer = await client.chat(MODEL, USER_HI, stream=True).collect()
            assert answer.done
    assert _chats(three[2]) == 3


async def test_a_host_dying_mid_run_loses_and_duplicates_nothing(
    three: list[FakeOllama],
) -> None:
    for server in three:
        server.tokens_per_second = 300
    hosts = [s.url for s in three]
    retry = Retry(attempts=5, backoff=0.01)
    async with MultiHostClient(
        hosts, refresh_interval=0, min_backoff=5, retry=retry
    ) as client:
        prompts = [f"question {i}" for i in range(60)]

        async def ask(prompt: str) -> tuple[str, str]:
            reply = await client.generate(MODEL, prompt)
            return prompt, reply.response

        tasks = [asyncio.create_task(ask(p)) for p in prompts]
        await asyncio.sleep(0.05)
        await three[1].stop()  # killed with requests in flight
        results = await asyncio.gather(*tasks)
    assert sorted(p for p, _ in results) == sorted(prompts)  # none lost, none twice
    assert all(answer for _, answer in results)


async def test_host_selects_one_server(three: list[FakeOllama]) -> None:
    async with MultiHostClient([s.url for s in three]) as client:
        single = client.host(three[2].url)
        assert (await single.version()).version
        assert three[2].requests[-1].path == "/api/version"
        with pytest.raises(RequestError):
            client.host("http://elsewhere:1")


def test_needs_hosts() -> None:
    with pytest.raises(RequestError):
        MultiHostClient([])
    with pytest.raises(RequestError):
        MultiHostClient("http://one-host-as-a-string:11434")


async def test_one_outage_counts_as_one_failure(three: list[FakeOllama]) -> None:
    hosts = [three[0].url, three[1].url]
    async with MultiHostClient(hosts, refresh_interval=0) as client:
        await asyncio.gather(*(client.generate(MODEL, f"warm {i}") for i in range(4)))
        await three[0].stop()
        # Many requests reach the dead host at once; one outage, one failure.
        results = await asyncio.gather(
            *(client.generate(MODEL, f"q{i}") for i in range(20))
        )
        assert len(results) == 20
        assert client.hosts[0].failures == 1  # backing off min_backoff, not 2**19 s


async def test_a_broken_stream_names_the_host_that_sent_it(
    three: list[FakeOllama],
) -> None:
    # The second host answers, then drops the connection mid-stream: the
    # error must name it, not the first host of the list.
    broken = three[1]
    broken.add_fault(Fault(disconnect_after=2))
    hosts = [three[0].url, broken.url]
    async with MultiHostClient(hosts, refresh_interval=0) as client:
        await client.host(broken.url).generate(MODEL, "")  # load it there only
        client.hosts[1].loaded.add(f"{MODEL}:latest")
        with pytest.raises(TransportError) as caught:
            async with client.chat(MODEL, USER_HI, stream=True) as stream:
                async for _ in stream:
                    pass
    assert broken.url in str(caught.value), caught.value
    assert three[0].url not in str(caught.value)
