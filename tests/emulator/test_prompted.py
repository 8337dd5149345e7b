"""Answers that follow the prompt: JSON keys, the tool named, valid arguments;
a pulled model's modified_at; the counters served at /_fake/stats."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_async.testing import FakeOllama
from ollama_async.testing._generation import json_keys, pick_tool


def _tool(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "parameters": parameters or {"type": "object"}},
    }


@pytest.mark.parametrize(
    ("prompt", "keys"),
    [
        ("Return JSON with keys: name, age", ["name", "age"]),
        ("fields: title and year. Thanks!", ["title", "year"]),
        ("Give me the `name` and `age` of a person", ["name", "age"]),
        ('Reply with "city", "country" and "city" again', ["city", "country"]),
        ("Just some JSON please", []),
    ],
)
def test_json_keys_rule(prompt: str, keys: list[str]) -> None:
    assert json_keys(prompt) == keys


async def test_generate_json_has_the_keys_asked_for(call) -> None:
    body = {
        "model": "llama3.2",
        "prompt": "A book as JSON. keys: title, year, price, is_available",
        "format": "json",
        "stream": False,
    }
    answer = json.loads(
        (await call("POST", "/api/generate", json=body)).json["response"]
    )
    assert list(answer) == ["title", "year", "price", "is_available"]
    assert isinstance(answer["title"], str)
    assert isinstance(answer["year"], int)
    assert isinstance(answer["price"], float)
    assert isinstance(answer["is_available"], bool)


async def test_chat_json_uses_the_last_user_message(call) -> None:
    body = {
        "model": "llama3.2",
        "messages": [
            {"role": "user", "content": "keys: a"},
            {"role": "assistant", "content": "{}"},
            {"role": "user", "content": 'Now with "name" and "age"'},
        ],
        "format": "json",
        "stream": False,
    }
    reply = await call("POST", "/api/chat", json=body)
    assert list(json.loads(reply.json["message"]["content"])) == ["name", "age"]


async def test_json_without_keys_keeps_the_default_object(call) -> None:
    body = {
        "model": "llama3.2",
        "prompt": "anything",
        "format": "json",
        "stream": False,
    }
    answer = json.loads(
        (await call("POST", "/api/generate", json=body)).json["response"]
    )
    assert set(answer) == {"answer", "confidence"}


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("call lookup_user for bob", "lookup_user"),
        ("Please LOOKUP USER then send mail", "lookup_user"),  # spaces, any case
        ("send-mail first, then lookup_user", "send-mail"),  # earliest mention
        ("no tool named here", "get_time"),  # the first tool
    ],
)
def test_pick_tool(prompt: str, expected: str) -> None:
    tools = [_tool("get_time"), _tool("lookup_user"), _tool("send-mail")]
    assert pick_tool(tools, prompt)["function"]["name"] == expected


async def test_chat_calls_the_tool_the_prompt_names(call) -> None:
    tools = [
        _tool("get_time"),
        _tool(
            "get_weather",
            {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7},
                    "unit": {"type": "string", "enum": ["c", "f"]},
                },
                "required": ["city", "days", "unit"],
            },
        ),
    ]
    body = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Use get_weather for Oslo"}],
        "tools": tools,
        "stream": False,
    }
    reply = await call("POST", "/api/chat", json=body)
    (tool_call,) = reply.json["message"]["tool_calls"]
    assert tool_call["function"]["name"] == "get_weather"
    arguments = tool_call["function"]["arguments"]
    jsonschema.validate(arguments, tools[1]["function"]["parameters"])


_SCALARS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number", "minimum": -5, "maximum": 5},
        {"type": "boolean"},
        {"type": "string", "enum": ["red", "green", "blue"]},
        {"type": "integer", "enum": [1, 2, 3]},
        {"type": "array", "items": {"type": "string"}},
        {"type": "string", "minLength": 3, "maxLength": 5},
        {"type": ["string", "null"]},
    ]
)
_SCHEMAS = st.recursive(
    _SCALARS,
    lambda inner: st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, min_size=1, max_size=4
    ).flatmap(
        lambda props: st.lists(st.sampled_from(sorted(props)), unique=True).map(
            lambda required: {
                "type": "object",
                "properties": props,
                "required": required,
            }
        )
    ),
    max_leaves=8,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    params=_SCHEMAS.filter(lambda s: s.get("type") == "object"),
    prompt=st.text(max_size=20),
)
def test_tool_arguments_are_valid_for_the_schema(
    params: dict[str, Any], prompt: str
) -> None:
    from ollama_async.testing import _generation as gen

    call = gen.default_tool_call(_tool("f", params), gen.rng_for(prompt))
    jsonschema.validate(call["arguments"], params)
    assert set(params["required"]) <= set(call["arguments"])


async def test_a_model_pulled_now_is_modified_now(call, server: FakeOllama) -> None:
    before = datetime.now().astimezone() - timedelta(seconds=1)
    reply = await call(
        "POST", "/api/pull", json={"model": "gemma3:1b", "stream": False}
    )
    assert reply.json == {"status": "success"}
    tags = (await call("GET", "/api/tags")).json["models"]
    assert tags[0]["name"] == "gemma3:1b"  # newest first
    assert datetime.fromisoformat(tags[0]["modified_at"]) >= before
    # Pulling an installed model again writes its manifest again, too.
    await call("POST", "/api/pull", json={"model": "llama3.2", "stream": False})
    tags = (await call("GET", "/api/tags")).json["models"]
    assert tags[0]["name"] == "llama3.2:latest"
    assert datetime.fromisoformat(tags[0]["modified_at"]) >= before


async def test_stats_endpoint(call, server: FakeOllama) -> None:
    await call("GET", "/api/version")
    body = {"model": "llama3.2", "prompt": "x"}
    await call("POST", "/api/generate", json=body)
    reply = await call("GET", "/_fake/stats")
    assert reply.status == 200
    assert reply.content_type == "application/json; charset=utf-8"
    stats = reply.json
    assert stats == server.stats()
    assert stats["requests"] == 2  # reading the counters is not a request
    assert stats["completed_streams"] == 1
    assert stats["active_streams"] == stats["disconnects"] == 0
    assert stats["loaded_models"] == ["llama3.2:latest"]
    assert set(stats) == {
        "requests",
        "active_streams",
        "completed_streams",
        "disconnects",
        "aborted_streams",
        "busy_rejections",
        "running",
        "queued",
        "peak_running",
        "loaded_models",
    }
    assert len(server.requests) == 2
    assert (await call("POST", "/_fake/stats")).status == 404
