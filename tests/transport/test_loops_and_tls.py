"""The aiohttp transport across event loops and over TLS, against loopback
servers: one client used from several ``asyncio.run()`` calls gets a working
session on each loop and closes what a finished loop left behind (the test
fails on a leaked socket); https is verified by default, ``ssl=`` trusts a
given CA, and is ignored for http://."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time

import pytest

from ollama_async import ConnectError

from ._scripted import (
    EXPECTED,
    LINES,
    VERSION,
    ServeFn,
    answer,
    chunked,
    client_for,
    generate_parts,
    keep_alive,
)

# -- event loops ---------------------------------------------------------------------


class _ThreadedServer:
    """A blocking keep-alive server in threads, outliving the test's loops."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        self.closed += 1
                        return
                    buffer += data
                _, _, buffer = buffer.partition(b"\r\n\r\n")
                conn.sendall(VERSION)
        except OSError:
            self.closed += 1

    def stop(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.listener.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        for thread in [self._accept_thread, *self._threads]:
            thread.join(5)


def test_client_across_event_loops() -> None:
    """One client, three ``asyncio.run()`` calls: each loop gets a working
    pool, and the connections left on a finished loop are closed (the test
    fails on a leaked socket)."""
    server = _ThreadedServer()
    try:
        client = client_for(f"http://127.0.0.1:{server.port}")

        async def call() -> str:
            return (await client.version()).version

        async def call_and_close() -> str:
            try:
                return (await client.version()).version
            finally:
                await client.aclose()

        assert asyncio.run(call()) == "0.33.0"
        assert asyncio.run(call()) == "0.33.0"
        assert asyncio.run(call_and_close()) == "0.33.0"
        deadline = time.monotonic() + 5
        while server.closed < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (server.accepted, server.closed) == (3, 3)
    finally:
        server.stop()


def test_client_closed_after_its_loop() -> None:
    """``aclose()`` on a later loop closes connections of a finished one."""
    server = _ThreadedServer()
    try:
        client = client_for(f"http://127.0.0.1:{server.port}")

        async def call() -> str:
            return (await client.version()).version

        assert asyncio.run(call()) == "0.33.0"
        asyncio.run(client.aclose())
        deadline = time.monotonic() + 5
        while server.closed < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (server.accepted, server.closed) == (1, 1)
    finally:
        server.stop()


# -- TLS ------------------------------------------------------------------------------


async def test_https_with_trusted_ca(
    scripted_server: ServeFn, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_context, client_context = tls_contexts
    server = await scripted_server(
        keep_alive(
            lambda r: chunked(LINES) if r.target == "/api/generate" else VERSION
        ),
        tls=server_context,
    )
    assert server.url.startswith("https://")
    async with client_for(server.url, ssl=client_context) as client:
        assert (await client.version()).version == "0.33.0"
        assert await generate_parts(client) == EXPECTED
    assert server.accepted == 1


async def test_https_verifies_by_default(
    scripted_server: ServeFn, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_context, _ = tls_contexts
    server = await scripted_server(answer(VERSION), tls=server_context)
    async with client_for(server.url) as client:
        with pytest.raises(ConnectError, match=r"(?i)certificate"):
            await client.version()


async def test_ssl_context_ignored_for_http(
    scripted_server: ServeFn, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """``ssl=`` configures https:// hosts; a plain http:// host stays plain."""
    server = await scripted_server(answer(VERSION))
    async with client_for(server.url, ssl=tls_contexts[1]) as client:
        assert (await client.version()).version == "0.33.0"
