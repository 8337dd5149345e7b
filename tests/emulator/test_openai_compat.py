"""The OpenAI-compatible routes (/v1/...), through the `openai` SDK and on the wire.

The SDK tests prove that code written for OpenAI runs unchanged against the
emulator (as against Ollama); the wire tests pin Ollama's framing (server-sent
events, the finish and usage chunks, ``data: [DONE]``), its error objects and
its CORS answers, which the SDK would hide.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from ollama_async.testing import FakeOllama, Fault

from .conftest import Reply

CHAT = "/v1/chat/completions"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
ADD = {
    "type": "function",
    "function": {
        "name": "add_numbers",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


@pytest.fixture
async def sdk(server: FakeOllama) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url=server.url + "/v1", api_key="ollama", max_retries=0
    ) as client:
        yield client


def events(reply: Reply) -> list[Any]:
    """The SSE events of a reply: each ``data: ...`` block, JSON decoded
    except the final ``[DONE]``."""
    assert reply.content_type == "text/event-stream"
    assert reply.body.endswith(b"\n\n")
    blocks = reply.body[:-2].split(b"\n\n")
    assert all(block.startswith(b"data: ") for block in blocks), blocks
    payloads = [block[6:] for block in blocks]
    return [p.decode() if p == b"[DONE]" else json.loads(p) for p in payloads]


def openai_error(reply: Reply, status: int, kind: str) -> str:
    assert reply.status == status
    assert reply.content_type.startswith("application/json")
    body = reply.json
    assert list(body) == ["error"]
    assert body["error"]["type"] == kind
    assert body["error"]["param"] is None
    assert body["error"]["code"] is None
    return str(body["error"]["message"])


# --- the SDK --------------------------------------------------------------------------


async def test_sdk_chat(sdk: AsyncOpenAI) -> None:
    reply = await sdk.chat.completions.create(
        model="llama3.2", messages=[{"role": "user", "content": "Hello"}]
    )
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "llama3.2"
    assert reply.system_fingerprint == "fp_ollama"
    (choice,) = reply.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert len(choice.message.content.split()) == 6  # response_tokens=6
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 6
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 6


async def test_sdk_chat_streamed_with_usage(
    sdk: AsyncOpenAI, server: FakeOllama
) -> None:
    stream = await sdk.chat.completions.create(
        model="llama3.2",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage is not None and usage.completion_tokens == 6
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert len(text.split()) == 6
    # The same words as the single reply: one deterministic answer.
    single = await sdk.chat.completions.create(
        model="llama3.2", messages=[{"role": "user", "content": "Hello"}]
    )
    assert single.choices[0].message.content == text
    assert {c.id for c in chunks} == {chunks[0].id}
    assert server.completed_streams == 1
    assert server.active_streams == 0


async def test_sdk_completions(sdk: AsyncOpenAI) -> None:
    reply = await sdk.completions.create(
        model="llama3.2", prompt="Once upon a time", max_tokens=3
    )
    assert reply.object == "text_completion"
    assert reply.id.startswith("cmpl-")
    assert reply.choices[0].finish_reason == "length"
    assert len(reply.choices[0].text.split()) == 3
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    stream = await sdk.completions.create(
        model="llama3.2", prompt="Once upon a time", max_tokens=3, stream=True
    )
    text = "".join([chunk.choices[0].text async for chunk in stream])
    assert text == reply.choices[0].text


async def test_sdk_embeddings(sdk: AsyncOpenAI) -> None:
    # The SDK asks for base64 unless told otherwise, and decodes it.
    reply = await sdk.embeddings.create(
        model="nomic-embed-text", input=["first", "second"]
    )
    assert reply.object == "list"
    assert [d.index for d in reply.data] == [0, 1]
    assert len(reply.data[0].embedding) == 768
    assert reply.model == "nomic-embed-text"
    assert reply.usage.prompt_tokens == reply.usage.total_tokens == 2
    floats = await sdk.embeddings.create(
        model="nomic-embed-text", input="first", encoding_format="float"
    )
    assert floats.data[0].embedding == pytest.approx(reply.data[0].embedding)


async def test_sdk_models_list_and_retrieve(
    sdk: AsyncOpenAI, server: FakeOllama
) -> None:
    listed = await sdk.models.list()
    ids = [m.id for m in listed.data]
    assert ids == [m["name"] for m in (await _tags(sdk))]  # newest first
    assert all(m.owned_by == "library" and m.object == "model" for m in listed.data)
    model = await sdk.models.retrieve("llama3.2")
    assert model.id == "llama3.2"
    found = server.models.find("llama3.2")
    assert found is not None and found.modified_at is not None
    assert model.created == int(found.modified_at.timestamp())
    with pytest.raises(openai.NotFoundError) as caught:
        await sdk.models.retrieve("missing")
    assert "not found" in str(caught.value)


async def _tags(sdk: AsyncOpenAI) -> list[dict[str, Any]]:
    response = await sdk.get("/../api/tags", cast_to=object)
    assert isinstance(response, dict)
    return list(response["models"])


async def test_sdk_tool_call_picks_the_named_tool(sdk: AsyncOpenAI) -> None:
    reply = await sdk.chat.completions.create(
        model="llama3.2",
        messages=[{"role": "user", "content": "What is the weather? get weather"}],
        tools=[ADD, WEATHER],  # type: ignore[list-item]
    )
    (choice,) = reply.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"city", "unit"}
    assert arguments["unit"] in ("celsius", "fahrenheit")
    # The tool's answer goes back; the model answers in words.
    follow = await sdk.chat.completions.create(
        model="llama3.2",
        messages=[
            {"role": "user", "content": "What is the weather? get weather"},
            choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
        tools=[ADD, WEATHER],  # type: ignore[list-item]
    )
    assert follow.choices[0].finish_reason == "stop"
    assert follow.choices[0].message.content


async def test_sdk_tool_call_streamed(sdk: AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="llama3.2",
        messages=[{"role": "user", "content": "please add_numbers 2 and 3"}],
        tools=[WEATHER, ADD],  # type: ignore[list-item]
        stream=True,
    )
    chunks = [chunk async for chunk in stream]
    calls = [
        call
        for c in chunks
        if c.choices
        for call in c.choices[0].delta.tool_calls or []
    ]
    assert [c.function.name for c in calls if c.function] == ["add_numbers"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_sdk_json_object_has_the_keys_asked_for(sdk: AsyncOpenAI) -> None:
    reply = await sdk.chat.completions.create(
        model="llama3.2",
        messages=[{"role": "user", "content": "Describe a person. keys: name, age"}],
        response_format={"type": "json_object"},
    )
    content = reply.choices[0].message.content
    assert content is not None
    person = json.loads(content)
    assert list(person) == ["name", "age"]
    assert isinstance(person["name"], str) and isinstance(person["age"], int)


async def test_sdk_json_schema(sdk: AsyncOpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "size": {"enum": ["S", "M"]}},
        "required": ["city", "size"],
    }
    reply = await sdk.chat.completions.create(
        model="llama3.2",
        messages=[{"role": "user", "content": "a city"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": schema},
        },
    )
    value = json.loads(reply.choices[0].message.content or "")
    assert set(value) == {"city", "size"} and value["size"] in ("S", "M")


async def test_sdk_errors(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        await sdk.chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "x"}]
        )
    assert missing.value.message.endswith("model 'nope' not found")
    with pytest.raises(openai.BadRequestError) as empty:
        await sdk.chat.completions.create(model="llama3.2", messages=[])
    assert empty.value.message.endswith("[] is too short - 'messages'")


async def test_sdk_thinking_as_reasoning(sdk: AsyncOpenAI) -> None:
    reply = await sdk.chat.completions.create(
        model="qwen3:8b",
        messages=[{"role": "user", "content": "think"}],
        reasoning_effort="high",
    )
    message = reply.choices[0].message.model_dump()
    assert message["reasoning"] and message["content"]


# --- the wire -------------------------------------------------------------------------


async def test_chat_stream_framing(call) -> None:
    body = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    reply = await call("POST", CHAT, json=body)
    assert reply.status == 200
    *chunks, finish, usage, done = events(reply)
    assert done == "[DONE]"
    assert len(chunks) == 6  # one per token, no empty trailer chunk
    assert chunks[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": chunks[0]["choices"][0]["delta"]["content"],
    }
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:])
    assert list(chunks[0]) == [
        "id",
        "object",
        "created",
        "model",
        "system_fingerprint",
        "choices",
    ]
    assert chunks[0]["choices"][0]["finish_reason"] is None
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert usage["choices"] == []
    assert set(usage["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert {c["created"] for c in [*chunks, finish, usage]} == {chunks[0]["created"]}


async def test_chat_single_framing(call) -> None:
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "Hi"}]}
    reply = await call("POST", CHAT, json=body)
    assert reply.content_type == "application/json"
    assert reply.body.endswith(b"}\n")  # Go's json.Encoder
    assert reply.json["choices"][0]["message"]["role"] == "assistant"


async def test_completions_stream_with_usage(call) -> None:
    body = {
        "model": "llama3.2",
        "prompt": "Hi",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    *chunks, usage, done = events(await call("POST", "/v1/completions", json=body))
    assert done == "[DONE]"
    # Ollama puts zero usage on every chunk when usage is asked for.
    assert all(c["usage"]["total_tokens"] == 0 for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"][0]["text"] == ""
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 6
    assert list(chunks[0])[:5] == ["id", "object", "created", "choices", "model"]


async def test_embeddings_base64_is_little_endian_float32(call) -> None:
    body = {"model": "nomic-embed-text", "input": "x", "encoding_format": "base64"}
    encoded = (await call("POST", "/v1/embeddings", json=body)).json
    body["encoding_format"] = "float"
    floats = (await call("POST", "/v1/embeddings", json=body)).json
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert decoded == pytest.approx(floats["data"][0]["embedding"], rel=1e-6)


@pytest.mark.parametrize(
    ("path", "body", "status", "kind", "message"),
    [
        (CHAT, {"model": "llama3.2", "messages": []}, 400, "invalid_request_error",
         "[] is too short - 'messages'"),
        (CHAT, {"model": "llama3.2", "messages": "hi"}, 400, "invalid_request_error",
         "json: cannot unmarshal string into Go struct field "
         "ChatCompletionRequest.messages of type []openai.Message"),
        (CHAT, {"model": "x", "messages": [{"role": "user", "content": "x"}]}, 404,
         "not_found_error", "model 'x' not found"),
        (CHAT, {"model": "llama3.2", "messages": [{"role": "user", "content": 3}]},
         400, "invalid_request_error", "invalid message content type: float64"),
        (CHAT, {"model": "llama3.2", "messages": [{"role": "user", "content": "x"}],
                "reasoning_effort": "huge"}, 400, "invalid_request_error",
         'invalid reasoning value: "huge" (must be "minimal", "low", "medium", '
         '"high", "xhigh", "ultra", "max", or "none")'),
        ("/v1/completions", {"model": "llama3.2", "prompt": "x", "stop": [1]}, 400,
         "invalid_request_error", "invalid type for 'stop' field: float64"),
        ("/v1/embeddings", {"model": "nomic-embed-text", "input": "x",
                            "encoding_format": "hex"}, 400, "invalid_request_error",
         "Invalid value for 'encoding_format' = hex. "
         "Supported values: ['float', 'base64']."),
        ("/v1/embeddings", {"model": "nomic-embed-text", "input": []}, 400,
         "invalid_request_error", "invalid input"),
        ("/v1/embeddings", {"model": "nomic-embed-text"}, 400,
         "invalid_request_error", "invalid input"),
    ],
)  # fmt: skip
async def test_errors_are_openai_objects(call, path, body, status, kind, message):
    reply = await call("POST", path, json=body)
    assert openai_error(reply, status, kind) == message


async def test_empty_body_is_eof(call) -> None:
    reply = await call("POST", CHAT, data=b"")
    assert openai_error(reply, 400, "invalid_request_error") == "EOF"


async def test_a_fault_status_is_an_openai_error(server: FakeOllama, call) -> None:
    server.add_fault(Fault(path=CHAT, status=503, times=1))
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "x"}]}
    reply = await call("POST", CHAT, json=body)
    assert openai_error(reply, 503, "api_error")
    assert (await call("POST", CHAT, json=body)).status == 200


async def test_models_retrieve_wire(call) -> None:
    reply = await call("GET", "/v1/models/qwen3:8b")
    assert reply.content_type == "application/json"
    assert list(reply.json) == ["id", "object", "created", "owned_by"]
    assert reply.json["id"] == "qwen3:8b"
    # One path segment, as Gin's /v1/models/:model.
    assert (await call("GET", "/v1/models/a/b")).status == 404
    assert (await call("GET", "/v1/models/")).status == 301


async def test_models_list_empty_is_null(call, server: FakeOllama) -> None:
    for model in list(server.models.values()):
        await call("DELETE", "/api/delete", json={"model": model.name})
    assert (await call("GET", "/v1/models")).json == {"object": "list", "data": None}


async def test_streamed_chat_disconnect_is_counted(server: FakeOllama, http) -> None:
    server.tokens_per_second = 50
    body = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
    }
    async with http.post(server.url + CHAT, json=body) as resp:
        assert await resp.content.readuntil(b"\n\n")
    await server.wait_for_disconnects(1)
    assert server.active_streams == 0


# --- CORS ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:3000", "https://127.0.0.1", "app://obsidian.md",
     "vscode-webview://abc"],
)  # fmt: skip
async def test_cors_preflight_from_an_allowed_origin(call, origin) -> None:
    reply = await call(
        "OPTIONS",
        CHAT,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    assert reply.status == 204
    assert reply.body == b""
    headers = reply.headers
    assert headers["Access-Control-Allow-Origin"] == origin
    assert headers["Access-Control-Allow-Methods"] == (
        "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
    )
    allowed = headers["Access-Control-Allow-Headers"].split(",")
    assert {"Authorization", "Content-Type", "X-Stainless-Os"} <= set(allowed)
    assert headers["Access-Control-Max-Age"] == "43200"
    assert headers.getall("Vary") == [
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
    ]


async def test_cors_refuses_other_origins(call) -> None:
    reply = await call("OPTIONS", CHAT, headers={"Origin": "https://evil.example"})
    assert (reply.status, reply.body) == (403, b"")
    reply = await call("GET", "/api/tags", headers={"Origin": "https://evil.example"})
    assert (reply.status, reply.body) == (403, b"")


async def test_cors_headers_on_answers(call) -> None:
    origin = "http://localhost:5173"
    reply = await call("GET", "/v1/models", headers={"Origin": origin})
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == origin
    assert reply.headers["Vary"] == "Origin"
    body = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
    }
    streamed = await call("POST", CHAT, json=body, headers={"Origin": origin})
    assert streamed.headers["Access-Control-Allow-Origin"] == origin
    # Without Origin (or from the server's own origin) it is not CORS at all.
    plain = await call("OPTIONS", CHAT)
    assert plain.status == 405
    assert "Access-Control-Allow-Origin" not in plain.headers
