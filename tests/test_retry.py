"""Retries: only before anything reached the caller, never for calls that
changed the server once their body was sent, Retry-After honoured up to a cap,
logged, and overridable per call."""

from __future__ import annotations

import logging
import socket

import pytest
from conftest import USER_HI

from ollama_async import (
    AsyncClient,
    ConnectError,
    Retry,
    ServerBusyError,
    StreamError,
)
from ollama_async.testing import FakeOllama, Fault

MODEL = "llama3.2"
FAST = Retry(attempts=3, backoff=0.01, max_backoff=0.02)


def _chat_requests(server: FakeOllama) -> int:
    return sum(1 for r in server.requests if r.path == "/api/chat")


async def test_busy_server_is_retried_until_it_answers(
    fake_ollama: FakeOllama, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ollama.add_fault(Fault(status=503, times=2, retry_after=0.01))
    caplog.set_level(logging.INFO, logger="ollama_async")
    async with AsyncClient(fake_ollama.url, retry=FAST) as client:
        reply = await client.chat(MODEL, USER_HI)
    assert reply.done
    assert _chat_requests(fake_ollama) == 3
    retries = [r for r in caplog.records if r.name == "ollama_async"]
    assert len(retries) == 2
    assert {r.levelno for r in retries} == {logging.INFO}
    # One line each: the call, the attempt, the delay and the reason.
    first = retries[0].getMessage()
    assert first.startswith("POST /api/chat: retry 1 of 2 in 0.01 s after ")
    assert "ServerBusyError: server busy" in first and "\n" not in first


async def test_gives_up_after_the_last_attempt(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(status=503))
    async with AsyncClient(fake_ollama.url, retry=FAST) as client:
        with pytest.raises(ServerBusyError):
            await client.chat(MODEL, USER_HI)
    assert _chat_requests(fake_ollama) == 3


async def test_a_stream_is_retried_only_before_its_first_chunk(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.add_fault(Fault(status=503, times=1, path="/api/chat"))
    async with AsyncClient(fake_ollama.url, retry=FAST) as client:
        answer = await client.chat(MODEL, USER_HI, stream=True).collect()
        assert answer.done
        assert _chat_requests(fake_ollama) == 2

        fake_ollama.add_fault(Fault(error_after=2, times=1))
        with pytest.raises(StreamError):
            async for _ in client.chat(MODEL, USER_HI, stream=True):
                pass
    assert _chat_requests(fake_ollama) == 3  # the failed stream was not replayed


async def test_calls_that_change_the_server_are_not_resent(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.add_fault(Fault(status=503, path="/api/copy"))
    async with AsyncClient(fake_ollama.url, retry=FAST) as client:
        with pytest.raises(ServerBusyError):
            await client.copy(MODEL, "copy-of-llama")
    assert sum(1 for r in fake_ollama.requests if r.path == "/api/copy") == 1


async def test_connection_refused_is_retried_even_for_writes() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    retry = Retry(attempts=3, backoff=0.01)
    async with AsyncClient(f"127.0.0.1:{port}", retry=retry) as client:
        with pytest.raises(ConnectError):
            await client.delete("anything")


async def test_retry_after_beyond_the_cap_fails_at_once(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.add_fault(Fault(status=503, retry_after=30))
    retry = Retry(attempts=5, max_retry_after=1)
    async with AsyncClient(fake_ollama.url, retry=retry) as client:
        with pytest.raises(ServerBusyError) as info:
            await client.chat(MODEL, USER_HI)
    assert info.value.retry_after == 30
    assert _chat_requests(fake_ollama) == 1


async def test_per_call_override(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(status=503))
    async with AsyncClient(fake_ollama.url, retry=FAST) as client:
        assert client.with_options(retry=None).retry is None
        with pytest.raises(ServerBusyError):
            await client.with_options(retry=None).chat(MODEL, USER_HI)
        assert _chat_requests(fake_ollama) == 1
        assert client.retry is FAST


def test_delays_use_full_jitter_and_retry_after() -> None:
    policy = Retry(backoff=0.5, max_backoff=2.0)
    for retry in range(1, 8):
        delay = policy.delay(retry, ServerBusyError("busy", 503))
        assert delay is not None
        assert 0 <= delay <= min(2.0, 0.5 * 2 ** (retry - 1))
    told = ServerBusyError("busy", 503, retry_after=1.5)
    assert policy.delay(1, told) == 1.5


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"attempts": 0}, id="no-attempts"),
        pytest.param({"attempts": 1.5}, id="float-attempts"),
        pytest.param({"backoff": -1}, id="negative-backoff"),
        pytest.param({"max_retry_after": -1}, id="negative-cap"),
    ],
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises((TypeError, ValueError)):
        Retry(**kwargs)  # type: ignore[arg-type]


def test_never() -> None:
    assert Retry.never().attempts == 1


async def test_with_options_reports_its_own_timeout(fake_ollama: FakeOllama) -> None:
    from ollama_async import Timeout

    async with AsyncClient(fake_ollama.url) as client:
        patient = client.with_options(timeout=Timeout(first_byte=900))
        assert patient.timeout.first_byte == 900
        assert client.timeout.first_byte == Timeout().first_byte


async def test_an_exhausted_pool_waits_up_to_the_pool_timeout(
    fake_ollama: FakeOllama,
) -> None:
    from ollama_async import Limits, PoolTimeout, Timeout

    fake_ollama.tokens_per_second = 100
    limits = Limits(max_connections=1)
    async with AsyncClient(fake_ollama.url, limits=limits, retry=None) as client:
        async with client.chat(MODEL, USER_HI, stream=True) as stream:
            async for _ in stream:
                # aiohttp's connect timeout covers the wait for a free
                # connection and connecting: pool + connect bound the wait.
                with pytest.raises(PoolTimeout, match="max_connections"):
                    await client.version(timeout=Timeout(pool=0.1, connect=0.1))
                break
        assert (await client.version(timeout=Timeout(pool=0.1))).version
