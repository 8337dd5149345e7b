"""Errors that say what to do (issue 19, item 1): for each common mistake,
the message names where the host came from and what fixes it."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from conftest import USER_HI, free_port

from ollama_async import (
    AsyncClient,
    ConnectError,
    FirstByteTimeout,
    MultiHostClient,
    NotFoundError,
    ReadTimeout,
    RequestError,
    Retry,
    Timeout,
    TotalTimeout,
    UsageError,
)
from ollama_async.testing import FakeOllama, Fault

MODEL = "llama3.2"


# -- the host --------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/api", "/api/"])
async def test_a_host_ending_in_api_gets_a_hint(
    fake_ollama: FakeOllama, suffix: str
) -> None:
    async with AsyncClient(fake_ollama.url + suffix) as client:
        with pytest.raises(NotFoundError) as info:
            await client.chat(MODEL, USER_HI)
    assert str(info.value) == (
        "404 page not found (status code: 404); the host "
        f"{fake_ollama.url}/api (from the host argument) ends in /api, but the "
        f"client adds /api/... itself: use {fake_ollama.url}"
    )


@pytest.mark.parametrize(
    ("host", "fixed"),
    [
        ("http//localhost:11434", "http://localhost:11434"),
        ("http:/localhost:11434", "http://localhost:11434"),
        ("https:gpu1", "https://gpu1"),
    ],
)
def test_a_malformed_host_is_refused_with_the_reason(
    host: str, fixed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    why = (
        f"malformed host {host!r}: the scheme must be followed by '://' "
        f"(did you mean {fixed!r}?)"
    )
    with pytest.raises(RequestError) as info:
        AsyncClient(host)
    assert str(info.value) == f"{why} (from the host argument)"
    monkeypatch.setenv("OLLAMA_HOST", host)
    with pytest.raises(RequestError) as info:
        AsyncClient()
    assert str(info.value) == f"OLLAMA_HOST: {why}"
    with pytest.raises(RequestError) as info:
        MultiHostClient(["127.0.0.1:1", host])
    assert str(info.value) == f"{why} (from hosts[1])"


async def test_https_to_a_plain_http_server_says_so_at_once(
    fake_ollama: FakeOllama,
) -> None:
    tls_url = fake_ollama.url.replace("http://", "https://")
    started = time.monotonic()
    async with AsyncClient(tls_url) as client:
        with pytest.raises(ConnectError) as info:
            await client.list()
    assert time.monotonic() - started < 0.5  # not retried: it cannot get better
    assert str(info.value).endswith(
        f"(address {tls_url}, from the host argument: the server answered in "
        f"plain HTTP, not TLS; use {fake_ollama.url})"
    )


async def test_nothing_listening_on_loopback_fails_fast_and_quietly(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger="ollama_async")
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OLLAMA_HOST", url)
    started = time.monotonic()
    async with AsyncClient() as client:  # the default retry policy
        with pytest.raises(ConnectError) as info:
            await client.list()
    assert time.monotonic() - started < 0.2
    assert caplog.records == []  # no retry chatter
    message = str(info.value)
    assert f"(address {url}, from OLLAMA_HOST: " in message
    assert message.endswith(
        "nothing listens there: is Ollama running (`ollama serve`)? To wait "
        "for a server that is starting, use Retry(wait_for_local_server=True))"
    )
    assert info.value.refused and info.value.loopback


async def test_a_server_that_is_starting_is_waited_for_when_asked() -> None:
    port = free_port()
    patient = Retry(
        attempts=30, backoff=0.05, max_backoff=0.1, wait_for_local_server=True
    )

    async def start_later() -> FakeOllama:
        await asyncio.sleep(0.3)
        server = FakeOllama(port=port)
        await server.start()
        return server

    starting = asyncio.create_task(start_later())
    async with AsyncClient(f"http://127.0.0.1:{port}", retry=patient) as client:
        version = await client.version()
    server = await starting
    await server.stop()
    assert version.version


# -- the model -------------------------------------------------------------------


async def test_model_not_found_says_how_to_pull_it_and_names_close_ones(
    fake_ollama: FakeOllama,
) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        with pytest.raises(NotFoundError) as info:
            await client.chat("llama3", USER_HI)
        assert info.value.error == "model 'llama3' not found"  # the server's words
        assert str(info.value) == (
            "model 'llama3' not found (status code: 404); pull it first: "
            "`ollama pull llama3` or `await client.pull('llama3')`; installed "
            "models with close names: llama3.2, llava:7b"
        )
        with pytest.raises(NotFoundError) as info:
            async for _ in client.generate("qwen9", "Hi", stream=True):
                pass  # pragma: no cover
        assert "`ollama pull qwen9`" in str(info.value)


# -- timeouts --------------------------------------------------------------------


async def test_each_timeout_names_its_limit_value_and_field(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.first_token_delay = 0.5
    async with AsyncClient(
        fake_ollama.url, timeout=Timeout(first_byte=0.05), retry=None
    ) as client:
        with pytest.raises(
            FirstByteTimeout, match=r"within first_byte=0\.05 s \(Timeout\.first_byte\)"
        ):
            await client.chat(MODEL, USER_HI)
    fake_ollama.first_token_delay = 0.0
    fake_ollama.add_fault(Fault(stall_after=1, stall_for=1.0, path="/api/chat"))
    async with AsyncClient(
        fake_ollama.url, timeout=Timeout(read=0.1), retry=None
    ) as client:
        with pytest.raises(ReadTimeout) as info:
            async for _ in client.chat(MODEL, USER_HI, stream=True):
                pass
    assert "sent nothing for read=0.1 s (Timeout.read)" in str(info.value)
    fake_ollama.tokens_per_second = 20
    async with AsyncClient(
        fake_ollama.url, timeout=Timeout(total=0.2), retry=None
    ) as client:
        with pytest.raises(
            TotalTimeout, match=r"took longer than total=0\.2 s \(Timeout\.total\)"
        ):
            await client.chat(MODEL, USER_HI)


# -- misuse ----------------------------------------------------------------------


async def test_iterating_a_call_made_without_stream_says_pass_stream_true(
    fake_ollama: FakeOllama,
) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        with pytest.raises(UsageError, match=r"stream=False.*pass stream=True"):
            async for _ in client.chat(MODEL, USER_HI):  # type: ignore[attr-defined]
                pass  # pragma: no cover
        # Nothing was sent, and the call is still an ordinary coroutine.
        assert fake_ollama.requests == []
        reply = await asyncio.create_task(client.chat(MODEL, USER_HI))
        assert reply.done


async def test_awaiting_a_stream_twice_says_how_to_read_it(
    fake_ollama: FakeOllama,
) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        stream = await client.chat(MODEL, USER_HI, stream=True)
        with pytest.raises(UsageError) as info:
            await stream
        stream.close()
    assert str(info.value) == (
        "this stream was awaited already (awaiting opens it and returns it): "
        "iterate it with `async for part in stream`, or get the whole answer "
        "with `await stream.collect()`"
    )


async def test_using_a_closed_client_says_what_to_do(fake_ollama: FakeOllama) -> None:
    client = AsyncClient(fake_ollama.url)
    await client.aclose()
    with pytest.raises(UsageError) as info:
        await client.list()
    assert str(info.value) == (
        "this AsyncClient is closed; create a new one, or make every call "
        "inside its `async with` block"
    )


async def test_options_passed_at_the_top_level_get_a_hint(
    fake_ollama: FakeOllama,
) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        with pytest.raises(TypeError) as info:
            await client.chat(MODEL, USER_HI, temperature=0.2)  # type: ignore[call-overload]
        assert str(info.value) == (
            "chat() got unexpected keyword argument 'temperature'; temperature "
            "is a model option: pass options={'temperature': 0.2}"
        )
        with pytest.raises(TypeError) as info:
            client.generate(MODEL, "Hi", seed=1, num_ctx=4096)  # type: ignore[call-overload]
        assert str(info.value) == (
            "generate() got unexpected keyword arguments 'seed', 'num_ctx'; seed, "
            "num_ctx are model options: pass options={'seed': 1, 'num_ctx': 4096}"
        )
        with pytest.raises(TypeError) as info:
            client.chat(MODEL, USER_HI, strem=True)  # type: ignore[call-overload]
        assert str(info.value) == "chat() got unexpected keyword argument 'strem'"
    assert fake_ollama.requests == []
