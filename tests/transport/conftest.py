"""Fixtures for the tests of the aiohttp transport: the raw-bytes loopback
server (``scripted_server``), TLS contexts, a blob to upload, and a check
that runs with every test here: nothing reaches the event loop's exception
handler (an exception escaping aiohttp's protocol callbacks, a task whose
error nobody retrieved, an unclosed session or connection found by the GC).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ._scripted import Handler, ScriptedServer, ServeFn


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """The contexts the loop's exception handler was called with: none, or
    the test fails. Installed before any other fixture, checked after all of
    them are torn down (servers stopped, clients closed)."""
    loop = asyncio.get_running_loop()
    contexts: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))
    try:
        yield contexts
        await asyncio.sleep(0)  # callbacks that closes scheduled
        gc.collect()  # finalizers that report unclosed resources
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert contexts == [], contexts


@pytest.fixture
async def scripted_server() -> AsyncIterator[ServeFn]:
    """``await scripted_server(handler)`` starts a server; all stop at teardown,
    and an assertion failing inside a handler fails the test."""
    servers: list[ScriptedServer] = []

    async def serve(
        handler: Handler, tls: ssl.SSLContext | None = None
    ) -> ScriptedServer:
        server = await ScriptedServer(handler).start(tls)
        servers.append(server)
        return server

    yield serve
    for server in servers:
        await server.stop()
    for server in servers:
        assert not server.errors, server.errors


@pytest.fixture(scope="session")
def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts from a CA made for this session."""
    trustme = pytest.importorskip(
        "trustme", reason="trustme makes the test certificates"
    )
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


@pytest.fixture
def blob_file(tmp_path: Path) -> tuple[Path, str]:
    """A 5 MiB file and its digest."""
    data = bytes(range(256)) * (5 * 1024 * 1024 // 256) + b"tail"
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    return path, "sha256:" + hashlib.sha256(data).hexdigest()
