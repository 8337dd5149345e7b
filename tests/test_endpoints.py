"""The endpoint table: its rows are consistent, the emulator (written apart
from it, so the two cannot share a mistake) serves every row, and the facts a
row holds are what the client acts on."""

from __future__ import annotations

import aiohttp
import pytest

from ollama_async import MultiHostClient
from ollama_async._endpoints import ENDPOINTS, Endpoint
from ollama_async.testing import FakeOllama

_LOCAL = [e for e in ENDPOINTS if not e.path.startswith("/api/web_")]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_a_row_streams_with_both_rules_or_with_neither(
    endpoint: Endpoint[object],
) -> None:
    assert (endpoint.is_final is None) == (endpoint.fold is None)
    assert endpoint.method in ("GET", "HEAD", "POST", "DELETE")
    if endpoint.loads_model:
        assert endpoint.request is not None
        assert "model" in endpoint.request.__struct_fields__


def test_each_route_has_one_row() -> None:
    routes = [(e.method, e.path) for e in ENDPOINTS]
    assert len(routes) == len(set(routes))


@pytest.mark.parametrize("endpoint", _LOCAL, ids=lambda e: f"{e.method} {e.path}")
async def test_the_emulator_serves_every_row(
    fake_ollama: FakeOllama, endpoint: Endpoint[object]
) -> None:
    path = endpoint.path.format(digest="sha256:" + "0" * 64)
    async with (
        aiohttp.ClientSession() as session,
        session.request(endpoint.method, fake_ollama.url + path, data=b"{}") as reply,
    ):
        body = await reply.read()
    # Gin's answers for a route it does not have: 404 "404 page not found" in
    # plain text, or 405 for a path with other methods.
    assert reply.status != 405, body
    assert body != b"404 page not found"


async def test_multihost_learns_loaded_models_from_the_rows_that_load_them() -> None:
    async with (
        FakeOllama() as server,
        MultiHostClient([server.url], refresh_interval=0) as client,
    ):
        host = client.hosts[0]
        await client.show("llama3.2")
        assert host.loaded == set()  # show reads the model, never loads it
        await client.embeddings("nomic-embed-text", "x")
        assert host.loaded == {"nomic-embed-text:latest"}
        await client.chat("llama3.2", [{"role": "user", "content": "Hi"}])
        assert host.loaded == {"nomic-embed-text:latest", "llama3.2:latest"}
