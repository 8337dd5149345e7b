"""Secrets stay secret through the aiohttp transport: the API key (or an
``Authorization`` header, or ``auth=`` Basic credentials) never shows in a
repr, in the ``str``/``repr``/attributes of an error or of anything chained to
it (``__cause__``, ``__context__``: aiohttp's own exceptions hold the request
headers, so none may be chained), nor in a log record at any level; and it
never leaves for another origin on a redirect.

Failures are made on the raw-bytes loopback server (a refused connection, a
timeout, a broken stream, a malformed response, a bad redirect); the
``FakeOllama`` cases cover retries and their log lines."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from ollama_async import (
    AsyncClient,
    ConnectError,
    FirstByteTimeout,
    Limits,
    MultiHostClient,
    OllamaError,
    ReadTimeout,
    RemoteProtocolError,
    Retry,
    Timeout,
    TotalTimeout,
)
from ollama_async.testing import FakeOllama, Fault

from ._scripted import (
    CHUNKED_HEAD,
    LINES,
    VERSION,
    Request,
    ServeFn,
    answer,
    assert_ours,
    chunk,
    exception_chain,
    keep_alive,
    read_request,
    response,
    until_closed,
)

SECRET = "sk-very-secret-token-123"
BASIC = base64.b64encode(f"user:{SECRET}".encode()).decode()
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", SECRET)


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # every logger (aiohttp's too), every level
    yield caplog


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_clean(*texts: object) -> None:
    for text in texts:
        for secret in (SECRET, BASIC):
            assert secret not in str(text)
            assert secret not in repr(text)


def _assert_error_clean(exc: BaseException) -> None:
    assert_ours(exc)
    for item in exception_chain(exc):
        _assert_clean(item, item.args, getattr(item, "__dict__", {}))


def _assert_logs_clean(log: pytest.LogCaptureFixture) -> None:
    for record in log.records:
        _assert_clean(record.getMessage(), record.args, record.exc_text)
    _assert_clean(log.text)


async def test_reprs_do_not_show_the_key(fake_ollama: FakeOllama) -> None:
    own = {"Authorization": f"Bearer {SECRET}"}
    async with AsyncClient(fake_ollama.url, headers=own) as client:
        await client.version()
        _assert_clean(client, client.timeout, client.retry, Limits(), Timeout())
        _assert_clean(client.with_options(retry=None), client._transport)
    async with MultiHostClient([fake_ollama.url]) as multi:
        _assert_clean(multi, multi.hosts)
    async with AsyncClient(fake_ollama.url, auth=("user", SECRET)) as basic:
        await basic.version()
        _assert_clean(basic, basic.with_options(retry=None))


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
    assert fake_ollama.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert any(r.name == "ollama_async" for r in every_log.records)
    for error in errors:
        _assert_error_clean(error)
    _assert_logs_clean(every_log)


# -- failures on the raw-bytes server -----------------------------------------------

Scenario = Callable[[ServeFn], Awaitable[tuple[str, dict[str, Any]]]]


async def _refused(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    return f"http://127.0.0.1:{_free_port()}", {}


async def _silent(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await until_closed(reader)

    server = await serve(handler)
    return server.url, {"timeout": Timeout(first_byte=0.1)}


async def _stalled_stream(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(CHUNKED_HEAD + chunk(LINES[0]))
        await until_closed(reader)

    server = await serve(handler)
    return server.url, {"timeout": Timeout(read=0.1)}


async def _slow_total(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    url, _ = await _stalled_stream(serve)
    return url, {"timeout": Timeout(total=0.1)}


async def _broken_stream(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(CHUNKED_HEAD + chunk(LINES[0]) + b"ff\r\n{")
        await writer.drain()
        writer.transport.abort()

    server = await serve(handler)
    return server.url, {}


async def _malformed(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"))
    return server.url, {}


async def _bad_redirect(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    data = response(status="302 Found", headers=("Location: http://[::1",))
    server = await serve(answer(data))
    return server.url, {}


async def _redirect_then_refused(serve: ServeFn) -> tuple[str, dict[str, Any]]:
    location = f"http://localhost:{_free_port()}/api/generate"
    data = response(status="307 Temporary Redirect", headers=(f"Location: {location}",))
    server = await serve(answer(data))
    return server.url, {}


_SCENARIOS: dict[str, tuple[Scenario, type[OllamaError]]] = {
    "connect-error": (_refused, ConnectError),
    "first-byte-timeout": (_silent, FirstByteTimeout),
    "read-timeout": (_stalled_stream, ReadTimeout),
    "total-timeout": (_slow_total, TotalTimeout),
    "broken-stream": (_broken_stream, RemoteProtocolError),
    "malformed-response": (_malformed, RemoteProtocolError),
    "bad-redirect": (_bad_redirect, RemoteProtocolError),
    "redirect-then-refused": (_redirect_then_refused, ConnectError),
}


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({}, id="OLLAMA_API_KEY"),
        pytest.param({"headers": {"Authorization": f"Bearer {SECRET}"}}, id="header"),
        pytest.param({"auth": ("user", SECRET)}, id="basic"),
    ],
)
@pytest.mark.parametrize(
    ("scenario", "expected"), list(_SCENARIOS.values()), ids=list(_SCENARIOS)
)
async def test_failures_do_not_show_the_key(
    scripted_server: ServeFn,
    every_log: pytest.LogCaptureFixture,
    scenario: Scenario,
    expected: type[OllamaError],
    credentials: dict[str, Any],
) -> None:
    """Each failure, raised by a plain call and by a stream (and retried once,
    so the retry's log line is checked too): our error, clean all the way
    down its chain, and clean logs."""
    url, options = await scenario(scripted_server)
    retry = Retry(attempts=2, backoff=0)
    async with AsyncClient(url, retry=retry, **credentials, **options) as client:
        with pytest.raises(expected) as plain:
            await client.generate("m", "hi")
        with pytest.raises(expected) as streamed:
            async with client.generate("m", "hi", stream=True) as stream:
                async for _ in stream:
                    pass
    for error in (plain.value, streamed.value):
        _assert_error_clean(error)
    _assert_logs_clean(every_log)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_origin_drops_the_credentials(
    raw_server: Any, status: int
) -> None:
    """As the official client (httpx) does: the redirect is followed, and
    Authorization (with Cookie and Proxy-Authorization) stays behind.
    (tests/transport/test_redirects.py checks the same on raw bytes, for
    every kind of Location.)"""
    reached: list[web.Request] = []

    async def elsewhere(request: web.Request) -> web.Response:
        reached.append(request)
        return web.json_response({"version": "0.9.0"})

    other = await raw_server(elsewhere)
    redirect = {
        301: web.HTTPMovedPermanently,
        302: web.HTTPFound,
        303: web.HTTPSeeOther,
        307: web.HTTPTemporaryRedirect,
        308: web.HTTPPermanentRedirect,
    }[status]

    async def redirecting(request: web.Request) -> web.Response:
        raise redirect(f"{other}/api/version")

    async with AsyncClient(
        await raw_server(redirecting), headers={"Authorization": f"Bearer {SECRET}"}
    ) as client:
        assert (await client.version()).version == "0.9.0"
    assert len(reached) == 1
    assert "Authorization" not in reached[0].headers


async def test_a_same_origin_redirect_keeps_the_credentials(raw_server: Any) -> None:
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


async def test_a_redirect_back_to_our_origin_stays_without_credentials(
    scripted_server: ServeFn,
) -> None:
    """Once a redirect left our origin, a later hop back to it does not get
    the key again (as in httpx: each hop starts from the previous request's
    headers)."""
    bounce = await scripted_server(answer(b""))

    def respond(request: Request) -> bytes:
        if request.target == "/api/version":
            location = f"{bounce.url}/bounce"
        else:
            return VERSION
        return response(status="302 Found", headers=(f"Location: {location}",))

    first = await scripted_server(keep_alive(respond))
    bounce.handler = answer(
        response(status="302 Found", headers=(f"Location: {first.url}/back",))
    )
    async with AsyncClient(first.url, retry=None) as client:
        assert (await client.version()).version == "0.33.0"
    assert [r.target for r in first.requests] == ["/api/version", "/back"]
    assert first.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    assert "authorization" not in bounce.requests[0].headers
    assert "authorization" not in first.requests[1].headers
