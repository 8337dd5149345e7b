"""``web_search`` and ``web_fetch`` against the emulator playing ollama.com
(never the internet): the bearer key, the request bodies, typed answers, and
the errors raised before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ollama_async import (
    AsyncClient,
    AuthenticationError,
    RequestError,
    WebFetchResponse,
    WebSearchResponse,
    WebSearchResult,
)
from ollama_async.testing import FakeOllama


@pytest.fixture
async def web() -> AsyncIterator[FakeOllama]:
    """A second emulator standing in for ollama.com."""
    async with FakeOllama() as server:
        yield server


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-test")


def test_the_default_is_ollama_com() -> None:
    assert AsyncClient.web_url == "https://ollama.com"


@pytest.mark.usefixtures("keyed")
async def test_web_search(
    client: AsyncClient, fake_ollama: FakeOllama, web: FakeOllama
) -> None:
    client.web_url = web.url
    found = await client.web_search("what is ollama?", max_results=2)
    assert isinstance(found, WebSearchResponse)
    assert len(found.results) == 2
    first = found.results[0]
    assert isinstance(first, WebSearchResult)
    assert first.title and first.url.startswith("https://") and first.content
    assert found["results"][0]["url"] == first.url  # the official dict access

    (request,) = web.requests
    assert (request.method, request.path) == ("POST", "/api/web_search")
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert request.json == {"query": "what is ollama?", "max_results": 2}
    assert fake_ollama.requests == []  # the client's own host saw nothing


@pytest.mark.usefixtures("keyed")
async def test_web_search_default_max_results(
    client: AsyncClient, web: FakeOllama
) -> None:
    client.web_url = web.url
    found = await client.web_search("ollama")
    assert web.requests[-1].json == {"query": "ollama", "max_results": 3}
    assert len(found.results) == 3


@pytest.mark.usefixtures("keyed")
async def test_web_fetch(client: AsyncClient, web: FakeOllama) -> None:
    client.web_url = web.url
    page = await client.web_fetch("https://ollama.com/blog")
    assert isinstance(page, WebFetchResponse)
    assert page.title and page.content
    assert page.links and all(link.startswith("https://") for link in page.links)
    request = web.requests[-1]
    assert request.path == "/api/web_fetch"
    assert request.json == {"url": "https://ollama.com/blog"}
    assert request.headers["Authorization"] == "Bearer sk-test"


async def test_an_explicit_key_wins(
    client: AsyncClient, web: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "from-env")
    client.web_url = web.url
    await client.web_fetch("https://example.com", api_key="explicit")
    assert web.requests[-1].headers["Authorization"] == "Bearer explicit"


async def test_a_missing_key_raises_before_sending(
    client: AsyncClient, web: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    client.web_url = web.url
    with pytest.raises(RequestError, match="OLLAMA_API_KEY"):
        await client.web_search("ollama")
    with pytest.raises(RequestError, match=r"web_fetch needs an ollama\.com API key"):
        await client.web_fetch("https://example.com")
    assert web.requests == []


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda c: c.web_search(""), "query", id="empty-query"),
        pytest.param(lambda c: c.web_search("x", 0), "max_results", id="zero"),
        pytest.param(lambda c: c.web_search("x", 11), "max_results", id="eleven"),
        pytest.param(lambda c: c.web_fetch(""), "url", id="empty-url"),
        pytest.param(
            lambda c: c.web_fetch("https://x", api_key=""), "api_key", id="blank-key"
        ),
    ],
)
async def test_bad_arguments_raise_before_sending(
    client: AsyncClient, web: FakeOllama, call: object, match: str
) -> None:
    client.web_url = web.url
    with pytest.raises(RequestError, match=match):
        await call(client)  # type: ignore[operator]
    assert web.requests == []


async def test_the_server_refusing_the_key_is_an_authentication_error(
    raw_server: object,
) -> None:
    from aiohttp import web as aioweb

    async def refuse(request: aioweb.Request) -> aioweb.Response:
        return aioweb.json_response({"error": "unauthorized"}, status=401)

    url = await raw_server(refuse)  # type: ignore[operator]
    async with AsyncClient(url) as client:
        client.web_url = url
        with pytest.raises(AuthenticationError, match="unauthorized"):
            await client.web_search("ollama", api_key="revoked")


async def test_the_emulator_wants_a_bearer_key(web: FakeOllama) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{web.url}/api/web_search", json={"query": "x"}
        ) as response:
            assert response.status == 401
        async with session.post(
            f"{web.url}/api/experimental/web_fetch", json={"url": "https://x"}
        ) as response:
            assert response.status == 200  # Ollama's forward signs it itself
            assert (await response.json())["links"]


async def test_a_client_made_for_ollama_com_uses_its_own_header(
    web: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    headers = {"Authorization": "Bearer sk-from-headers"}
    async with AsyncClient(web.url, headers=headers) as cloud:
        cloud.web_url = web.url  # this client *is* for "ollama.com"
        await cloud.web_fetch("https://ollama.com")
    assert web.requests[-1].headers["Authorization"] == "Bearer sk-from-headers"


async def test_a_local_clients_header_never_goes_to_ollama_com(
    fake_ollama: FakeOllama, web: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    headers = {"Authorization": "Bearer for-my-proxy-only"}
    async with AsyncClient(fake_ollama.url, headers=headers) as local:
        local.web_url = web.url
        with pytest.raises(RequestError, match="API key"):
            await local.web_search("q")
    assert web.requests == []
