"""POST /api/chat: framing, tools, thinking, structured output, errors."""

from __future__ import annotations

import json
import re

import pytest

from ollama_async.testing import FakeModel, FakeOllama

from .conftest import error

USER = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city"],
        },
    },
}
CALL_ID = re.compile(r"^call_[a-z0-9]{8}$")


async def chat(call, **body):
    return await call(
        "POST", "/api/chat", json={"model": "llama3.2", "messages": USER} | body
    )


async def test_stream_framing(call):
    reply = await chat(call)
    assert reply.content_type == "application/x-ndjson"
    lines = reply.lines
    assert len(lines) == 7
    for line in lines[:-1]:
        assert list(line) == ["model", "created_at", "message", "done"]
        assert line["message"]["role"] == "assistant"
        assert isinstance(line["message"]["content"], str)
    final = lines[-1]
    assert final["message"] == {"role": "assistant", "content": ""}
    assert final["done"] is True and final["done_reason"] == "stop"
    assert "context" not in final
    assert final["prompt_eval_count"] > 0 and final["eval_count"] == 6


async def test_non_stream_aggregates(call):
    streamed = (await chat(call)).lines
    single = await chat(call, stream=False)
    assert single.content_type == "application/json; charset=utf-8"
    message = single.json["message"]
    assert message == {
        "role": "assistant",
        "content": "".join(line["message"]["content"] for line in streamed),
    }


async def test_model_required_and_not_found(call):
    reply = await call("POST", "/api/chat", json={"messages": USER})
    assert (reply.status, error(reply)) == (400, "model is required")
    reply = await chat(call, model="ghost:1b")
    assert (reply.status, error(reply)) == (404, "model 'ghost:1b' not found")


async def test_capability_errors(call):
    reply = await chat(call, model="nomic-embed-text")
    assert (reply.status, error(reply)) == (
        400,
        '"nomic-embed-text" does not support chat',
    )
    reply = await chat(call, model="llava:7b", tools=[WEATHER])
    assert (reply.status, error(reply)) == (
        400,
        "registry.ollama.ai/library/llava:7b does not support tools",
    )
    reply = await chat(call, think="low")
    assert error(reply) == '"llama3.2" does not support thinking'
    # No vision check: the runner refuses the image (test_server_parity.py).
    images = [{"role": "user", "content": "see", "images": ["aGk="]}]
    reply = await chat(call, messages=images, stream=False)
    assert reply.status == 400
    assert "does not support multimodal requests" in error(reply)
    assert (await chat(call, model="llava:7b", messages=images)).status == 200


async def test_bad_base64_image(call):
    images = [{"role": "user", "content": "see", "images": ["***"]}]
    reply = await chat(call, model="llava:7b", messages=images)
    assert (reply.status, error(reply)) == (400, "illegal base64 data at input byte 0")


@pytest.mark.parametrize("stream", [True, False])
async def test_load_and_unload(server, call, stream):
    reply = await chat(call, messages=[], stream=stream)
    assert reply.content_type == "application/json; charset=utf-8"
    assert reply.json["message"] == {"role": "assistant", "content": ""}
    assert reply.json["done_reason"] == "load"
    assert server.loaded_models == ["llama3.2:latest"]
    reply = await chat(call, messages=[], keep_alive=0, stream=stream)
    assert reply.json["done_reason"] == "unload"
    assert server.loaded_models == []


async def test_default_tool_call_from_schema(call):
    lines = (await chat(call, tools=[WEATHER])).lines
    calls = [line for line in lines if line["message"].get("tool_calls")]
    assert len(calls) == 1
    assert calls[0]["message"]["content"] == ""
    assert calls[0]["done"] is False
    (tool_call,) = calls[0]["message"]["tool_calls"]
    assert CALL_ID.match(tool_call["id"])
    function = tool_call["function"]
    assert function["index"] == 0 and function["name"] == "get_weather"
    args = function["arguments"]
    assert isinstance(args["city"], str)
    assert args["unit"] in ("celsius", "fahrenheit")
    assert 1 <= args["days"] <= 7
    assert lines[-1]["done"] is True


async def test_tool_calls_in_non_stream_reply(call):
    reply = (await chat(call, tools=[WEATHER], stream=False)).json
    assert reply["message"]["content"] == ""
    assert reply["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert reply["done_reason"] == "stop"


async def test_answers_in_words_after_a_tool_result(call):
    messages = [
        *USER,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
            ],
        },
        {"role": "tool", "content": "22C", "tool_name": "get_weather"},
    ]
    reply = (await chat(call, tools=[WEATHER], messages=messages, stream=False)).json
    assert "tool_calls" not in reply["message"]
    assert reply["message"]["content"]


async def test_scripted_tool_calls(server, call):
    script = [
        {"name": "lookup", "arguments": {"q": "x"}},
        {"name": "other", "arguments": {}},
    ]
    server.script_tool_calls("llama3.2", script)
    reply = (await chat(call, tools=[WEATHER], stream=False)).json
    names = [c["function"]["name"] for c in reply["message"]["tool_calls"]]
    assert names == ["lookup", "other"]
    assert [c["function"]["index"] for c in reply["message"]["tool_calls"]] == [0, 1]
    # The script is consumed: the next request falls back to the default.
    again = (await chat(call, tools=[WEATHER], stream=False)).json
    assert again["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


async def test_fake_model_tool_calls(http):
    model = FakeModel(
        name="toolbox:1b",
        capabilities=("completion", "tools"),
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}],
    )
    async with FakeOllama(models=[model]) as fake:
        body = {
            "model": "toolbox:1b",
            "messages": USER,
            "tools": [WEATHER],
            "stream": False,
        }
        async with http.post(fake.url + "/api/chat", json=body) as resp:
            reply = await resp.json()
    assert reply["message"]["tool_calls"][0]["function"]["arguments"] == {
        "city": "Oslo"
    }


async def test_string_arguments_are_rejected(call):
    messages = [
        *USER,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "f", "arguments": '{"a":1}'}}],
        },
    ]
    reply = await chat(call, messages=messages)
    assert reply.status == 400
    assert error(reply).startswith("json: cannot unmarshal string into Go struct field")


async def test_thinking_then_content(call):
    lines = (await chat(call, model="qwen3:8b")).lines
    thinking = [line for line in lines if "thinking" in line["message"]]
    assert thinking == lines[: len(thinking)]
    assert all(line["message"]["content"] == "" for line in thinking)
    single = (await chat(call, model="qwen3:8b", stream=False)).json["message"]
    assert single["thinking"] == "".join(
        line["message"]["thinking"] for line in thinking
    )
    off = (await chat(call, model="qwen3:8b", think=False, stream=False)).json[
        "message"
    ]
    assert "thinking" not in off


def check(instance, schema, root=None):
    """A small independent JSON-schema validator for the keywords tested here."""
    root = root or schema
    if "$ref" in schema:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return check(instance, node, root)
    if "anyOf" in schema:
        return any(_ok(instance, s, root) for s in schema["anyOf"]) or _fail(
            instance, schema
        )
    if "enum" in schema:
        assert instance in schema["enum"]
    kind = schema.get("type")
    types = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "null": type(None),
    }
    if kind:
        assert isinstance(instance, types[kind]), (instance, kind)
        if kind in ("integer", "number"):
            assert not isinstance(instance, bool)
            assert (
                schema.get("minimum", -1e18) <= instance <= schema.get("maximum", 1e18)
            )
    if kind == "object":
        assert set(schema.get("required", [])) <= instance.keys()
        for key, sub in schema.get("properties", {}).items():
            if key in instance:
                check(instance[key], sub, root)
    if kind == "array":
        assert (
            schema.get("minItems", 0) <= len(instance) <= schema.get("maxItems", 10**9)
        )
        for item in instance:
            check(item, schema.get("items", {}), root)
    if kind == "string":
        assert (
            schema.get("minLength", 0)
            <= len(instance)
            <= schema.get("maxLength", 10**9)
        )
    return True


def _ok(instance, schema, root):
    try:
        return check(instance, schema, root)
    except AssertionError:
        return False


def _fail(instance, schema):
    raise AssertionError((instance, schema))


SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3, "maxLength": 20},
        "age": {"type": "integer", "minimum": 18, "maximum": 99},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "active": {"type": "boolean"},
        "role": {"enum": ["admin", "user"]},
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 2,
            "maxItems": 4,
        },
        "address": {"$ref": "#/$defs/address"},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "pets": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"kind": {"type": "string"}, "legs": {"type": "integer"}},
                "required": ["kind", "legs"],
            },
        },
    },
    "required": ["name", "age", "address"],
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city"],
        }
    },
}


@pytest.mark.parametrize("stream", [True, False])
async def test_structured_output_matches_the_schema(call, stream):
    reply = await chat(call, format=SCHEMA, stream=stream)
    if stream:
        lines = reply.lines
        assert len(lines) > 10  # streamed as many small chunks
        text = "".join(line["message"]["content"] for line in lines)
    else:
        text = reply.json["message"]["content"]
    document = json.loads(text)
    assert check(document, SCHEMA)
    assert list(document)[:3] == ["name", "age", "score"]  # schema order


@pytest.mark.parametrize("prompt", ["a", "b", "c", "d", "e", "f"])
async def test_structured_output_many_seeds(call, prompt):
    messages = [{"role": "user", "content": prompt}]
    text = (await chat(call, format=SCHEMA, messages=messages, stream=False)).json
    assert check(json.loads(text["message"]["content"]), SCHEMA)


async def test_roles_are_free_form(call):
    messages = [
        {"role": "SYSTEM", "content": "be brief"},
        {"role": "User", "content": "hi"},
    ]
    assert (await chat(call, messages=messages, stream=False)).status == 200
