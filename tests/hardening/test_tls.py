"""TLS: verification is on by default, a private CA goes in through ``ssl=``,
and turning verification off takes a loud name and logs a warning."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ollama_async import AsyncClient, ConnectError

trustme = pytest.importorskip("trustme")


@pytest.fixture
def ca() -> object:
    return trustme.CA()


@pytest.fixture
async def https_url(ca) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"version": "tls"})

    app = web.Application()
    app.router.add_get("/api/version", version)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_an_untrusted_certificate_is_refused(https_url: str) -> None:
    async with AsyncClient(https_url, retry=None) as client:
        with pytest.raises(ConnectError, match=r"(?i)certificate"):
            await client.version()


async def test_a_private_ca_through_ssl(https_url: str, ca) -> None:  # type: ignore[no-untyped-def]
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with AsyncClient(https_url, ssl=context) as client:
        assert (await client.version()).version == "tls"


async def test_skipping_verification_is_loud(
    https_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ollama_async")
    async with AsyncClient(https_url, dangerously_skip_tls_verify=True) as client:
        assert (await client.version()).version == "tls"
    assert "verification is disabled" in caplog.text
    with pytest.raises(ValueError, match="not both"):
        AsyncClient(
            https_url,
            ssl=ssl.create_default_context(),
            dangerously_skip_tls_verify=True,
        )
