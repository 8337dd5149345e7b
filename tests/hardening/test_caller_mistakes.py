"""A blob digest, model name, host or header that could change where a
request goes or what it says is rejected before anything is sent."""

from __future__ import annotations

import pytest

from ollama_async import AsyncClient, RequestError
from ollama_async.testing import FakeOllama


@pytest.mark.parametrize(
    "digest",
    [
        pytest.param("sha256:../../api/delete", id="traversal"),
        pytest.param("sha256:" + "a" * 63 + "\r\nX: y", id="crlf"),
        pytest.param("sha256:" + "a" * 64 + "/../x", id="suffix-path"),
        pytest.param("sha256:" + "A" * 64 + "?q=1", id="query"),
        pytest.param("md5:" + "a" * 32, id="other-algorithm"),
        pytest.param("sha256: " + "a" * 64, id="space"),
    ],
)
async def test_bad_digests(fake_ollama: FakeOllama, digest: str) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        with pytest.raises(RequestError, match="digest"):
            await client.blob_exists(digest)
        with pytest.raises(RequestError, match="digest"):
            await client.create("m", files={"model.gguf": digest})
    assert fake_ollama.requests == []


@pytest.mark.parametrize(
    "model",
    [
        pytest.param("llama3.2\r\nHost: evil", id="crlf"),
        pytest.param("llama 3.2", id="space"),
        pytest.param("llama\x00", id="nul"),
        pytest.param("\tllama", id="tab"),
        pytest.param("", id="empty"),
    ],
)
async def test_bad_model_names(fake_ollama: FakeOllama, model: str) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        with pytest.raises(RequestError):
            await client.chat(model, [{"role": "user", "content": "hi"}])
        with pytest.raises(RequestError):
            await client.pull(model)
        with pytest.raises(RequestError):
            await client.copy("llama3.2", model)
    assert fake_ollama.requests == []


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("http://evil.com@127.0.0.1", id="credentials"),
        pytest.param("127.0.0.1/../../x", id="traversal"),
        pytest.param("127.0.0.1\r\nX: y", id="crlf"),
        pytest.param("127.0.0.1?x=1", id="query"),
        pytest.param("file:///etc/passwd", id="scheme"),
        pytest.param("127.0.0.1:99999", id="port"),
    ],
)
def test_bad_hosts(host: str) -> None:
    with pytest.raises(RequestError):
        AsyncClient(host)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Id": "1\r\nInjected: yes"}, id="crlf-value"),
        pytest.param({"X Id": "1"}, id="space-name"),
        pytest.param({"X-Id:": "1"}, id="colon-name"),
        pytest.param({"X-Id": "\x00"}, id="nul-value"),
    ],
)
def test_bad_headers(headers: dict[str, str]) -> None:
    with pytest.raises(RequestError):
        AsyncClient("127.0.0.1", headers=headers)
