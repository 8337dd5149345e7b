"""Router behaviour: known paths, Gin's plain-text 404/405, redirects, info routes."""

from __future__ import annotations

import pytest

from ollama_async.testing import FakeOllama


async def test_root_says_ollama_is_running(call):
    reply = await call("GET", "/")
    assert reply.status == 200
    assert reply.content_type == "text/plain; charset=utf-8"
    assert reply.body == b"Ollama is running"
    head = await call("HEAD", "/")
    assert (head.status, head.body) == (200, b"")


async def test_version_get_and_head(call):
    reply = await call("GET", "/api/version")
    assert reply.status == 200
    assert reply.content_type == "application/json; charset=utf-8"
    assert reply.body == b'{"version":"0.33.0"}'
    head = await call("HEAD", "/api/version")
    assert (head.status, head.body) == (200, b"")


async def test_version_is_configurable(http):
    async with (
        FakeOllama(version="0.0.0") as fake,
        http.get(fake.url + "/api/version") as resp,
    ):
        assert await resp.json() == {"version": "0.0.0"}


@pytest.mark.parametrize("path", ["/api/list", "/api/nope", "/v2/x", "/api/blobs/a/b"])
async def test_unknown_route_is_plain_text_404(call, path):
    reply = await call("GET", path)
    assert reply.status == 404
    assert reply.content_type == "text/plain"
    assert reply.body == b"404 page not found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/chat", "POST"),
        ("POST", "/api/tags", "HEAD, GET"),
        ("GET", "/api/delete", "DELETE"),
        ("POST", "/api/delete", "DELETE"),
        ("HEAD", "/api/ps", "GET"),
        ("GET", "/api/blobs/sha256:" + "0" * 64, "HEAD, POST"),
    ],
)
async def test_wrong_method_is_plain_text_405_with_allow(call, method, path, allow):
    reply = await call(method, path)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow
    if method != "HEAD":
        assert reply.content_type == "text/plain"
        assert reply.body == b"405 method not allowed"


@pytest.mark.parametrize(("method", "status"), [("GET", 301), ("POST", 307)])
async def test_trailing_slash_redirects_to_bare_path(call, method, status):
    path = "/api/tags/" if method == "GET" else "/api/chat/"
    reply = await call(method, path)
    assert reply.status == status
    assert reply.headers["Location"] == path.rstrip("/")


async def test_v1_models_lists_installed(call):
    reply = await call("GET", "/v1/models")
    body = reply.json
    assert body["object"] == "list"
    assert {m["id"] for m in body["data"]} >= {"llama3.2:latest", "qwen3:8b"}
    assert all(m["object"] == "model" for m in body["data"])


async def test_requests_are_recorded(server, call):
    await call("POST", "/api/show", json={"model": "llama3.2"}, headers={"X-A": "1"})
    await call("GET", "/api/nope?x=1")
    first, second = server.requests
    assert (first.method, first.path) == ("POST", "/api/show")
    assert first.json == {"model": "llama3.2"}
    assert first.body == b'{"model": "llama3.2"}'
    assert first.headers["X-A"] == "1"
    assert (second.path, second.body, second.json) == ("/api/nope", b"", None)
    assert second.query["x"] == "1"
    server.reset_stats()
    assert server.requests == []


async def test_url_and_lifecycle_without_context_manager(http):
    fake = FakeOllama()
    with pytest.raises(RuntimeError):
        _ = fake.url
    await fake.start()
    try:
        assert fake.url == f"http://127.0.0.1:{fake.port}"
        assert not fake.url.endswith("/")
        with pytest.raises(RuntimeError):
            await fake.start()
        async with http.get(fake.url + "/api/version") as resp:
            assert resp.status == 200
    finally:
        await fake.stop()
    await fake.stop()  # idempotent
