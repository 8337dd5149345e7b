"""Wire types: the reference's example payloads decode (leniently), responses
answer dict-style access, and requests encode exactly what must be sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from ollama_async.types import (
    UNSET,
    ChatRequest,
    ChatResponse,
    CloudStatus,
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbedRequest,
    EmbedResponse,
    GenerateRequest,
    GenerateResponse,
    ListResponse,
    Message,
    Options,
    ProcessResponse,
    ProgressResponse,
    PullRequest,
    PushRequest,
    ServerStatus,
    ShowRequest,
    ShowResponse,
    StatusResponse,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolFunction,
    ToolParameters,
    UserResponse,
    VersionResponse,
)


def decode(payload: bytes, type_: type[Any]) -> Any:
    return msgspec.json.decode(payload, type=type_)


def encode(request: msgspec.Struct) -> dict[str, Any]:
    """The request as the server receives it."""
    result: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(request))
    return result


UTC = dt.UTC
MINUS_7 = dt.timezone(dt.timedelta(hours=-7))

# -- generate ------------------------------------------------------------------

GENERATE_CHUNK = (
    b'{"model":"llama3.2","created_at":"2025-10-26T17:21:21.196249Z",'
    b'"response":"The","done":false}'
)
GENERATE_FINAL = (
    b'{"model":"llama3.2","created_at":"2025-10-26T17:21:22.5362Z","response":"",'
    b'"done":true,"done_reason":"stop","context":[128006,9125,128007,271],'
    b'"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,'
    b'"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}'
)


def test_generate_chunk() -> None:
    chunk = decode(GENERATE_CHUNK, GenerateResponse)
    assert (chunk.model, chunk.response, chunk.done) == ("llama3.2", "The", False)
    assert chunk.created_at == "2025-10-26T17:21:21.196249Z"
    assert chunk.context is None
    assert chunk.done_reason is None
    assert chunk.eval_count is None  # metrics are omitted on chunks


def test_generate_final() -> None:
    final = decode(GENERATE_FINAL, GenerateResponse)
    assert final.done is True
    assert final.done_reason == "stop"
    assert final.context == [128006, 9125, 128007, 271]
    assert (final.total_duration, final.load_duration) == (4883583458, 1334875)
    assert (final.prompt_eval_count, final.prompt_eval_duration) == (26, 342546000)
    assert (final.eval_count, final.eval_duration) == (282, 4535599000)


def test_generate_thinking_logprobs_tool_calls_and_remote() -> None:
    payload = (
        b'{"model":"gpt-oss:20b-cloud","created_at":"2025-10-26T17:21:21Z",'
        b'"response":"","thinking":"Let me think","done":true,'
        b'"tool_calls":[{"function":{"index":0,"name":"f","arguments":{"x":1}}}],'
        b'"logprobs":[{"token":"Hi","logprob":-0.25,"bytes":[72,105],'
        b'"top_logprobs":[{"token":"Hi","logprob":-0.25},{"token":"Hey",'
        b'"logprob":-1.5,"bytes":[72,101,121]}]}],'
        b'"remote_model":"gpt-oss:20b","remote_host":"https://ollama.com:443"}'
    )
    r = decode(payload, GenerateResponse)
    assert r.thinking == "Let me think"
    assert r.tool_calls == [
        ToolCall(function=ToolCallFunction(name="f", arguments={"x": 1}, index=0))
    ]
    assert r.tool_calls[0].id is None  # generate's tool calls carry no id
    (lp,) = r.logprobs
    assert (lp.token, lp.logprob, lp.bytes) == ("Hi", -0.25, [72, 105])
    assert [t.token for t in lp.top_logprobs] == ["Hi", "Hey"]
    assert lp.top_logprobs[0].bytes is None
    assert (r.remote_model, r.remote_host) == (
        "gpt-oss:20b",
        "https://ollama.com:443",
    )


@pytest.mark.parametrize("reason", ["load", "unload"])
def test_generate_load_and_unload_replies(reason: str) -> None:
    payload = (
        b'{"model":"llama3.2","created_at":"2025-10-26T17:21:21Z","response":"",'
        b'"done":true,"done_reason":"' + reason.encode() + b'"}'
    )
    r = decode(payload, GenerateResponse)
    assert (r.response, r.done, r.done_reason) == ("", True, reason)


def test_generate_debug_info() -> None:
    payload = (
        b'{"model":"m","created_at":"2025-10-26T17:21:21Z","response":"","done":true,'
        b'"_debug_info":{"rendered_template":"<|user|>hi","image_count":1}}'
    )
    r = decode(payload, GenerateResponse)
    assert r.debug_info.rendered_template == "<|user|>hi"
    assert r.debug_info.image_count == 1
    assert r["_debug_info"] is r["debug_info"] is r.debug_info


# -- chat ----------------------------------------------------------------------

CHAT_CHUNK = (
    b'{"model":"llama3.2","created_at":"2025-10-26T17:21:21.196249Z",'
    b'"message":{"role":"assistant","content":"The"},"done":false}'
)
CHAT_FINAL = (
    b'{"model":"llama3.2","created_at":"2025-10-26T17:21:22.5362Z",'
    b'"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",'
    b'"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,'
    b'"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}'
)
CHAT_TOOL_CALL = (
    b'{"model":"qwen3","created_at":"2025-10-26T17:21:21Z","message":{"role":'
    b'"assistant","content":"","thinking":"weather?","tool_calls":[{"id":'
    b'"call_ab12cd34","function":{"index":0,"name":"get_weather","arguments":'
    b'{"city":"Tokyo","days":3}}}]},"done":false}'
)


def test_chat_chunk() -> None:
    chunk = decode(CHAT_CHUNK, ChatResponse)
    assert chunk.message == Message(role="assistant", content="The")
    assert chunk.done is False


def test_chat_final() -> None:
    final = decode(CHAT_FINAL, ChatResponse)
    assert final.message.content == ""
    assert final.done_reason == "stop"
    assert final.eval_count == 282
    assert not hasattr(final, "context")  # chat has no context


def test_chat_tool_call() -> None:
    r = decode(CHAT_TOOL_CALL, ChatResponse)
    (call,) = r.message.tool_calls
    assert call.id == "call_ab12cd34"
    assert call.function.name == "get_weather"
    assert call.function.index == 0
    assert call.function.arguments == {"city": "Tokyo", "days": 3}
    assert list(call.function.arguments) == ["city", "days"]  # order kept
    assert r.message.thinking == "weather?"


@pytest.mark.parametrize("reason", ["load", "unload"])
def test_chat_load_and_unload_replies(reason: str) -> None:
    payload = (
        b'{"model":"llama3.2","created_at":"2025-10-26T17:21:21Z","message":'
        b'{"role":"assistant","content":""},"done":true,"done_reason":"'
        + reason.encode()
        + b'"}'
    )
    r = decode(payload, ChatResponse)
    assert (r.message.content, r.done, r.done_reason) == ("", True, reason)


# -- embeddings ----------------------------------------------------------------


def test_embed() -> None:
    payload = (
        b'{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221],'
        b'[-0.0098027075,0.06042469,0.025257962]],"total_duration":14143917,'
        b'"load_duration":1019500,"prompt_eval_count":8}'
    )
    r = decode(payload, EmbedResponse)
    assert r.model == "all-minilm"
    assert r.embeddings == [
        [0.010071029, -0.0017594862, 0.05007221],
        [-0.0098027075, 0.06042469, 0.025257962],
    ]
    assert (r.total_duration, r.load_duration, r.prompt_eval_count) == (
        14143917,
        1019500,
        8,
    )


def test_embed_load_only_reply() -> None:
    r = decode(b'{"model":"all-minilm","embeddings":[]}', EmbedResponse)
    assert r.embeddings == []
    assert r.total_duration is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            b'{"embedding":[0.5670403838157654,-1.25e-05]}',
            [0.5670403838157654, -1.25e-05],
            id="vector",
        ),
        pytest.param(b'{"embedding":[]}', [], id="empty-prompt"),
    ],
)
def test_embeddings(payload: bytes, expected: list[float]) -> None:
    r = decode(payload, EmbeddingsResponse)
    assert r.embedding == expected


# -- model management ----------------------------------------------------------

DETAILS = (
    b'{"parent_model":"","format":"gguf","family":"llama","families":["llama"],'
    b'"parameter_size":"3.2B","quantization_level":"Q4_K_M"}'
)
DIGEST = "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"


def test_tags() -> None:
    payload = (
        b'{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest",'
        b'"modified_at":"2025-10-20T09:42:01.123456789-07:00","size":2019393189,'
        b'"digest":"' + DIGEST.encode() + b'","details":' + DETAILS + b","
        b'"capabilities":["completion","tools"]},{"name":"old:latest",'
        b'"model":"old:latest","modified_at":"2024-01-01T00:00:00Z","size":1,'
        b'"digest":"' + DIGEST.encode() + b'","details":{"families":null}}]}'
    )
    r = decode(payload, ListResponse)
    first, second = r.models
    assert first.name == first.model == "llama3.2:latest"
    assert first.modified_at == dt.datetime(
        2025, 10, 20, 9, 42, 1, 123457, tzinfo=MINUS_7
    )
    assert first.size == 2019393189
    assert first.digest == DIGEST
    assert first.details.family == "llama"
    assert first.details.families == ["llama"]
    assert first.details.parameter_size == "3.2B"
    assert first.details.quantization_level == "Q4_K_M"
    assert first.capabilities == ["completion", "tools"]
    assert second.details.families is None
    assert second.capabilities is None


def test_tags_empty() -> None:
    assert decode(b'{"models":[]}', ListResponse).models == []
    assert decode(b"{}", ListResponse).models == []


def test_show() -> None:
    payload = (
        b'{"license":"LLAMA 3.2 COMMUNITY LICENSE","modelfile":"FROM llama3.2",'
        b'"parameters":"stop                           \\"<|eot_id|>\\"",'
        b'"template":"{{ .Prompt }}","details":' + DETAILS + b","
        b'"model_info":{"general.architecture":"llama","general.parameter_count":'
        b'3212749888,"llama.context_length":131072,"tokenizer.ggml.tokens":[]},'
        b'"tensors":[{"name":"token_embd.weight","type":"Q6_K","shape":[3072,128256]}],'
        b'"capabilities":["completion","tools"],'
        b'"modified_at":"2025-10-20T09:42:01.5-07:00"}'
    )
    r = decode(payload, ShowResponse)
    assert r.parameters == 'stop                           "<|eot_id|>"'
    assert r.model_info["general.architecture"] == "llama"
    assert r.model_info["llama.context_length"] == 131072
    assert r.modelinfo is r.model_info  # the official client's name
    assert r.tensors[0].shape == [3072, 128256]
    assert r.tensors[0].type == "Q6_K"
    assert r.capabilities == ["completion", "tools"]
    assert r.modified_at == dt.datetime(2025, 10, 20, 9, 42, 1, 500000, tzinfo=MINUS_7)
    assert r.system is None
    assert r.projector_info is None


def test_show_minimal() -> None:
    r = decode(
        b'{"model_info":{},"details":{},"modified_at":"0001-01-01T00:00:00Z"}',
        ShowResponse,
    )
    assert r.model_info == {}
    assert r.modified_at == dt.datetime(1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        pytest.param(
            "2318-02-08T14:06:42.993587123-07:00",
            dt.datetime(2318, 2, 8, 14, 6, 42, 993587, tzinfo=MINUS_7),
            id="keep-forever-9-digits-offset",
        ),
        pytest.param(
            "2025-10-26T17:26:21.196249123+05:30",
            dt.datetime(
                2025,
                10,
                26,
                17,
                26,
                21,
                196249,
                tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)),
            ),
            id="9-digits-positive-offset",
        ),
        pytest.param(
            "2025-10-26T17:26:21Z",
            dt.datetime(2025, 10, 26, 17, 26, 21, tzinfo=UTC),
            id="no-fraction",
        ),
        pytest.param(
            "2025-10-26T17:26:21.1Z",
            dt.datetime(2025, 10, 26, 17, 26, 21, 100000, tzinfo=UTC),
            id="one-digit",
        ),
        pytest.param(
            "0001-01-01T00:00:00Z", dt.datetime(1, 1, 1, tzinfo=UTC), id="zero-time"
        ),
    ],
)
def test_ps_expires_at(stamp: str, expected: dt.datetime) -> None:
    payload = (
        b'{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest",'
        b'"size":3357704192,"size_vram":3357704192,"digest":"'
        + DIGEST.encode()
        + b'","details":'
        + DETAILS
        + b',"expires_at":"'
        + stamp.encode()
        + b'","context_length":4096}]}'
    )
    (model,) = decode(payload, ProcessResponse).models
    assert model.expires_at == expected
    assert model.expires_at.utcoffset() == expected.utcoffset()
    assert (model.size, model.size_vram, model.context_length) == (
        3357704192,
        3357704192,
        4096,
    )


@pytest.mark.parametrize(
    ("payload", "status", "digest", "total", "completed"),
    [
        pytest.param(
            b'{"status":"pulling manifest"}',
            "pulling manifest",
            None,
            None,
            None,
            id="status-only",
        ),
        pytest.param(
            b'{"status":"pulling 6a0746a1ec1a","digest":"sha256:6a0746a1ec1a",'
            b'"total":4661211424,"completed":241970}',
            "pulling 6a0746a1ec1a",
            "sha256:6a0746a1ec1a",
            4661211424,
            241970,
            id="layer",
        ),
        pytest.param(
            b'{"status":"quantizing F16 model to Q4_K_M","digest":"0",'
            b'"total":100,"completed":7}',
            "quantizing F16 model to Q4_K_M",
            "0",
            100,
            7,
            id="create-quantize",
        ),
        pytest.param(
            b'{"status":"success"}', "success", None, None, None, id="success"
        ),
    ],
)
def test_progress(
    payload: bytes,
    status: str,
    digest: str | None,
    total: int | None,
    completed: int | None,
) -> None:
    r = decode(payload, ProgressResponse)
    assert (r.status, r.digest, r.total, r.completed) == (
        status,
        digest,
        total,
        completed,
    )


@pytest.mark.parametrize("version", ["0.33.0", "0.0.0"])
def test_version(version: str) -> None:
    payload = b'{"version":"' + version.encode() + b'"}'
    assert decode(payload, VersionResponse).version == version


# -- account and cloud status ----------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "disabled", "source"),
    [
        # ollama/ollama app/tools/cloud_policy_test.go and cmd/launch tests.
        (b'{"cloud":{"disabled":false,"source":"none"}}', False, "none"),
        (b'{"cloud":{"disabled":true,"source":"config"}}', True, "config"),
        # server/routes_cloud_test.go TestStatusHandler (OLLAMA_NO_CLOUD=1).
        (b'{"cloud":{"disabled":true,"source":"env"}}', True, "env"),
        (b'{"cloud":{"disabled":true,"source":"both"}}', True, "both"),
    ],
)
def test_server_status(payload: bytes, disabled: bool, source: str) -> None:
    r = decode(payload, ServerStatus)
    assert isinstance(r.cloud, CloudStatus)
    assert (r.cloud.disabled, r.cloud.source) == (disabled, source)
    assert r["cloud"]["disabled"] is disabled


def test_server_status_needs_cloud_disabled() -> None:
    # Without it "cloud on" could not be told from "no answer".
    for payload in (b"{}", b'{"cloud":{"source":"none"}}'):
        with pytest.raises(msgspec.ValidationError):
            decode(payload, ServerStatus)
    assert decode(b'{"cloud":{"disabled":false}}', ServerStatus).cloud.source is None


def test_user_every_field() -> None:
    # Every field of Go's api.UserResponse, in its order, as WhoamiHandler sends it.
    payload = (
        b'{"id":"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d","email":"parth@example.com",'
        b'"name":"parth","bio":"hi","avatarurl":"avatars/parth.png",'
        b'"firstname":"Parth","lastname":"S","plan":"pro"}'
    )
    r = decode(payload, UserResponse)
    assert (r.id, r.email, r.name, r.bio) == (
        "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
        "parth@example.com",
        "parth",
        "hi",
    )
    assert (r.avatar_url, r.first_name, r.last_name, r.plan) == (
        "avatars/parth.png",
        "Parth",
        "S",
        "pro",
    )
    assert r["avatarurl"] == r["avatar_url"] == "avatars/parth.png"
    assert r["firstname"] == "Parth" and r.get("lastname") == "S"
    assert msgspec.json.encode(r) == payload
    assert r.to_dict() == msgspec.json.decode(payload)


@pytest.mark.parametrize(
    "payload",
    [
        # ollama/ollama cmd/launch/integrations_test.go TestLaunchAccountState.
        b'{"name":"parth","plan":"pro"}',
        # cmd/launch/launch_test.go.
        b'{"name":"test-user","plan":"free"}',
    ],
)
def test_user_minimal(payload: bytes) -> None:
    r = decode(payload, UserResponse)
    assert r.name and r.plan
    assert (r.id, r.email, r.bio, r.avatar_url, r.first_name, r.last_name) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert "avatarurl" not in r


def test_empty_user_has_an_empty_name() -> None:
    # Go's clients read `{}` (an empty UserResponse) as signed out.
    r = decode(b'{"email":"","zodiac":"leo"}', UserResponse)
    assert (r.name, r.email) == ("", "")


# -- leniency ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "type_"),
    [
        pytest.param(
            b'{"model":"m","created_at":"x","response":"","done":true,"new_metric":{"a":[1]},'
            b'"tool_calls":[{"function":{"name":"f","arguments":{},"future":1},"kind":"x"}]}',
            GenerateResponse,
            id="generate",
        ),
        pytest.param(
            b'{"model":"m","created_at":"x","done":false,"message":{"role":"assistant",'
            b'"content":"","audio":"..."},"usage":{"x":1}}',
            ChatResponse,
            id="chat",
        ),
        pytest.param(
            b'{"models":[{"name":"a","shiny":true,"details":{"new":1}}],"next":null}',
            ListResponse,
            id="tags",
        ),
        pytest.param(b'{"status":"success","eta":3}', ProgressResponse, id="progress"),
        pytest.param(b'{"version":"1","commit":"abc"}', VersionResponse, id="version"),
        pytest.param(
            b'{"embedding":[],"model":"m"}', EmbeddingsResponse, id="embeddings"
        ),
        pytest.param(b'{"embeddings":[],"truncated":false}', EmbedResponse, id="embed"),
        pytest.param(
            b'{"model_info":{},"renderer":"x","requires":"0.12","spdx":1}',
            ShowResponse,
            id="show",
        ),
        pytest.param(
            b'{"models":[{"expires_at":"2318-01-01T00:00:00Z","gpu":0}]}',
            ProcessResponse,
            id="ps",
        ),
    ],
)
def test_unknown_fields_are_ignored(payload: bytes, type_: type[Any]) -> None:
    decoded = decode(payload, type_)
    assert isinstance(decoded, type_)


def test_omitted_fields_are_defaulted() -> None:
    g = decode(b'{"response":"x"}', GenerateResponse)
    assert (g.model, g.created_at, g.done, g.thinking, g.logprobs) == (
        "",
        None,
        False,
        None,
        None,
    )
    c = decode(b'{"message":{"role":"assistant"}}', ChatResponse)
    assert c.message.content == ""
    assert c.message.tool_calls is None
    call = decode(b'{"function":{"name":"f"}}', ToolCall)
    assert call.function.arguments == {}
    assert call.function.index is None
    m = decode(b'{"models":[{}]}', ProcessResponse).models[0]
    assert (m.name, m.model, m.expires_at, m.details) == ("", "", None, None)
    s = decode(b"{}", ShowResponse)
    assert s.model_info is None and s.details is None
    assert decode(b"{}", StatusResponse).status is None


@pytest.mark.parametrize(
    ("payload", "type_"),
    [
        pytest.param(
            b'{"error":"boom"}',
            GenerateResponse,
            id="error-line-is-not-a-generate-chunk",
        ),
        pytest.param(b'{"model":"m"}', ChatResponse, id="chat-without-message"),
        pytest.param(b"{}", ProgressResponse, id="progress-without-status"),
        pytest.param(
            b'{"error":"boom"}', VersionResponse, id="error-line-is-not-a-version"
        ),
        pytest.param(b'{"response":1}', GenerateResponse, id="wrong-type"),
    ],
)
def test_required_fields_are_required(payload: bytes, type_: type[Any]) -> None:
    # What lets the stream tell an {"error": ...} line from a chunk.
    with pytest.raises(msgspec.ValidationError):
        decode(payload, type_)


# -- dict-style access ---------------------------------------------------------


def test_dict_style_access_nests() -> None:
    r = decode(CHAT_TOOL_CALL, ChatResponse)
    assert r["message"]["content"] == ""
    assert r["message"]["tool_calls"][0]["function"]["arguments"]["city"] == "Tokyo"
    assert r["model"] == "qwen3"


def test_in_means_set_to_something() -> None:
    r = decode(CHAT_CHUNK, ChatResponse)
    assert "message" in r
    assert "done" in r  # False is a value
    assert "thinking" not in r["message"]  # None is "absent"
    assert "eval_count" not in r
    assert "nonsense" not in r
    assert 1 not in r  # type: ignore[operator]
    assert "from" in CreateRequest(model="m", stream=True, from_="base")
    assert "from" not in CreateRequest(model="m", stream=True)  # UNSET is absent


def test_get() -> None:
    r = decode(CHAT_CHUNK, ChatResponse)
    assert r.get("model") == "llama3.2"
    assert r.get("eval_count") is None
    # As in the official client (getattr): None, not the default; see test_mapping.
    assert r.get("eval_count", 0) is None
    assert r.get("nonsense", "default") == "default"
    assert r["message"].get("content") == "The"


def test_wire_name_and_attribute_name_are_both_keys() -> None:
    request = CreateRequest(model="m", stream=False, from_="llama3.2")
    assert request["from"] == request["from_"] == "llama3.2"
    params = ToolParameters(defs={"Point": {"type": "object"}})
    assert params["$defs"] == params["defs"] == {"Point": {"type": "object"}}


def test_unknown_key_raises_key_error() -> None:
    r = decode(CHAT_CHUNK, ChatResponse)
    with pytest.raises(KeyError, match="nonsense"):
        r["nonsense"]
    with pytest.raises(KeyError):
        r["message"]["nonsense"]


def test_setitem() -> None:
    r = decode(CHAT_CHUNK, ChatResponse)
    r["message"]["content"] = "edited"
    r["done_reason"] = "stop"
    assert r.message.content == "edited"
    assert r.done_reason == "stop"
    request = CreateRequest(model="m", stream=False)
    request["from"] = "base"
    assert request.from_ == "base"
    with pytest.raises(ValueError, match='"ChatResponse" object has no field'):
        r["nonsense"] = 1  # pydantic's error, as the official client raises


def test_to_dict_uses_wire_names_and_drops_unset() -> None:
    request = CreateRequest(model="m", stream=False, from_="base")
    assert request.to_dict() == {"model": "m", "stream": False, "from": "base"}


# -- requests ------------------------------------------------------------------


def test_generate_request_omits_unset_fields_but_always_sends_stream() -> None:
    assert encode(GenerateRequest(model="m", stream=False)) == {
        "model": "m",
        "stream": False,
    }
    assert encode(GenerateRequest(model="m", stream=True)) == {
        "model": "m",
        "stream": True,
    }


@pytest.mark.parametrize(
    ("think", "expected"),
    [
        pytest.param(False, {"think": False}, id="false-is-sent"),
        pytest.param(True, {"think": True}, id="true"),
        pytest.param("high", {"think": "high"}, id="level"),
        pytest.param(UNSET, {}, id="unset-is-not-sent"),
    ],
)
def test_think_false_is_not_the_same_as_unset(
    think: Any, expected: dict[str, Any]
) -> None:
    body = encode(ChatRequest(model="m", stream=True, think=think))
    assert body == {"model": "m", "stream": True, **expected}


@pytest.mark.parametrize(
    "falsy",
    [
        pytest.param({"raw": False}, id="raw"),
        pytest.param({"truncate": False}, id="truncate"),
        pytest.param({"shift": False}, id="shift"),
        pytest.param({"logprobs": False}, id="logprobs"),
        pytest.param({"top_logprobs": 0}, id="top_logprobs-0"),
        pytest.param({"keep_alive": 0}, id="keep_alive-0"),
        pytest.param({"prompt": ""}, id="empty-prompt"),
        pytest.param({"format": ""}, id="empty-format"),
    ],
)
def test_falsy_values_that_were_set_are_sent(falsy: dict[str, Any]) -> None:
    assert encode(GenerateRequest(model="m", stream=True, **falsy)) == {
        "model": "m",
        "stream": True,
        **falsy,
    }


def test_create_request_sends_from_under_its_wire_name() -> None:
    body = encode(
        CreateRequest(
            model="mario",
            stream=False,
            from_="llama3.2",
            system="You are Mario.",
            parameters={"temperature": 0.8},
            license=["MIT", "Apache-2.0"],
        )
    )
    assert body == {
        "model": "mario",
        "stream": False,
        "from": "llama3.2",
        "system": "You are Mario.",
        "parameters": {"temperature": 0.8},
        "license": ["MIT", "Apache-2.0"],
    }
    assert "from_" not in body


def test_chat_request_with_messages_tools_and_options() -> None:
    body = encode(
        ChatRequest(
            model="llama3.2",
            stream=False,
            messages=[
                Message(role="user", content="weather in Tokyo?"),
                Message(
                    role="assistant",
                    tool_calls=[
                        ToolCall(
                            function=ToolCallFunction(
                                name="get_weather", arguments={"city": "Tokyo"}
                            )
                        )
                    ],
                ),
                Message(role="tool", content="11 degrees", tool_name="get_weather"),
            ],
            options={"temperature": 0, "stop": ["\n"]},
            keep_alive="5m",
            format={"type": "object"},
        )
    )
    assert body == {
        "model": "llama3.2",
        "stream": False,
        "messages": [
            {"role": "user", "content": "weather in Tokyo?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "function": {
                            "name": "get_weather",
                            "arguments": {"city": "Tokyo"},
                        }
                    }
                ],
            },
            {"role": "tool", "content": "11 degrees", "tool_name": "get_weather"},
        ],
        "options": {"temperature": 0, "stop": ["\n"]},
        "keep_alive": "5m",
        "format": {"type": "object"},
    }


def test_tool_parameters_send_defs_under_the_schema_name() -> None:
    tool = Tool(
        function=ToolFunction(
            name="draw",
            description="Draw a point",
            parameters=ToolParameters(
                properties={"p": {"$ref": "#/$defs/Point"}},
                required=["p"],
                defs={
                    "Point": {"type": "object", "properties": {"x": {"type": "number"}}}
                },
            ),
        )
    )
    body = encode(tool)
    assert body == {
        "type": "function",
        "function": {
            "name": "draw",
            "description": "Draw a point",
            "parameters": {
                "type": "object",
                "properties": {"p": {"$ref": "#/$defs/Point"}},
                "required": ["p"],
                "$defs": {
                    "Point": {"type": "object", "properties": {"x": {"type": "number"}}}
                },
            },
        },
    }
    assert "defs" not in body["function"]["parameters"]


def test_minimal_tool_still_sends_its_types() -> None:
    # "type" defaults must reach the server: it renders the schema as sent.
    body = encode(Tool(function=ToolFunction(name="now", parameters=ToolParameters())))
    assert body == {
        "type": "function",
        "function": {"name": "now", "parameters": {"type": "object", "properties": {}}},
    }


def test_options_encode_only_what_was_set() -> None:
    assert encode(Options(temperature=0.0, stop=["</s>"], use_mmap=False)) == {
        "temperature": 0.0,
        "stop": ["</s>"],
        "use_mmap": False,
    }
    assert encode(Options()) == {}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(
            EmbedRequest(model="m", input=["a", "b"], dimensions=8),
            {"model": "m", "input": ["a", "b"], "dimensions": 8},
            id="embed",
        ),
        pytest.param(
            EmbedRequest(model="m", truncate=False),
            {"model": "m", "truncate": False},
            id="embed-truncate-false",
        ),
        pytest.param(
            EmbeddingsRequest(model="m", prompt="hi"),
            {"model": "m", "prompt": "hi"},
            id="embeddings",
        ),
        pytest.param(
            ShowRequest(model="m", verbose=False),
            {"model": "m", "verbose": False},
            id="show",
        ),
        pytest.param(
            ShowRequest(
                model="m", system="Be terse.", options={"temperature": 0, "stop": []}
            ),
            {
                "model": "m",
                "system": "Be terse.",
                "options": {"temperature": 0, "stop": []},
            },
            id="show-system-options",
        ),
        pytest.param(
            ShowRequest(model="m", system="", options={}),
            {"model": "m", "system": "", "options": {}},
            id="show-empty-system-options-are-sent",
        ),
        pytest.param(
            CopyRequest(source="a", destination="b"),
            {"source": "a", "destination": "b"},
            id="copy",
        ),
        pytest.param(DeleteRequest(model="m"), {"model": "m"}, id="delete"),
        pytest.param(
            PullRequest(model="m", stream=True),
            {"model": "m", "stream": True},
            id="pull",
        ),
        pytest.param(
            PushRequest(model="ns/m", stream=False, insecure=True),
            {"model": "ns/m", "stream": False, "insecure": True},
            id="push",
        ),
    ],
)
def test_other_requests(request_: msgspec.Struct, expected: dict[str, Any]) -> None:
    assert encode(request_) == expected


def test_a_decoded_assistant_message_can_be_sent_back() -> None:
    # The usual tool loop: append the reply's message to the history.
    reply = decode(CHAT_TOOL_CALL, ChatResponse)
    body = encode(ChatRequest(model="qwen3", stream=False, messages=[reply.message]))
    (message,) = body["messages"]
    assert message["role"] == "assistant"
    assert message["thinking"] == "weather?"
    assert message["tool_calls"] == [
        {
            "id": "call_ab12cd34",
            "function": {
                "index": 0,
                "name": "get_weather",
                "arguments": {"city": "Tokyo", "days": 3},
            },
        }
    ]
