"""Body decoding errors worded like Go's encoding/json; keep_alive and think."""

from __future__ import annotations

import pytest

from .conftest import error

GENERATE = "/api/generate"


@pytest.mark.parametrize(
    "path", ["/api/generate", "/api/chat", "/api/embed", "/api/show", "/api/pull"]
)
@pytest.mark.parametrize("body", [b"", b"  \n"])
async def test_missing_body(call, path, body):
    reply = await call("POST", path, data=body)
    assert (reply.status, error(reply)) == (400, "missing request body")


async def test_missing_body_on_delete(call):
    reply = await call("DELETE", "/api/delete")
    assert (reply.status, error(reply)) == (400, "missing request body")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"xyz", "invalid character 'x' looking for beginning of value"),
        (b'{"model":', "unexpected EOF"),
        (b'{"model" "x"}', "invalid character '\"' after object key"),
        (b'{"model":"x" "y"}', "invalid character '\"' after object key:value pair"),
        (
            b"{model:1}",
            "invalid character 'm' looking for beginning of object key string",
        ),
        (b'{"a":[1 2]}', "invalid character '2' after array element"),
        (b'{"a":tru}', "invalid character '}' in literal true (expecting 'e')"),
        (b'{"a":-x}', "invalid character 'x' in numeric literal"),
        (b'{"a":"\\q"}', "invalid character 'q' in string escape code"),
        (b'{"a":"\n"}', "invalid character '\\n' in string literal"),
    ],
)
async def test_syntax_errors_use_go_wording(call, body, message):
    reply = await call("POST", GENERATE, data=body)
    assert (reply.status, error(reply)) == (400, message)


async def test_only_the_first_json_value_is_read(call):
    reply = await call("POST", GENERATE, data=b'{"model":"llama3.2"} trailing junk')
    assert reply.status == 200
    assert reply.json["done_reason"] == "load"


async def test_content_type_is_ignored(call):
    reply = await call(
        "POST",
        GENERATE,
        data=b'{"model":"llama3.2"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 200


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            GENERATE,
            {"model": "llama3.2", "prompt": 5},
            "json: cannot unmarshal number into Go struct field "
            "GenerateRequest.prompt of type string",
        ),
        (
            GENERATE,
            {"model": "llama3.2", "context": "abc"},
            "json: cannot unmarshal string into Go struct field "
            "GenerateRequest.context of type []int",
        ),
        (
            GENERATE,
            {"model": "llama3.2", "top_logprobs": 1.5},
            "json: cannot unmarshal number 1.5 into Go struct field "
            "GenerateRequest.top_logprobs of type int",
        ),
        (
            "/api/chat",
            {
                "model": "llama3.2",
                "messages": [{"role": "user", "content": [{"type": "text"}]}],
            },
            "json: cannot unmarshal array into Go struct field "
            "ChatRequest.messages.content of type string",
        ),
        (
            "/api/chat",
            {"model": "llama3.2", "messages": ["hi"]},
            "json: cannot unmarshal string into Go struct field "
            "ChatRequest.messages of type api.Message",
        ),
        (
            "/api/chat",
            {"model": "llama3.2", "options": "fast"},
            "json: cannot unmarshal string into Go struct field "
            "ChatRequest.options of type map[string]interface {}",
        ),
        (
            "/api/pull",
            {"model": "llama3.2", "stream": "no"},
            "json: cannot unmarshal string into Go struct field "
            "PullRequest.stream of type bool",
        ),
    ],
)
async def test_type_errors_use_go_wording(call, path, body, message):
    reply = await call("POST", path, json=body)
    assert (reply.status, error(reply)) == (400, message)


async def test_top_level_array_is_a_type_error(call):
    reply = await call("POST", "/api/chat", json=[1])
    assert error(reply) == (
        "json: cannot unmarshal array into Go value of type api.ChatRequest"
    )


async def test_null_body_is_an_empty_request(call):
    reply = await call("POST", "/api/chat", data=b"null")
    assert (reply.status, error(reply)) == (400, "model is required")


@pytest.mark.parametrize(
    ("keep_alive", "message"),
    [
        ("300", 'time: missing unit in duration "300"'),
        ("-1", 'time: missing unit in duration "-1"'),
        ("5 minutes", 'time: unknown unit " minutes" in duration "5 minutes"'),
        ("abc", 'time: invalid duration "abc"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        (True, "Unsupported type: 'bool'"),
        ([1], "Unsupported type: '[]interface {}'"),
    ],
)
async def test_bad_keep_alive(call, keep_alive, message):
    body = {"model": "llama3.2", "prompt": "hi", "keep_alive": keep_alive}
    reply = await call("POST", GENERATE, json=body)
    assert (reply.status, error(reply)) == (400, message)


@pytest.mark.parametrize(
    "keep_alive", [0, "0", "0s", 1.5, "5m", "1h30m", "500ms", "-1m", -1, None]
)
async def test_good_keep_alive(call, keep_alive):
    body = {
        "model": "llama3.2",
        "prompt": "hi",
        "keep_alive": keep_alive,
        "stream": False,
    }
    reply = await call("POST", GENERATE, json=body)
    assert reply.status == 200


async def test_invalid_think_value(call):
    body = {"model": "qwen3:8b", "prompt": "hi", "think": "extreme"}
    reply = await call("POST", GENERATE, json=body)
    assert (reply.status, error(reply)) == (
        400,
        'invalid think value: "extreme" (must be "high", "medium", "low", "max", '
        "true, or false)",
    )
    reply = await call("POST", GENERATE, json=body | {"think": 3})
    assert error(reply) == (
        'think must be a boolean or string ("high", "medium", "low", "max", '
        "true, or false)"
    )


@pytest.mark.parametrize("value", [-1, 21])
async def test_top_logprobs_range(call, value):
    body = {"model": "llama3.2", "prompt": "hi", "top_logprobs": value}
    reply = await call("POST", GENERATE, json=body)
    assert (reply.status, error(reply)) == (
        400,
        "top_logprobs must be between 0 and 20",
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("stop", "\n", 'option "stop" must be of type array'),
        ("temperature", "hot", 'option "temperature" must be of type float32'),
        ("num_predict", "many", 'option "num_predict" must be of type integer'),
        ("use_mmap", 1, 'option "use_mmap" must be of type boolean'),
        ("stop", [1], 'option "stop" must be of an array of strings'),
    ],
)
async def test_option_type_errors_are_500_after_lookup(call, option, value, message):
    body = {"model": "llama3.2", "prompt": "hi", "options": {option: value}}
    reply = await call("POST", GENERATE, json=body)
    assert (reply.status, error(reply)) == (500, message)
    missing = await call("POST", GENERATE, json=body | {"model": "nope"})
    assert missing.status == 404


async def test_unknown_options_and_fields_are_ignored(call):
    body = {
        "model": "llama3.2",
        "prompt": "hi",
        "stream": False,
        "options": {"mirostat": 2, "tfs_z": 1.0, "num_predict": 2.9},
        "width": 10,
        "brand_new_field": {"x": 1},
    }
    reply = await call("POST", GENERATE, json=body)
    assert reply.status == 200
    assert reply.json["eval_count"] == 2
