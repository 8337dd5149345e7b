"""POST /api/embed and the legacy POST /api/embeddings."""

from __future__ import annotations

import math

import pytest

from .conftest import error


def norm(vector):
    return math.sqrt(sum(x * x for x in vector))


async def embed(call, **body):
    return await call("POST", "/api/embed", json={"model": "nomic-embed-text"} | body)


async def test_vectors_are_normalised_with_the_model_dimension(call):
    reply = await embed(call, input=["hello", "world"])
    assert reply.status == 200
    assert reply.content_type == "application/json; charset=utf-8"
    body = reply.json
    assert body["model"] == "nomic-embed-text"
    assert len(body["embeddings"]) == 2
    assert all(len(v) == 768 for v in body["embeddings"])
    assert all(abs(norm(v) - 1) < 1e-5 for v in body["embeddings"])
    assert body["embeddings"][0] != body["embeddings"][1]
    assert body["prompt_eval_count"] == 2
    assert body["total_duration"] > 0 and body["load_duration"] > 0


async def test_deterministic_and_order_preserving(call):
    both = (await embed(call, input=["a", "b"])).json["embeddings"]
    single = (await embed(call, input="b")).json["embeddings"]
    assert single == [both[1]]
    other_model = (await embed(call, model="all-minilm", input="b")).status
    assert other_model == 404  # not installed, only pullable


async def test_completion_models_can_embed(call):
    body = (await embed(call, model="llama3.2", input="x")).json
    assert len(body["embeddings"][0]) == 3072


async def test_dimensions_truncate_and_renormalise(call):
    full = (await embed(call, input="x")).json["embeddings"][0]
    short = (await embed(call, input="x", dimensions=64)).json["embeddings"][0]
    assert len(short) == 64
    assert abs(norm(short) - 1) < 1e-5
    assert short[0] / full[0] == pytest.approx(1 / norm(full[:64]), rel=1e-4)
    for ignored in (0, 10_000):
        assert (
            len(
                (await embed(call, input="x", dimensions=ignored)).json["embeddings"][0]
            )
            == 768
        )


@pytest.mark.parametrize("value", ["", [], None])
async def test_empty_input_loads_the_model(server, call, value):
    reply = await embed(call, input=value)
    assert reply.body == b'{"model":"nomic-embed-text","embeddings":[]}'
    assert server.loaded_models == ["nomic-embed-text:latest"]


@pytest.mark.parametrize("value", [[1, 2], ["a", 3], 5, {"a": 1}])
async def test_invalid_input_type(call, value):
    reply = await embed(call, input=value)
    assert (reply.status, error(reply)) == (400, "invalid input type")


async def test_truncate(call):
    long_text = "word " * 3000  # nomic-embed-text's context is 2048
    reply = await embed(call, input=long_text, truncate=False)
    assert (reply.status, error(reply)) == (
        400,
        "the input length exceeds the context length",
    )
    ok = await embed(call, input=long_text)
    assert ok.status == 200
    assert ok.json["prompt_eval_count"] == 2048


async def test_embed_errors(call):
    reply = await embed(call, model="", input="x")
    assert (reply.status, error(reply)) == (404, "model '' not found")
    reply = await embed(call, model="ghost", input="x")
    assert (reply.status, error(reply)) == (
        404,
        'model "ghost" not found, try pulling it first',
    )


async def test_legacy_embeddings(call):
    reply = await call(
        "POST", "/api/embeddings", json={"model": "nomic-embed-text", "prompt": "hi"}
    )
    body = reply.json
    assert list(body) == ["embedding"]
    assert len(body["embedding"]) == 768
    assert abs(norm(body["embedding"]) - 1) > 0.1  # legacy vectors are not normalised
    empty = await call("POST", "/api/embeddings", json={"model": "nomic-embed-text"})
    assert empty.body == b'{"embedding":[]}'
    missing = await call("POST", "/api/embeddings", json={"prompt": "x"})
    assert (missing.status, error(missing)) == (400, "model is required")
    ghost = await call(
        "POST", "/api/embeddings", json={"model": "ghost", "prompt": "x"}
    )
    assert (ghost.status, error(ghost)) == (
        404,
        'model "ghost" not found, try pulling it first',
    )
