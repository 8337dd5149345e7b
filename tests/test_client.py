"""Every endpoint through the public API against the emulator over loopback,
plus the client's lifecycle and its transport errors."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from conftest import USER_HI, free_port

from ollama_async import (
    AsyncClient,
    BadRequestError,
    ChatResponse,
    ConnectError,
    DecodeError,
    EmbeddingsResponse,
    EmbedResponse,
    GenerateResponse,
    ListResponse,
    MultiHostClient,
    NotFoundError,
    Options,
    ProcessResponse,
    ProgressResponse,
    RequestError,
    ResponseError,
    ServerBusyError,
    ShowResponse,
    StatusResponse,
    Timeout,
    Tool,
    TotalTimeout,
    UsageError,
    VersionResponse,
)
from ollama_async.testing import FakeOllama, Fault

MODEL = "llama3.2"


# -- endpoints ------------------------------------------------------------------


async def test_generate(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    reply = await client.generate(MODEL, "Why is the sky blue?", options={"seed": 1})
    assert isinstance(reply, GenerateResponse)
    assert reply.done and reply.done_reason == "stop" and reply.response
    assert reply.eval_count and reply.total_duration and reply.context
    assert reply["response"] == reply.response
    again = await client.generate(MODEL, "Why is the sky blue?", options={"seed": 1})
    assert again.response == reply.response  # the emulator is deterministic
    sent = fake_ollama.requests[-1].json
    assert sent == {
        "model": MODEL,
        "stream": False,
        "prompt": "Why is the sky blue?",
        "options": {"seed": 1},
    }


async def test_generate_length_limit(client: AsyncClient) -> None:
    reply = await client.generate(MODEL, "hi", options={"num_predict": 3})
    assert reply.done_reason == "length"
    assert reply.eval_count == 3


async def test_chat(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    reply = await client.chat(MODEL, USER_HI, think=False, keep_alive="10m")
    assert isinstance(reply, ChatResponse)
    assert reply.message.role == "assistant" and reply.message.content
    assert reply["message"]["content"] == reply.message.content
    sent = fake_ollama.requests[-1].json
    assert sent["think"] is False  # False is sent, not dropped
    assert sent["keep_alive"] == "10m"
    assert sent["messages"] == USER_HI


async def test_chat_thinking_streams_thinking_first(client: AsyncClient) -> None:
    kinds = []
    async with client.chat("qwen3:8b", USER_HI, think=True, stream=True) as stream:
        async for part in stream:
            if part.message.thinking:
                kinds.append("thinking")
            elif part.message.content:
                kinds.append("content")
    assert kinds[0] == "thinking" and kinds[-1] == "content"
    whole = await client.chat("qwen3:8b", USER_HI, think=True)
    assert whole.message.thinking and whole.message.content


async def test_chat_tool_calls(client: AsyncClient) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    reply = await client.chat(MODEL, USER_HI, tools=[tool])
    calls = reply.message.tool_calls
    assert calls and calls[0].function.name == "get_weather"
    assert isinstance(calls[0].function.arguments["city"], str)


async def test_chat_structured_output(client: AsyncClient) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    reply = await client.chat(MODEL, USER_HI, format=schema)
    import json

    data = json.loads(reply.message.content)
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


async def test_embed(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    reply = await client.embed("nomic-embed-text", ["one", "two"])
    assert isinstance(reply, EmbedResponse)
    assert len(reply.embeddings) == 2 and len(reply.embeddings[0]) == 768
    norm = sum(x * x for x in reply.embeddings[0]) ** 0.5
    assert norm == pytest.approx(1.0, abs=1e-4)
    single = await client.embed("nomic-embed-text", "one", dimensions=64)
    assert len(single.embeddings) == 1 and len(single.embeddings[0]) == 64
    assert fake_ollama.requests[-1].json["input"] == "one"


async def test_embeddings_legacy(client: AsyncClient) -> None:
    reply = await client.embeddings("nomic-embed-text", "one")
    assert isinstance(reply, EmbeddingsResponse)
    assert len(reply.embedding) == 768


async def test_list_show_ps_version(client: AsyncClient) -> None:
    models = await client.list()
    assert isinstance(models, ListResponse)
    names = {m.model for m in models.models}
    assert {"llama3.2:latest", "nomic-embed-text:latest"} <= names
    entry = next(m for m in models.models if m.model == "llama3.2:latest")
    assert entry.details and entry.details.family and entry.modified_at
    assert entry.digest and len(entry.digest) == 64

    shown = await client.show(MODEL)
    assert isinstance(shown, ShowResponse)
    assert shown.capabilities and "completion" in shown.capabilities
    assert shown.model_info is not None and shown.modelinfo is shown.model_info

    await client.generate(MODEL, "")  # load it
    running = await client.ps()
    assert isinstance(running, ProcessResponse)
    assert [m.model for m in running.models] == ["llama3.2:latest"]
    assert running.models[0].expires_at is not None

    await client.generate(MODEL, "", keep_alive=0)  # unload it
    assert (await client.ps()).models == []

    version = await client.version()
    assert isinstance(version, VersionResponse) and version.version == "0.33.0"


async def test_copy_and_delete(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    copied = await client.copy(MODEL, "my-llama")
    assert isinstance(copied, StatusResponse) and copied.status == "success"
    assert "my-llama:latest" in {m.model for m in (await client.list()).models}
    deleted = await client.delete("my-llama")
    assert deleted.status == "success"
    request = fake_ollama.requests[-1]
    assert request.method == "DELETE" and request.json == {"model": "my-llama"}
    with pytest.raises(NotFoundError):
        await client.delete("my-llama")
    with pytest.raises(NotFoundError, match='model "ghost" not found'):
        await client.copy("ghost", "x")


async def test_pull_push_create_without_stream(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    pulled = await client.pull("gemma3:1b")
    assert isinstance(pulled, ProgressResponse) and pulled.status == "success"
    with pytest.raises(ResponseError):
        await client.pull("no-such-model")

    created = await client.create("mario", from_=MODEL, system="You are Mario.")
    assert created.status == "success"
    assert fake_ollama.requests[-1].json["from"] == MODEL
    shown = await client.show("mario")
    assert shown.system == "You are Mario."

    await client.copy("mario", "me/mario")
    pushed = await client.push("me/mario")
    assert pushed.status == "success"
    parts = [p.status async for p in client.create("luigi", from_=MODEL, stream=True)]
    assert parts[-1] == "success"


async def test_blobs_and_create_from_files(
    client: AsyncClient, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    data = b"GGUF" + bytes(range(256)) * 5000
    path = tmp_path / "model.gguf"
    path.write_bytes(data)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    assert not await client.blob_exists(expected)

    digest = await client.create_blob(path)
    assert digest == expected
    assert await client.blob_exists(digest)
    posts = [
        r for r in fake_ollama.requests if r.method == "POST" and "blobs" in r.path
    ]
    assert len(posts) == 1 and posts[0].body == data

    assert await client.create_blob(str(path)) == digest  # present: not re-sent
    posts = [
        r for r in fake_ollama.requests if r.method == "POST" and "blobs" in r.path
    ]
    assert len(posts) == 1

    created = await client.create("from-gguf", files={"model.gguf": digest})
    assert created.status == "success"
    with pytest.raises(RequestError, match="no such file"):
        await client.create_blob(tmp_path / "missing.gguf")


# -- request fields of the newest server (api/types.go) -------------------------


async def test_create_sends_the_newer_fields(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    created = await client.create(
        "pirate",
        None,  # quantize, from_ ...: the official positional order still holds
        MODEL,
        system="Arr.",
        renderer="qwen3",
        parser="qwen3",
        requires="0.12.0",
        info={"capabilities": ["tools"], "context_length": 8192},
    )
    assert created.status == "success"
    assert fake_ollama.requests[-1].json == {
        "model": "pirate",
        "stream": False,
        "from": MODEL,
        "system": "Arr.",
        "renderer": "qwen3",
        "parser": "qwen3",
        "requires": "0.12.0",
        "info": {"capabilities": ["tools"], "context_length": 8192},
    }

    draft = fake_ollama.add_blob(b"GGUF draft model")
    await client.create(
        "fast", from_=MODEL, draft_files={"draft.gguf": draft}, draft_quantize="q8_0"
    )
    assert fake_ollama.requests[-1].json == {
        "model": "fast",
        "stream": False,
        "from": MODEL,
        "draft_files": {"draft.gguf": draft},
        "draft_quantize": "q8_0",
    }

    remote = "http://10.0.0.2:11434"
    await client.create("far", from_=MODEL, remote_host=remote, stream=True).collect()
    assert fake_ollama.requests[-1].json == {
        "model": "far",
        "stream": True,
        "from": MODEL,
        "remote_host": remote,
    }


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        pytest.param({"draft_quantize": "q8_0"}, "draft_quantize", id="no-draft"),
        pytest.param({"draft_files": {"d.gguf": "x"}}, "draft_files", id="bad-digest"),
        pytest.param({"renderer": 1}, "renderer", id="renderer-int"),
        pytest.param({"info": [("a", 1)]}, "info", id="info-list"),
    ],
)
async def test_create_newer_fields_are_checked(
    client: AsyncClient, fake_ollama: FakeOllama, kwargs: dict[str, Any], name: str
) -> None:
    with pytest.raises(RequestError, match=name):
        await client.create("pirate", from_=MODEL, **kwargs)
    assert fake_ollama.requests == []


async def test_options_draft_num_predict(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    await client.chat(MODEL, USER_HI, options=Options(draft_num_predict=8))
    assert fake_ollama.requests[-1].json["options"] == {"draft_num_predict": 8}


async def test_typed_tool_properties_take_any_of_properties_required(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    prop = Tool.Function.Parameters.Property
    tool = Tool(
        function=Tool.Function(
            name="book",
            parameters=Tool.Function.Parameters(
                properties={
                    "when": prop(any_of=[prop(type="string"), prop(type="null")]),
                    "guest": prop(
                        type="object",
                        properties={"name": prop(type="string")},
                        required=["name"],
                    ),
                },
                required=["guest"],
            ),
        )
    )
    assert tool["function"]["parameters"]["properties"]["when"]["anyOf"]
    await client.chat("qwen3:8b", USER_HI, tools=[tool])
    assert fake_ollama.requests[-1].json["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "book",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "when": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "guest": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}},
                            "required": ["name"],
                        },
                    },
                    "required": ["guest"],
                },
            },
        }
    ]


async def test_embed_dimensions_zero_means_all(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    # Ollama truncates only when 0 < dimensions < the model's length.
    reply = await client.embed("nomic-embed-text", "one", dimensions=0)
    assert fake_ollama.requests[-1].json["dimensions"] == 0
    assert len(reply.embeddings[0]) == 768


@pytest.mark.parametrize("think", [True, False, "low", "medium", "high", "max"])
async def test_think_takes_what_the_server_takes(
    client: AsyncClient, fake_ollama: FakeOllama, think: bool | str
) -> None:
    # api.ThinkValue: a JSON bool, or one of these four strings.
    reply = await client.chat("qwen3:8b", USER_HI, think=think)
    assert fake_ollama.requests[-1].json["think"] == think
    assert bool(reply.message.thinking) is (think is not False)


# -- errors ---------------------------------------------------------------------


async def test_status_errors_carry_the_server_message(client: AsyncClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.generate("nope", "hi")
    assert info.value.error == "model 'nope' not found"
    assert info.value.status_code == 404
    # The server's words first, as the official client prints them; then how
    # to fix it (tests/test_error_messages.py has the rest).
    assert str(info.value).startswith("model 'nope' not found (status code: 404); ")

    with pytest.raises(BadRequestError, match="does not support chat"):
        await client.chat("nomic-embed-text", USER_HI)


async def test_server_busy(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(status=503, retry_after=2))
    async with AsyncClient(fake_ollama.url, retry=None) as client:
        with pytest.raises(ServerBusyError) as info:
            await client.chat(MODEL, USER_HI)
    assert "server busy" in info.value.error
    assert info.value.retry_after == 2


async def test_connection_refused_names_the_host() -> None:
    port = free_port()
    timeout = Timeout(connect=2)
    async with AsyncClient(f"127.0.0.1:{port}", timeout=timeout, retry=None) as client:
        with pytest.raises(ConnectError, match=f"Failed to connect.*127.0.0.1:{port}"):
            await client.list()
        with pytest.raises(ConnectionError):  # the official client's type
            await client.chat(MODEL, USER_HI, stream=True)


async def test_total_timeout(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(stall_after=1, stall_for=5))
    async with AsyncClient(fake_ollama.url, timeout=Timeout(total=0.3)) as client:
        with pytest.raises(TotalTimeout):
            await client.chat(MODEL, USER_HI, stream=True).collect()
        with pytest.raises(TimeoutError):  # builtins.TimeoutError
            await client.chat(MODEL, USER_HI)


async def test_non_json_body_raises_decode_error(raw_server) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy error page</html>")

    async with AsyncClient(await raw_server(handler)) as client:
        with pytest.raises(DecodeError, match="proxy error page"):
            await client.version()


async def test_body_over_the_cap_raises(raw_server) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"version": "x" * 10_000})

    async with AsyncClient(await raw_server(handler), max_body_size=1000) as client:
        with pytest.raises(DecodeError, match="max_body_size=1000"):
            await client.version()


# -- lifecycle --------------------------------------------------------------------


async def test_closed_client_fails_loudly(fake_ollama: FakeOllama) -> None:
    client = AsyncClient(fake_ollama.url)
    await client.version()
    await client.aclose()
    await client.aclose()  # idempotent
    await client.close()  # the official name
    assert client.is_closed
    with pytest.raises(UsageError, match="closed"):
        await client.version()
    with pytest.raises(UsageError, match="closed"):
        client.chat(MODEL, USER_HI, stream=True)


async def test_callers_session_is_used_and_not_closed(fake_ollama: FakeOllama) -> None:
    async with aiohttp.ClientSession() as session:
        async with AsyncClient(fake_ollama.url, session=session) as client:
            assert (await client.version()).version
        assert not session.closed
    assert fake_ollama.requests[-1].path == "/api/version"


async def test_headers_user_agent_and_api_key(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "secret-key")
    async with AsyncClient(fake_ollama.url, headers={"X-Trace": "1"}) as client:
        await client.version()
    headers = fake_ollama.requests[-1].headers
    assert headers["Authorization"] == "Bearer secret-key"
    assert headers["X-Trace"] == "1"
    assert headers["User-Agent"].startswith("ollama-async/")
    assert "Python/" in headers["User-Agent"]

    own = {"authorization": "Bearer mine"}
    async with AsyncClient(fake_ollama.url, headers=own) as client:
        await client.version()
    assert fake_ollama.requests[-1].headers["Authorization"] == "Bearer mine"
    assert "secret-key" not in repr(client)


async def test_basic_auth_as_the_official_client_takes_it(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "secret-key")  # auth= wins over it
    async with AsyncClient(fake_ollama.url, auth=("alice", "pässword")) as client:
        await client.version()
    expected = "Basic " + base64.b64encode("alice:pässword".encode()).decode()
    assert fake_ollama.requests[-1].headers["Authorization"] == expected
    async with MultiHostClient(
        [fake_ollama.url], auth=("bob", "pw"), refresh_interval=0
    ) as multi:
        await multi.version()
    assert fake_ollama.requests[-1].headers["Authorization"] == "Basic Ym9iOnB3"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"auth": ("a", "b"), "headers": {"authorization": "x"}}, ValueError, "both"),
        ({"auth": ("a:b", "c")}, ValueError, "':'"),
        ({"auth": ["a", "b"]}, RequestError, "tuple of str"),
        ({"auth": ("a",)}, RequestError, "tuple of str"),
        ({"auth": ("a", 1)}, RequestError, "tuple of str"),
    ],
)
def test_bad_auth_is_refused(
    kwargs: dict[str, object], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        AsyncClient("http://h", **kwargs)  # type: ignore[arg-type]


async def test_host_from_environment(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url.removeprefix("http://"))
    async with AsyncClient() as client:
        assert client.base_url == fake_ollama.url
        assert (await client.version()).version


async def test_connections_are_reused(raw_server) -> None:
    peers = []
    final = b'{"model":"m","message":{"role":"assistant","content":"x"},"done":true}'

    async def handler(request: web.Request) -> web.StreamResponse:
        peers.append(request.transport.get_extra_info("peername"))
        body = await request.json()
        if body["stream"]:
            response = web.StreamResponse()
            response.content_type = "application/x-ndjson"
            await response.prepare(request)
            await response.write(final + b"\n")
            await response.write_eof()
            return response
        return web.Response(body=final, content_type="application/json")

    async with AsyncClient(await raw_server(handler)) as client:
        for _ in range(3):
            await client.chat(MODEL, USER_HI, stream=True).collect()
            await client.chat(MODEL, USER_HI)
    assert len(peers) == 6 and len(set(peers)) == 1
