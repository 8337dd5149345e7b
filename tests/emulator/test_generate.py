"""POST /api/generate: framing, final line, load/unload, options, errors."""

from __future__ import annotations

import re
import time

import pytest

from ollama_async.testing import FakeOllama

from .conftest import error

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
METRICS = {
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
}


async def test_stream_is_the_default(call):
    reply = await call(
        "POST", "/api/generate", json={"model": "llama3.2", "prompt": "Hi"}
    )
    assert reply.status == 200
    assert reply.content_type == "application/x-ndjson"
    assert reply.headers["Transfer-Encoding"] == "chunked"
    lines = reply.lines
    assert len(lines) == 7  # six tokens and the final line
    for line in lines[:-1]:
        assert list(line) == ["model", "created_at", "response", "done"]
        assert line["model"] == "llama3.2"  # echoes the name as sent
        assert line["done"] is False
        assert RFC3339_Z.match(line["created_at"])
    final = lines[-1]
    assert final["done"] is True
    assert final["done_reason"] == "stop"
    assert final["response"] == ""
    assert final.keys() >= METRICS
    assert all(isinstance(final[k], int) and final[k] > 0 for k in METRICS)
    assert final["eval_count"] == 6
    assert isinstance(final["context"], list)
    assert all(isinstance(t, int) for t in final["context"])
    compact = reply.body.split(b"\n")[0]
    assert b": " not in compact and b", " not in compact


async def test_stream_null_means_stream(call):
    body = {"model": "llama3.2", "prompt": "Hi", "stream": None}
    reply = await call("POST", "/api/generate", json=body)
    assert reply.content_type == "application/x-ndjson"


async def test_one_line_per_write(server, http):
    # Each line should arrive as its own chunk: read with a tiny pace so that the
    # client's reads cannot merge them.
    server.tokens_per_second = 200
    body = {"model": "llama3.2", "prompt": "Hi"}
    async with http.post(server.url + "/api/generate", json=body) as resp:
        chunks = [chunk async for chunk, _ in resp.content.iter_chunks()]
    assert len(chunks) == 7
    assert all(c.endswith(b"\n") and c.count(b"\n") == 1 for c in chunks)


async def test_non_stream_is_the_aggregate_of_the_stream(call):
    body = {"model": "llama3.2", "prompt": "Tell me a story"}
    streamed = (await call("POST", "/api/generate", json=body)).lines
    single = await call("POST", "/api/generate", json=body | {"stream": False})
    assert single.content_type == "application/json; charset=utf-8"
    assert not single.body.endswith(b"\n")
    result = single.json
    assert result["response"] == "".join(line["response"] for line in streamed)
    assert result["context"] == streamed[-1]["context"]
    assert result["done"] is True and result["done_reason"] == "stop"
    assert result.keys() >= METRICS


async def test_output_is_deterministic_per_model_and_input(call):
    async def text(model, prompt, **extra):
        body = {"model": model, "prompt": prompt, "stream": False} | extra
        return (await call("POST", "/api/generate", json=body)).json["response"]

    first = await text("llama3.2", "a")
    assert first == await text("llama3.2", "a")
    assert first != await text("llama3.2", "b")
    assert first != await text("llava:7b", "a")
    assert first != await text("llama3.2", "a", options={"seed": 7})
    assert len(first.split()) == 6


async def test_num_predict_caps_with_length(call):
    body = {"model": "llama3.2", "prompt": "Hi", "options": {"num_predict": 3}}
    lines = (await call("POST", "/api/generate", json=body)).lines
    assert len(lines) == 4
    assert lines[-1]["done_reason"] == "length"
    assert lines[-1]["eval_count"] == 3


async def test_stop_sequence_cuts_the_answer(server, call):
    server.script_reply("llama3.2", "one two STOP three")
    body = {"model": "llama3.2", "prompt": "Hi", "stream": False}
    reply = await call(
        "POST", "/api/generate", json=body | {"options": {"stop": ["STOP"]}}
    )
    assert reply.json["response"] == "one two "
    assert reply.json["done_reason"] == "stop"


async def test_scripted_and_fixed_replies(server, call):
    server.script_reply("LLAMA3.2", "Hello there!")
    body = {"model": "llama3.2", "prompt": "Hi"}
    lines = (await call("POST", "/api/generate", json=body)).lines
    assert [line["response"] for line in lines] == ["Hello", " there!", ""]
    server.models["llama3.2"].reply = "Always this."
    again = await call("POST", "/api/generate", json=body | {"stream": False})
    assert again.json["response"] == "Always this."


async def test_raw_mode_has_no_context(call):
    body = {"model": "llama3.2", "prompt": "Hi", "raw": True}
    lines = (await call("POST", "/api/generate", json=body)).lines
    assert "context" not in lines[-1]


@pytest.mark.parametrize(
    "extra", [{"system": "s"}, {"template": "t"}, {"context": [1]}]
)
async def test_raw_mode_rejects_template_system_context(call, extra):
    body = {"model": "llama3.2", "prompt": "Hi", "raw": True} | extra
    reply = await call("POST", "/api/generate", json=body)
    assert (reply.status, error(reply)) == (
        400,
        "raw mode does not support template, system, or context",
    )


async def test_context_grows_with_the_conversation(call):
    body = {"model": "llama3.2", "prompt": "Hi", "stream": False}
    first = (await call("POST", "/api/generate", json=body)).json["context"]
    second = await call("POST", "/api/generate", json=body | {"context": first})
    assert second.json["context"][: len(first)] == first


@pytest.mark.parametrize("stream", [True, False, None])
async def test_empty_prompt_loads_as_single_object(server, call, stream):
    body = {"model": "llama3.2", "stream": stream}
    reply = await call("POST", "/api/generate", json=body)
    assert reply.status == 200
    assert reply.content_type == "application/json; charset=utf-8"
    result = reply.json
    assert set(result) == {"model", "created_at", "response", "done", "done_reason"}
    assert (result["response"], result["done"], result["done_reason"]) == (
        "",
        True,
        "load",
    )
    assert server.loaded_models == ["llama3.2:latest"]


@pytest.mark.parametrize("keep_alive", [0, "0", "0s"])
async def test_empty_prompt_with_keep_alive_zero_unloads(server, call, keep_alive):
    await call("POST", "/api/generate", json={"model": "llama3.2"})
    body = {"model": "llama3.2", "keep_alive": keep_alive}
    reply = await call("POST", "/api/generate", json=body)
    assert reply.content_type == "application/json; charset=utf-8"
    assert reply.json["done_reason"] == "unload"
    assert server.loaded_models == []
    # Unloading needs the model to exist, not to be loaded.
    again = await call("POST", "/api/generate", json=body)
    assert again.json["done_reason"] == "unload"


async def test_an_embedding_model_unloads_through_generate_but_cannot_load(
    server, call
):
    # routes.go: GenerateHandler's unload check comes before scheduleRunner's
    # capability check; EmbedHandler loads on an empty (here missing) input.
    loaded = await call("POST", "/api/embed", json={"model": "nomic-embed-text"})
    assert loaded.body == b'{"model":"nomic-embed-text","embeddings":[]}'
    assert server.loaded_models == ["nomic-embed-text:latest"]
    body = {"model": "nomic-embed-text", "keep_alive": 0}
    reply = await call("POST", "/api/generate", json=body)
    assert (reply.status, reply.json["done_reason"]) == (200, "unload")
    assert server.loaded_models == []
    reply = await call("POST", "/api/generate", json={"model": "nomic-embed-text"})
    assert (reply.status, error(reply)) == (
        400,
        '"nomic-embed-text" does not support generate',
    )
    assert server.loaded_models == []


async def test_unknown_and_empty_model_are_404(call):
    reply = await call("POST", "/api/generate", json={"model": "Nope", "prompt": "x"})
    assert (reply.status, error(reply)) == (404, "model 'Nope' not found")
    reply = await call("POST", "/api/generate", json={"prompt": "x"})
    assert (reply.status, error(reply)) == (404, "model '' not found")


async def test_model_names_match_case_insensitively(call):
    for name in [
        "LLAMA3.2",
        "llama3.2:LATEST",
        "library/llama3.2",
        "registry.ollama.ai/library/llama3.2:latest",
    ]:
        reply = await call(
            "POST",
            "/api/generate",
            json={"model": name, "prompt": "x", "stream": False},
        )
        assert reply.status == 200, name
        assert reply.json["model"] == name


async def test_capability_errors(call):
    reply = await call(
        "POST", "/api/generate", json={"model": "nomic-embed-text", "prompt": "x"}
    )
    assert (reply.status, error(reply)) == (
        400,
        '"nomic-embed-text" does not support generate',
    )
    body = {"model": "llama3.2", "prompt": "x", "think": True}
    reply = await call("POST", "/api/generate", json=body)
    assert (reply.status, error(reply)) == (400, '"llama3.2" does not support thinking')
    body = {"model": "llama3.2", "prompt": "x", "suffix": "y"}
    reply = await call("POST", "/api/generate", json=body)
    assert (
        error(reply)
        == "registry.ollama.ai/library/llama3.2:latest does not support insert"
    )
    # No vision check: the runner refuses the image (test_server_parity.py).
    body = {"model": "llama3.2", "prompt": "x", "images": ["aGk="], "stream": False}
    reply = await call("POST", "/api/generate", json=body)
    assert reply.status == 400
    assert "does not support multimodal requests" in error(reply)
    ok = await call("POST", "/api/generate", json=body | {"model": "llava:7b"})
    assert ok.status == 200


async def test_think_false_on_a_plain_model_is_fine(call):
    body = {"model": "llama3.2", "prompt": "x", "think": False, "stream": False}
    assert (await call("POST", "/api/generate", json=body)).status == 200


async def test_thinking_streams_first(call):
    body = {"model": "qwen3:8b", "prompt": "Why?"}
    lines = (await call("POST", "/api/generate", json=body)).lines
    kinds = ["thinking" if "thinking" in line else "response" for line in lines[:-1]]
    assert kinds == ["thinking"] * 3 + ["response"] * 6  # thinking on by default
    assert all(line["response"] == "" for line in lines if "thinking" in line)
    off = (await call("POST", "/api/generate", json=body | {"think": False})).lines
    assert not any("thinking" in line for line in off)
    single = await call(
        "POST", "/api/generate", json=body | {"stream": False, "think": "high"}
    )
    assert len(single.json["thinking"].split()) == 6


async def test_logprobs(call):
    body = {"model": "llama3.2", "prompt": "x", "logprobs": True, "top_logprobs": 2}
    lines = (await call("POST", "/api/generate", json=body)).lines
    entry = lines[0]["logprobs"][0]
    assert entry["token"] == lines[0]["response"]
    assert entry["logprob"] <= 0
    assert len(entry["top_logprobs"]) == 2


async def test_timing_fields_reflect_pacing_and_delays(http):
    async with FakeOllama(
        response_tokens=3,
        tokens_per_second=100,
        load_delay=0.05,
        first_token_delay=0.05,
    ) as fake:
        body = {"model": "llama3.2", "prompt": "x", "stream": False}
        async with http.post(fake.url + "/api/generate", json=body) as resp:
            result = await resp.json()
    assert result["load_duration"] >= 50_000_000
    assert result["total_duration"] >= 100_000_000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/generate", {"prompt": "x"}),
        ("/api/chat", {"messages": [{"role": "user", "content": "x"}]}),
    ],
)
async def test_non_streamed_answer_takes_its_generation_time(http, path, body):
    """As with Ollama, a non-streamed answer of N tokens at R tokens/s comes
    after N / R seconds, and its eval_duration says so."""
    async with FakeOllama(response_tokens=20, tokens_per_second=100) as fake:
        request = {"model": "llama3.2", "stream": False, **body}
        started = time.monotonic()
        async with http.post(fake.url + path, json=request) as resp:
            result = await resp.json()
        elapsed = time.monotonic() - started
    assert result["eval_count"] == 20
    assert elapsed >= 0.2
    assert result["eval_duration"] >= 200_000_000


async def test_format_json_mode_gives_an_object(call):
    body = {"model": "llama3.2", "prompt": "x", "format": "json"}
    lines = (await call("POST", "/api/generate", json=body)).lines
    assert len(lines) > 3
    import json

    assert isinstance(json.loads("".join(line["response"] for line in lines)), dict)


@pytest.mark.parametrize("fmt", [5, "xml", ["a"]])
async def test_invalid_format_is_500(call, fmt):
    import json

    raw = json.dumps(fmt, separators=(",", ":"))
    message = (
        f"invalid format: {json.dumps(raw)}; "
        'expected "json" or a valid JSON Schema object'
    )
    body = {"model": "llama3.2", "prompt": "x", "format": fmt}
    reply = await call("POST", "/api/generate", json=body)
    assert reply.status == 500
    assert reply.content_type == "application/json"  # streaming was set up
    assert reply.json == {"error": message}
    single = await call("POST", "/api/generate", json=body | {"stream": False})
    assert (single.status, error(single)) == (500, message)


@pytest.mark.parametrize("fmt", ["", None])
async def test_empty_format_means_none(call, fmt):
    body = {"model": "llama3.2", "prompt": "x", "format": fmt, "stream": False}
    assert (await call("POST", "/api/generate", json=body)).status == 200


async def test_html_characters_escaped_like_go(server, call):
    server.script_reply("llama3.2", "a<b>&c")
    body = {"model": "llama3.2", "prompt": "x", "stream": False}
    reply = await call("POST", "/api/generate", json=body)
    assert b"a\\u003cb\\u003e\\u0026c" in reply.body
    assert reply.json["response"] == "a<b>&c"
