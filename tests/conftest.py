"""Shared fixtures: the emulator (``fake_ollama`` comes from our own pytest
plugin, registered as an entry point) and a client bound to it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from ollama_async import AsyncClient
from ollama_async.testing import FakeOllama, _plugin

# Our own plugin's fixture; pyproject disables the entry point (see addopts).
fake_ollama = _plugin.fake_ollama


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


USER_HI = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(fake_ollama.url) as client:
        yield client


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Serve one handler for every path on a loopback port; returns its URL.

    For wire shapes the emulator deliberately never produces (a stream that
    ends cleanly without its final line, a body that never ends, ...).
    """
    runners: list[web.AppRunner] = []

    async def serve(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield serve
    for runner in runners:
        await runner.cleanup()
