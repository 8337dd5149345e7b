"""The emulator is safe to run: loopback by default, and, like Ollama on
loopback, it refuses requests whose Host header is not local (403, empty)."""

from __future__ import annotations

import aiohttp
import pytest

from ollama_async import AsyncClient, PermissionDeniedError
from ollama_async.testing import FakeOllama


async def test_binds_to_loopback_by_default() -> None:
    async with FakeOllama() as server:
        assert server.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("127.0.0.1:11434", 200, id="loopback"),
        pytest.param("localhost", 200, id="localhost"),
        pytest.param("[::1]:11434", 200, id="ipv6-loopback"),
        pytest.param("192.168.1.20", 200, id="private"),
        pytest.param("gpu.internal", 200, id="internal"),
        pytest.param("box.local:8080", 200, id="mdns"),
        pytest.param("evil.example.com", 403, id="public-name"),
        pytest.param("8.8.8.8", 403, id="public-ip"),
    ],
)
async def test_host_header_check(host: str, status: int) -> None:
    async with (
        FakeOllama() as server,
        aiohttp.ClientSession() as session,
        session.get(server.url + "/api/version", headers={"Host": host}) as r,
    ):
        assert r.status == status
        if status == 403:
            assert await r.read() == b""


async def test_the_check_can_be_turned_off() -> None:
    async with (
        FakeOllama(allow_any_host=True) as server,
        aiohttp.ClientSession() as s,
        s.get(server.url + "/api/version", headers={"Host": "x.com"}) as r,
    ):
        assert r.status == 200


async def test_the_client_reports_the_403(fake_ollama: FakeOllama) -> None:
    async with AsyncClient(fake_ollama.url, headers={"Host": "evil.example.com"}) as c:
        with pytest.raises(PermissionDeniedError) as info:
            await c.version()
    assert info.value.status_code == 403
    assert info.value.error == "Forbidden"
