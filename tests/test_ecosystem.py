"""The aiohttp ecosystem sees a default ``AsyncClient()``: an application's
own ``aioresponses()`` mocks intercept it, OpenTelemetry's aiohttp-client
instrumentation records its requests, and proxies named in the environment
carry them, all with no setup on our side."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from _aioresponses_shim import install
from aiohttp import web
from aioresponses import aioresponses
from conftest import USER_HI

from ollama_async import AsyncClient, NotFoundError
from ollama_async.testing import FakeOllama

MODEL = "llama3.2"
BASE = "http://ollama.invalid:11434"


@pytest.fixture
def app_mocks() -> Iterator[aioresponses]:
    """What an application's test suite does: patch aiohttp, nothing else."""
    undo = install()
    try:
        with aioresponses() as mocked:
            yield mocked
    finally:
        undo()


async def test_an_applications_aioresponses_intercepts_a_default_client(
    app_mocks: aioresponses,
) -> None:
    app_mocks.get(BASE + "/api/version", payload={"version": "0.12.0"})
    app_mocks.post(
        BASE + "/api/chat",
        body=(
            b'{"model":"m","created_at":"t","message":{"role":"assistant",'
            b'"content":"Hi"},"done":false}\n'
            b'{"model":"m","created_at":"t","message":{"role":"assistant",'
            b'"content":"!"},"done":true,"done_reason":"stop"}\n'
        ),
    )
    app_mocks.post(BASE + "/api/show", status=404, payload={"error": "not found"})
    async with AsyncClient(BASE) as client:
        assert (await client.version()).version == "0.12.0"
        async with client.chat(MODEL, USER_HI, stream=True) as stream:
            parts = [part.message.content async for part in stream]
        with pytest.raises(NotFoundError, match="not found"):
            await client.show(MODEL)
    assert parts == ["Hi", "!"]
    sent = [(method, str(url)) for method, url in app_mocks.requests]
    assert sent == [
        ("GET", BASE + "/api/version"),
        ("POST", BASE + "/api/chat"),
        ("POST", BASE + "/api/show"),
    ]


async def test_opentelemetry_aiohttp_instrumentation_records_our_calls(
    fake_ollama: FakeOllama,
) -> None:
    pytest.importorskip("opentelemetry.sdk")
    instrumentation = pytest.importorskip(
        "opentelemetry.instrumentation.aiohttp_client"
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = instrumentation.AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        async with AsyncClient(fake_ollama.url) as client:
            await client.version()
            async with client.chat(MODEL, USER_HI, stream=True) as stream:
                async for _ in stream:
                    pass
    finally:
        instrumentor.uninstrument()
    spans = exporter.get_finished_spans()
    methods = [span.name for span in spans]
    assert methods == ["GET", "POST"]
    urls = [
        span.attributes.get("url.full") or span.attributes.get("http.url")
        for span in spans
        if span.attributes is not None
    ]
    assert urls == [fake_ollama.url + "/api/version", fake_ollama.url + "/api/chat"]
    # The instrumentation propagates the trace context on our requests.
    assert "traceparent" in fake_ollama.requests[-1].headers


@pytest.fixture
async def forward_proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback forward proxy: sees absolute-form targets, relays them."""
    seen: list[str] = []

    async def relay(request: web.Request) -> web.Response:
        seen.append(str(request.url))
        async with (
            aiohttp.ClientSession() as upstream,
            upstream.request(
                request.method, request.url, data=await request.read()
            ) as reply,
        ):
            return web.Response(
                status=reply.status,
                body=await reply.read(),
                content_type=reply.content_type,
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", relay)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_a_proxy_from_the_environment_carries_the_calls(
    fake_ollama: FakeOllama,
    forward_proxy: tuple[str, list[str]],
    clean_proxy_env: pytest.MonkeyPatch,
    variable: str,
) -> None:
    proxy, seen = forward_proxy
    clean_proxy_env.setenv(variable, proxy)
    async with AsyncClient(fake_ollama.url) as client:
        assert (await client.version()).version
        async with client.chat(MODEL, USER_HI, stream=True) as stream:
            assert (await stream.collect()).done
    assert seen == [fake_ollama.url + "/api/version", fake_ollama.url + "/api/chat"]


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.1"])
async def test_no_proxy_exempts_a_host(
    fake_ollama: FakeOllama,
    forward_proxy: tuple[str, list[str]],
    clean_proxy_env: pytest.MonkeyPatch,
    no_proxy: str,
) -> None:
    proxy, seen = forward_proxy
    clean_proxy_env.setenv("HTTP_PROXY", proxy)
    clean_proxy_env.setenv("NO_PROXY", no_proxy)
    async with AsyncClient(fake_ollama.url) as client:
        assert (await client.version()).version
    assert seen == []
    assert fake_ollama.requests[-1].path == "/api/version"


async def test_an_https_proxy_variable_does_not_apply_to_http(
    fake_ollama: FakeOllama,
    forward_proxy: tuple[str, list[str]],
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    proxy, seen = forward_proxy
    clean_proxy_env.setenv("HTTPS_PROXY", proxy)
    async with AsyncClient(fake_ollama.url) as client:
        assert (await client.version()).version
    assert seen == []


async def test_a_callers_session_with_a_proxy_carries_the_calls(
    fake_ollama: FakeOllama, forward_proxy: tuple[str, list[str]]
) -> None:
    proxy, seen = forward_proxy
    async with (
        aiohttp.ClientSession(proxy=proxy) as session,
        AsyncClient(fake_ollama.url, session=session) as client,
    ):
        assert (await client.version()).version
        assert (await client.chat(MODEL, USER_HI)).done
    assert seen == [fake_ollama.url + "/api/version", fake_ollama.url + "/api/chat"]
