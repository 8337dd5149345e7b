"""Clients pickle their configuration at any time, never a session, socket or
loop: before and after use, across event loops, and into another process
(as Ray, Dask, Spark and multiprocessing do), where the copy opens its own
connections on first use."""

from __future__ import annotations

import asyncio
import copy
import pickle
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest
from conftest import USER_HI

from ollama_async import (
    AdaptiveConcurrency,
    AsyncClient,
    ConnectError,
    Limits,
    MultiHostClient,
    Retry,
    Timeout,
)
from ollama_async.testing import FakeOllama

MODEL = "llama3.2"
KEY = "sk-secret-123"


@pytest.fixture
def fake_ollama_sync_url() -> Iterator[str]:
    """An emulator on a loop of its own, in a thread, for tests that run
    several ``asyncio.run()`` loops one after another."""
    loop = asyncio.new_event_loop()
    server = FakeOllama()
    ready = threading.Event()

    def serve() -> None:
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield server.url
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


C = TypeVar("C")


def _roundtrip(client: C) -> C:
    copied: C = pickle.loads(pickle.dumps(client))
    return copied


def _authorizations(server: FakeOllama) -> list[str | None]:
    return [r.headers.get("Authorization") for r in server.requests]


async def test_a_client_that_made_requests_pickles(fake_ollama: FakeOllama) -> None:
    async with AsyncClient(fake_ollama.url, headers={"X-Team": "a"}) as client:
        await client.chat(MODEL, USER_HI)  # a session and a socket exist now
        copied = _roundtrip(client)
    async with copied:
        assert (await copied.chat(MODEL, USER_HI)).done
    assert [r.headers.get("X-Team") for r in fake_ollama.requests] == ["a", "a"]


async def test_the_configuration_travels(fake_ollama: FakeOllama) -> None:
    timeout = Timeout(connect=3, first_byte=30, read=20)
    retry = Retry(attempts=5, backoff=0.1)
    limits = Limits(max_connections=7)
    client = AsyncClient(
        fake_ollama.url,
        timeout=timeout,
        retry=retry,
        limits=limits,
        max_line_size=1234,
        follow_redirects=False,
    )
    copied = _roundtrip(client)
    assert copied.base_url == fake_ollama.url
    assert copied.timeout == timeout
    assert copied.retry == retry
    settings = copied._settings
    assert settings.limits == limits
    assert settings.max_line_size == 1234
    assert settings.follow_redirects is False
    await client.aclose()
    await copied.aclose()


async def test_a_view_travels_as_a_view(fake_ollama: FakeOllama) -> None:
    client = AsyncClient(fake_ollama.url)
    patient = client.with_options(timeout=Timeout(first_byte=900), retry=None)
    patient.web_url = "http://127.0.0.1:9"
    copied = _roundtrip(patient)
    assert copied.timeout.first_byte == 900
    assert copied.retry is None
    assert copied.web_url == "http://127.0.0.1:9"
    assert _roundtrip(client).retry == Retry()  # the client itself is unchanged
    await client.aclose()
    await copied.aclose()


async def test_copy_shares_connections_but_deepcopy_does_not(
    fake_ollama: FakeOllama,
) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        assert copy.copy(client)._transport is client._transport
        deep = copy.deepcopy(client)
        assert deep._transport is not client._transport
        assert (await deep.chat(MODEL, USER_HI)).done
        await deep.aclose()
        assert not client.is_closed


def test_a_copy_works_on_another_event_loop(fake_ollama_sync_url: str) -> None:
    client = AsyncClient(fake_ollama_sync_url)

    async def chat(c: AsyncClient) -> bool:
        return (await c.chat(MODEL, USER_HI)).done

    assert asyncio.run(chat(client))  # its session lives on this first loop
    copied = _roundtrip(client)
    assert asyncio.run(chat(copied))  # a new loop: the copy opens its own
    assert asyncio.run(chat(client))  # and the original moves on as before
    asyncio.run(client.aclose())
    asyncio.run(copied.aclose())


async def test_api_key_travels_but_is_never_printed(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", KEY)
    client = AsyncClient(fake_ollama.url)
    monkeypatch.delenv("OLLAMA_API_KEY")  # the worker has no such variable
    copied = _roundtrip(client)
    async with copied:
        await copied.list()
    assert _authorizations(fake_ollama) == [f"Bearer {KEY}"]
    for text in (repr(copied), repr(copied._settings), str(copied._settings)):
        assert KEY not in text
    await client.aclose()


async def test_multihost_client_pickles_after_use(fake_ollama: FakeOllama) -> None:
    async with FakeOllama() as other:
        hosts = [fake_ollama.url, other.url]
        concurrency = AdaptiveConcurrency(initial=2, maximum=9)
        async with MultiHostClient(
            hosts, refresh_interval=0, concurrency=concurrency
        ) as client:
            await asyncio.gather(*(client.chat(MODEL, USER_HI) for _ in range(4)))
            copied = _roundtrip(client)
            bound = _roundtrip(client.host(other.url))
        async with copied, bound:
            assert [h.url for h in copied.hosts] == hosts
            # Configuration travels; what was learnt about the hosts does not.
            assert all(h.in_flight == 0 and h.allowance == 2 for h in copied.hosts)
            await asyncio.gather(*(copied.chat(MODEL, USER_HI) for _ in range(4)))
            before = len(fake_ollama.requests)
            await bound.chat(MODEL, USER_HI)
            assert len(fake_ollama.requests) == before  # still bound to `other`
        assert sum(len(s.requests) for s in (fake_ollama, other)) == 9


async def test_a_callers_session_does_not_pickle(fake_ollama: FakeOllama) -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncClient(fake_ollama.url, session=session)
        with pytest.raises(TypeError, match="session=") as caught:
            pickle.dumps(client)
        assert "Create the client in the worker" in str(caught.value)


def test_an_ssl_context_does_not_pickle_but_a_ca_path_does(tmp_path: Path) -> None:
    context = ssl.create_default_context()
    for client in (
        AsyncClient("https://example.invalid", ssl=context),
        AsyncClient("https://example.invalid", verify=context),
    ):
        with pytest.raises(TypeError, match="SSLContext"):
            pickle.dumps(client)
    # A CA path is rebuilt into a context in the worker.
    ca = Path(ssl.get_default_verify_paths().openssl_cafile or "")
    if not ca.is_file():
        pytest.skip("no system CA bundle to point verify= at")
    copied = _roundtrip(AsyncClient("https://example.invalid", verify=str(ca)))
    assert copied._settings.tls.verify == str(ca)


_CHILD = """
import asyncio, pickle, sys
from ollama_async import ConnectError

async def main():
    client = pickle.loads(sys.stdin.buffer.read())
    async with client:
        if sys.argv[1] == "chat":
            reply = await client.chat("llama3.2", [{"role": "user", "content": "hi"}])
            print(type(client).__name__, reply.message.content != "")
        else:
            try:
                await client.list()
            except ConnectError as exc:
                print(exc)

asyncio.run(main())
"""


def _in_a_subprocess(client: AsyncClient, mode: str) -> str:
    data = pickle.dumps(client)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        input=data,
        capture_output=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()


async def test_a_pickle_runs_in_another_process(fake_ollama: FakeOllama) -> None:
    async with AsyncClient(fake_ollama.url, headers={"X-Job": "7"}) as client:
        await client.chat(MODEL, USER_HI)
        out = await asyncio.to_thread(_in_a_subprocess, client, "chat")
    assert out == "AsyncClient True"
    assert [r.headers.get("X-Job") for r in fake_ollama.requests] == ["7", "7"]

    async with FakeOllama() as other:
        hosts = [fake_ollama.url, other.url]
        async with MultiHostClient(hosts, refresh_interval=0) as fleet:
            await fleet.chat(MODEL, USER_HI)
            out = await asyncio.to_thread(_in_a_subprocess, fleet, "chat")
    assert out == "MultiHostClient True"


async def test_where_the_host_came_from_travels(
    monkeypatch: pytest.MonkeyPatch, unused_tcp_port: int
) -> None:
    # Made from OLLAMA_HOST here; the worker has no OLLAMA_HOST, yet its
    # connection error still says where the address came from.
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{unused_tcp_port}")
    client = AsyncClient(retry=None)
    out = await asyncio.to_thread(_in_a_subprocess, client, "list")
    assert f"127.0.0.1:{unused_tcp_port}" in out
    assert "OLLAMA_HOST" in out
    async with _roundtrip(client) as copied:
        with pytest.raises(ConnectError, match="OLLAMA_HOST"):
            await copied.list()
