"""Secrets stay secret: an API key or Authorization header never shows in a
repr, an exception message or a log record at any level, and never leaves
for another origin on a redirect."""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Iterator

import pytest
from aiohttp import web

from ollama_async import (
    AsyncClient,
    Limits,
    MultiHostClient,
    OllamaError,
    RemoteProtocolError,
    Retry,
    Timeout,
)
from ollama_async.testing import FakeOllama, Fault

SECRET = "sk-very-secret-token-123"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", SECRET)


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    yield caplog


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_clean(*texts: object) -> None:
    for text in texts:
        assert SECRET not in str(text)
        assert SECRET not in repr(text)


async def test_reprs_do_not_show_the_key(fake_ollama: FakeOllama) -> None:
    own = {"Authorization": f"Bearer {SECRET}"}
    async with AsyncClient(fake_ollama.url, headers=own) as client:
        await client.version()
        _assert_clean(client, client.timeout, client.retry, Limits(), Timeout())
        _assert_clean(client.with_options(retry=None))
    async with MultiHostClient([fake_ollama.url]) as multi:
        _assert_clean(multi, multi.hosts)
    async with AsyncClient(fake_ollama.url, auth=("user", SECRET)) as basic:
        await basic.version()
        _assert_clean(basic, basic.with_options(retry=None))
        token = base64.b64encode(f"user:{SECRET}".encode()).decode()
        assert token not in repr(basic)


async def test_errors_and_logs_do_not_show_the_key(
    fake_ollama: FakeOllama, every_log: pytest.LogCaptureFixture
) -> None:
    errors: list[BaseException] = []
    fake_ollama.add_fault(Fault(status=503, times=2, retry_after=0))
    retry = Retry(attempts=3, backoff=0)
    async with AsyncClient(fake_ollama.url, retry=retry) as client:
        await client.chat("llama3.2", HI)  # two logged retries, then success
        with pytest.raises(OllamaError) as missing:
            await client.chat("no-such-model", HI)
        fake_ollama.add_fault(Fault(error_after=1, times=1))
        with pytest.raises(OllamaError) as broken:
            await client.chat("llama3.2", HI, stream=True).collect()
        with pytest.raises(OllamaError) as unknown:
            await client.show("nope")
        errors += [missing.value, broken.value, unknown.value]
    async with AsyncClient(f"127.0.0.1:{_free_port()}", retry=retry) as refused:
        with pytest.raises(OllamaError) as info:
            await refused.version()
        errors.append(info.value)
    assert fake_ollama.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert len(errors) == 4
    assert any(r.name == "ollama_async" for r in every_log.records)
    _assert_clean(*errors, *(e.__cause__ for e in errors))
    for record in every_log.records:
        _assert_clean(record.getMessage(), record.args)
    _assert_clean(every_log.text)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_origin_drops_the_credentials(
    raw_server, status: int
) -> None:
    """As the official client (httpx) does: the redirect is followed, and
    Authorization (with Cookie and Proxy-Authorization) stays behind."""
    reached: list[web.Request] = []

    async def elsewhere(request: web.Request) -> web.Response:
        reached.append(request)
        return web.json_response({"version": "0.9.0"})

    other = await raw_server(elsewhere)

    async def redirecting(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{other}/api/version") if status == 302 else {
            301: web.HTTPMovedPermanently,
            303: web.HTTPSeeOther,
            307: web.HTTPTemporaryRedirect,
            308: web.HTTPPermanentRedirect,
        }[status](f"{other}/api/version")

    async with AsyncClient(
        await raw_server(redirecting), headers={"Authorization": f"Bearer {SECRET}"}
    ) as client:
        assert (await client.version()).version == "0.9.0"
    assert len(reached) == 1
    assert "Authorization" not in reached[0].headers


async def test_a_same_origin_redirect_keeps_the_credentials(raw_server) -> None:
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        if request.path == "/api/version":
            raise web.HTTPTemporaryRedirect("/moved/version")
        return web.json_response({"version": "0.9.0"})

    async with AsyncClient(
        await raw_server(handler), headers={"Authorization": f"Bearer {SECRET}"}
    ) as client:
        assert (await client.version()).version == "0.9.0"
    assert [r.path for r in seen] == ["/api/version", "/moved/version"]
    assert all(r.headers["Authorization"] == f"Bearer {SECRET}" for r in seen)
