"""Event loops: a client follows a new loop (successive ``asyncio.run()``,
a notebook whose loop was replaced) and refuses, clearly, to be used from a
second loop while the first still runs (another thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from ollama_async import AsyncClient, UsageError
from ollama_async.testing import FakeOllama


@pytest.fixture
def url() -> Iterator[str]:
    """An emulator on its own loop in its own thread."""
    ready = threading.Event()
    state: dict[str, object] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        server = FakeOllama()
        loop.run_until_complete(server.start())
        state.update(loop=loop, url=server.url)
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(10)
    yield str(state["url"])
    loop = state["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_successive_asyncio_runs(url: str) -> None:
    client = AsyncClient(url)  # made outside any loop, as at module level

    async def ask() -> str:
        return (
            await client.chat("llama3.2", [{"role": "user", "content": "hi"}])
        ).model

    assert [asyncio.run(ask()) for _ in range(3)] == ["llama3.2"] * 3
    asyncio.run(client.aclose())


def test_a_replaced_loop_that_was_never_closed(url: str) -> None:
    client = AsyncClient(url)
    first = asyncio.new_event_loop()
    second = asyncio.new_event_loop()
    try:
        assert first.run_until_complete(client.version()).version
        # A notebook kernel swapped loops; the old one is stopped, not closed.
        assert second.run_until_complete(client.version()).version
        second.run_until_complete(client.aclose())
    finally:
        first.close()
        second.close()


def test_two_threads_at_once_fail_clearly(url: str) -> None:
    client = AsyncClient(url)
    errors: list[BaseException] = []
    inside = threading.Event()
    leave = threading.Event()

    async def hold() -> None:
        async with client.chat(
            "llama3.2", [{"role": "user", "content": "hi"}], stream=True
        ) as stream:
            async for _ in stream:
                inside.set()
                await asyncio.to_thread(leave.wait, 10)
                break

    thread = threading.Thread(target=lambda: asyncio.run(hold()))
    thread.start()
    assert inside.wait(10)
    try:
        asyncio.run(client.version())
    except UsageError as exc:
        errors.append(exc)
    finally:
        leave.set()
        thread.join(10)
    assert len(errors) == 1
    assert "another event loop" in str(errors[0])
    asyncio.run(client.aclose())
