"""What goes on the wire and how statuses map to exceptions, with aioresponses.

aioresponses patches ``ClientSession._request`` and hands back a whole body at
once. Every request of a default ``AsyncClient`` goes through an aiohttp
session, so an application's own ``aioresponses()`` intercepts it with no
setup. It proves request methods, URLs, bodies and headers and the status ->
exception mapping, and nothing about streaming behaviour (that is tested over
loopback against the emulator). It is used in
this module only; ``tests/_aioresponses_shim.py`` makes 0.7.9 work on
aiohttp 3.14.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import re
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from _aioresponses_shim import install
from aioresponses import aioresponses
from yarl import URL

import ollama_async
from ollama_async import (
    AuthenticationError,
    BadRequestError,
    ChatResponse,
    ConnectError,
    ConnectTimeout,
    DecodeError,
    EmbeddingsResponse,
    EmbedResponse,
    GenerateResponse,
    ListResponse,
    Message,
    NotFoundError,
    Options,
    PermissionDeniedError,
    ProcessResponse,
    ProgressResponse,
    RateLimitError,
    ReadTimeout,
    RemoteProtocolError,
    ResponseError,
    ServerBusyError,
    ServerError,
    ShowResponse,
    StatusError,
    StatusResponse,
    StreamError,
    Timeout,
    Tool,
    TransportError,
    VersionResponse,
)


class AsyncClient(ollama_async.AsyncClient):
    """The default client, with one try per call: aioresponses registers one
    reply per request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("retry", None)
        super().__init__(*args, **kwargs)


BASE = "http://ollama.test:11434"
DIGEST = "sha256:" + "0" * 64
HI = [{"role": "user", "content": "Hi"}]

CHAT_DONE = (
    b'{"model":"m","created_at":"2025-10-26T17:21:21Z","message":{"role":'
    b'"assistant","content":"Hello"},"done":true,"done_reason":"stop","eval_count":2}'
)
GENERATE_DONE = (
    b'{"model":"m","created_at":"2025-10-26T17:21:21Z","response":"Hello",'
    b'"done":true,"done_reason":"stop"}'
)
SUCCESS = b'{"status":"success"}'


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    uninstall = install()
    try:
        with aioresponses() as m:
            yield m
    finally:
        uninstall()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)


@pytest.fixture
async def client(mocked: aioresponses) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(BASE) as c:
        yield c


def sent(m: aioresponses, method: str, url: str) -> dict[str, Any]:
    """The keyword arguments of the one request made to ``method url``."""
    calls = m.requests.get((method, URL(url)))
    assert calls, f"no {method} {url}; requests: {list(m.requests)}"
    assert len(calls) == 1
    return calls[0].kwargs


def body(m: aioresponses, method: str, path: str) -> Any:
    data = sent(m, method, BASE + path)["data"]
    return msgspec.json.decode(data)


def headers(m: aioresponses, method: str, path: str) -> Any:
    return sent(m, method, BASE + path)["headers"]


# -- headers -------------------------------------------------------------------


async def test_default_headers(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(BASE + "/api/chat", body=CHAT_DONE)
    await client.chat("m", HI)
    h = headers(mocked, "POST", "/api/chat")
    assert h["Content-Type"] == "application/json"
    assert h["Accept"] == "application/json"
    python = ".".join(map(str, sys.version_info[:3]))
    version = re.escape(ollama_async.__version__)
    pattern = rf"ollama-async/{version} \(\S+ \S+\) Python/{python}"
    assert re.fullmatch(pattern, h["User-Agent"]), h["User-Agent"]
    assert "Authorization" not in h


async def test_api_key_becomes_a_bearer_token(
    mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-test")
    mocked.get(BASE + "/api/version", body=b'{"version":"0.33.0"}')
    async with AsyncClient(BASE) as client:
        await client.version()
    assert headers(mocked, "GET", "/api/version")["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("name", ["Authorization", "authorization"])
async def test_callers_authorization_wins_over_the_api_key(
    mocked: aioresponses, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-test")
    mocked.get(BASE + "/api/version", body=b'{"version":"0.33.0"}')
    async with AsyncClient(BASE, headers={name: "Basic abc"}) as client:
        await client.version()
    h = headers(mocked, "GET", "/api/version")
    assert h.getall("Authorization") == ["Basic abc"]


async def test_custom_headers_are_sent_and_may_override_ours(
    mocked: aioresponses,
) -> None:
    mocked.get(BASE + "/api/version", body=b'{"version":"0.33.0"}')
    custom = {"X-Trace": "abc", "User-Agent": "my-app/1.0"}
    async with AsyncClient(BASE, headers=custom) as client:
        await client.version()
    h = headers(mocked, "GET", "/api/version")
    assert h["X-Trace"] == "abc"
    assert h.getall("User-Agent") == ["my-app/1.0"]
    assert "Content-Type" not in h  # a GET has no body to describe


async def test_empty_api_key_is_ignored(
    mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "")
    mocked.get(BASE + "/api/version", body=b'{"version":"0.33.0"}')
    async with AsyncClient(BASE) as client:
        await client.version()
    assert "Authorization" not in headers(mocked, "GET", "/api/version")


# -- every endpoint: method, URL, body, decoded result ---------------------------


async def test_generate(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(BASE + "/api/generate", body=GENERATE_DONE)
    r = await client.generate(
        "m", "Why?", system="Be brief.", think=False, keep_alive=dt.timedelta(minutes=5)
    )
    assert isinstance(r, GenerateResponse)
    assert r.response == "Hello"
    assert body(mocked, "POST", "/api/generate") == {
        "model": "m",
        "prompt": "Why?",
        "system": "Be brief.",
        "stream": False,
        "think": False,
        "keep_alive": 300.0,
    }


async def test_generate_stream_sends_stream_true(
    mocked: aioresponses, client: AsyncClient
) -> None:
    chunk = b'{"model":"m","created_at":"t","response":"Hel","done":false}\n'
    mocked.post(BASE + "/api/generate", body=chunk + GENERATE_DONE + b"\n")
    parts = [p.response async for p in client.generate("m", "Why?", stream=True)]
    assert parts == ["Hel", "Hello"]
    assert body(mocked, "POST", "/api/generate") == {
        "model": "m",
        "prompt": "Why?",
        "stream": True,
    }


async def test_generate_images_are_padded_base64(
    mocked: aioresponses, client: AsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG1")
    mocked.post(BASE + "/api/generate", body=GENERATE_DONE)
    await client.generate(
        "m", "What?", images=[b"ab", path, "YWI", "data:image/png;base64,YWI="]
    )
    sent_images = body(mocked, "POST", "/api/generate")["images"]
    assert sent_images == [
        "YWI=",
        base64.b64encode(b"\x89PNG1").decode(),
        "YWI=",
        "YWI=",
    ]


async def test_chat(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(BASE + "/api/chat", body=CHAT_DONE)
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
    }
    r = await client.chat(
        "m",
        [{"role": "user", "content": "Hi", "images": None}],
        tools=[tool],
        think="high",
        format="json",
        options=Options(temperature=0.0, stop=["\n"]),
        keep_alive=-1,
        top_logprobs=0,
        logprobs=True,
    )
    assert isinstance(r, ChatResponse)
    assert r["message"]["content"] == "Hello"
    assert body(mocked, "POST", "/api/chat") == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [tool],
        "stream": False,
        "think": "high",
        "format": "json",
        "options": {"temperature": 0.0, "stop": ["\n"]},
        "keep_alive": -1,
        "top_logprobs": 0,
        "logprobs": True,
    }


async def test_chat_with_typed_message_tool_and_schema(
    mocked: aioresponses, client: AsyncClient
) -> None:
    mocked.post(BASE + "/api/chat", body=CHAT_DONE)
    tool = Tool(
        function=Tool.Function(
            name="get_weather",
            parameters=Tool.Function.Parameters(
                properties={"city": {"type": "string"}}, required=["city"]
            ),
        )
    )
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    await client.chat(
        "m", [Message(role="user", content="Weather?")], tools=[tool], format=schema
    )
    sent_body = body(mocked, "POST", "/api/chat")
    assert sent_body["messages"] == [{"role": "user", "content": "Weather?"}]
    assert sent_body["format"] == schema
    # The typed tool reaches the server with both of its "type" fields.
    assert sent_body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]


async def test_chat_stream(mocked: aioresponses, client: AsyncClient) -> None:
    chunk = (
        b'{"model":"m","created_at":"t","message":{"role":"assistant",'
        b'"content":"Hel"},"done":false}\n'
    )
    mocked.post(BASE + "/api/chat", body=chunk + CHAT_DONE + b"\n")
    async with client.chat("m", HI, stream=True) as stream:
        folded = await stream.collect()
    assert folded.message.content == "HelHello"
    assert folded.eval_count == 2
    assert body(mocked, "POST", "/api/chat")["stream"] is True


async def test_embed(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(
        BASE + "/api/embed", body=b'{"model":"e","embeddings":[[0.6,0.8],[1.0,0.0]]}'
    )
    r = await client.embed("e", ["a", "b"], truncate=False, dimensions=2)
    assert isinstance(r, EmbedResponse)
    assert r.embeddings == [[0.6, 0.8], [1.0, 0.0]]
    assert body(mocked, "POST", "/api/embed") == {
        "model": "e",
        "input": ["a", "b"],
        "truncate": False,
        "dimensions": 2,
    }


async def test_embeddings(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(BASE + "/api/embeddings", body=b'{"embedding":[0.5,-1.5]}')
    r = await client.embeddings("e", "hello", keep_alive="1h30m")
    assert isinstance(r, EmbeddingsResponse)
    assert r.embedding == [0.5, -1.5]
    assert body(mocked, "POST", "/api/embeddings") == {
        "model": "e",
        "prompt": "hello",
        "keep_alive": "1h30m",
    }


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"models":null}', id="null"),
        pytest.param(b'{"models":[]}', id="empty"),
        pytest.param(b"{}", id="absent"),
    ],
)
async def test_list_with_no_models(
    mocked: aioresponses, client: AsyncClient, payload: bytes
) -> None:
    mocked.get(BASE + "/api/tags", body=payload)
    r = await client.list()
    assert isinstance(r, ListResponse)
    assert r.models == []
    assert sent(mocked, "GET", BASE + "/api/tags")["data"] is None


async def test_list(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.get(
        BASE + "/api/tags",
        body=b'{"models":[{"name":"a:latest","model":"a:latest","size":1,'
        b'"modified_at":"2025-10-20T09:42:01.123456789-07:00"}]}',
    )
    (model,) = (await client.list()).models
    assert model.model == "a:latest"
    assert model.modified_at is not None and model.modified_at.year == 2025


async def test_show(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(
        BASE + "/api/show", body=b'{"model_info":{"general.architecture":"llama"}}'
    )
    r = await client.show("m", verbose=True)
    assert isinstance(r, ShowResponse)
    assert r.modelinfo == {"general.architecture": "llama"}
    assert body(mocked, "POST", "/api/show") == {"model": "m", "verbose": True}


async def test_create_from(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(BASE + "/api/create", body=SUCCESS)
    r = await client.create(
        "mario", from_="llama3.2", system="You are Mario.", parameters={"num_ctx": 4096}
    )
    assert r == ProgressResponse(status="success")
    assert body(mocked, "POST", "/api/create") == {
        "model": "mario",
        "from": "llama3.2",
        "system": "You are Mario.",
        "parameters": {"num_ctx": 4096},
        "stream": False,
    }


async def test_create_files_stream(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(
        BASE + "/api/create",
        body=b'{"status":"parsing GGUF"}\n{"status":"writing manifest"}\n'
        + SUCCESS
        + b"\n",
    )
    statuses = [
        p.status
        async for p in client.create(
            "mine", files={"model.gguf": DIGEST}, quantize="q4_K_M", stream=True
        )
    ]
    assert statuses == ["parsing GGUF", "writing manifest", "success"]
    assert body(mocked, "POST", "/api/create") == {
        "model": "mine",
        "files": {"model.gguf": DIGEST},
        "quantize": "q4_K_M",
        "stream": True,
    }


async def test_copy(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(BASE + "/api/copy", body=b"")  # 200 with an empty body
    assert await client.copy("a", "b") == StatusResponse(status="success")
    assert body(mocked, "POST", "/api/copy") == {"source": "a", "destination": "b"}


async def test_delete_sends_a_json_body_on_delete(
    mocked: aioresponses, client: AsyncClient
) -> None:
    mocked.delete(BASE + "/api/delete", body=b"")
    assert await client.delete("llama3:13b") == StatusResponse(status="success")
    assert body(mocked, "DELETE", "/api/delete") == {"model": "llama3:13b"}


@pytest.mark.parametrize("name", ["pull", "push"])
async def test_pull_and_push(
    mocked: aioresponses, client: AsyncClient, name: str
) -> None:
    mocked.post(f"{BASE}/api/{name}", body=SUCCESS)
    r = await getattr(client, name)("ns/m:tag", insecure=True)
    assert r == ProgressResponse(status="success")
    assert body(mocked, "POST", f"/api/{name}") == {
        "model": "ns/m:tag",
        "insecure": True,
        "stream": False,
    }


async def test_pull_stream_progress(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.post(
        BASE + "/api/pull",
        body=b'{"status":"pulling manifest"}\n'
        b'{"status":"pulling 6a07","digest":"sha256:6a07","total":10,"completed":5}\n'
        + SUCCESS,  # last line without "\n"
    )
    parts = [p async for p in await client.pull("m", stream=True)]
    assert [p.completed for p in parts] == [None, 5, None]
    assert body(mocked, "POST", "/api/pull") == {
        "model": "m",
        "stream": True,
        "insecure": False,
    }


@pytest.mark.parametrize("payload", [b'{"models":null}', b'{"models":[]}'])
async def test_ps(mocked: aioresponses, client: AsyncClient, payload: bytes) -> None:
    mocked.get(BASE + "/api/ps", body=payload)
    r = await client.ps()
    assert isinstance(r, ProcessResponse)
    assert r.models == []


async def test_version(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.get(BASE + "/api/version", body=b'{"version":"0.33.0"}')
    assert await client.version() == VersionResponse(version="0.33.0")


@pytest.mark.parametrize(("status", "exists"), [(200, True), (404, False)])
async def test_blob_exists_uses_head(
    mocked: aioresponses, client: AsyncClient, status: int, exists: bool
) -> None:
    mocked.head(f"{BASE}/api/blobs/{DIGEST}", status=status, body=b"")
    assert await client.blob_exists(DIGEST) is exists
    sent(mocked, "HEAD", f"{BASE}/api/blobs/{DIGEST}")


async def test_create_blob_uploads_raw_bytes_when_missing(
    mocked: aioresponses, client: AsyncClient, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 5000  # > 1 MiB: sent in several pieces
    path = tmp_path / "model.gguf"
    path.write_bytes(data)
    import hashlib

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    mocked.head(f"{BASE}/api/blobs/{digest}", status=404)
    mocked.post(f"{BASE}/api/blobs/{digest}", status=201, body=b"")
    assert await client.create_blob(path) == digest
    upload = sent(mocked, "POST", f"{BASE}/api/blobs/{digest}")
    assert upload["data"] == data
    assert upload["headers"]["Content-Type"] == "application/octet-stream"


async def test_create_blob_skips_upload_when_present(
    mocked: aioresponses, client: AsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "adapter.bin"
    path.write_bytes(b"lora")
    import hashlib

    digest = "sha256:" + hashlib.sha256(b"lora").hexdigest()
    mocked.head(f"{BASE}/api/blobs/{digest}", status=200)
    assert await client.create_blob(str(path)) == digest
    assert ("POST", URL(f"{BASE}/api/blobs/{digest}")) not in mocked.requests


async def test_path_prefix_from_the_host(mocked: aioresponses) -> None:
    mocked.post("https://gpu.example:8443/ollama/api/chat", body=CHAT_DONE)
    mocked.get("https://gpu.example:8443/ollama/api/tags", body=b'{"models":[]}')
    async with AsyncClient("https://gpu.example:8443/ollama/") as client:
        await client.chat("m", HI)
        await client.list()
    sent(mocked, "POST", "https://gpu.example:8443/ollama/api/chat")
    sent(mocked, "GET", "https://gpu.example:8443/ollama/api/tags")


async def test_host_from_env(
    mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:5000")
    mocked.get("http://127.0.0.1:5000/api/version", body=b'{"version":"1"}')
    async with AsyncClient() as client:
        await client.version()
    sent(mocked, "GET", "http://127.0.0.1:5000/api/version")


# -- timeouts sent to aiohttp --------------------------------------------------


async def test_default_timeout_has_no_total(
    mocked: aioresponses, client: AsyncClient
) -> None:
    mocked.get(BASE + "/api/version", body=b'{"version":"1"}')
    await client.version()
    timeout = sent(mocked, "GET", BASE + "/api/version")["timeout"]
    assert timeout.total is None
    assert timeout.sock_connect == Timeout().connect
    # No sock_read: the transport's own classes bound the head (first_byte)
    # and the body's silences (read), lazily.
    assert timeout.sock_read is None


async def test_per_call_timeout_override(
    mocked: aioresponses, client: AsyncClient
) -> None:
    mocked.get(BASE + "/api/version", body=b'{"version":"1"}')
    await client.version(timeout=Timeout(connect=1, first_byte=2, total=9))
    timeout = sent(mocked, "GET", BASE + "/api/version")["timeout"]
    assert (timeout.sock_connect, timeout.sock_read, timeout.total) == (1, None, 9)


async def test_per_call_timeout_none_disables(
    mocked: aioresponses, client: AsyncClient
) -> None:
    mocked.get(BASE + "/api/version", body=b'{"version":"1"}')
    await client.version(timeout=None)
    timeout = sent(mocked, "GET", BASE + "/api/version")["timeout"]
    assert (timeout.sock_connect, timeout.sock_read, timeout.total) == (
        None,
        None,
        None,
    )


# -- status -> exception -------------------------------------------------------

JSON = "application/json"
TEXT = "text/plain"
BUSY = "server busy, please try again.  maximum pending requests exceeded"
OPENAI_SHAPED = '{"error":{"message":"x","type":"api_error"}}'


def case(
    status: int,
    payload: bytes,
    ctype: str,
    exc: type[StatusError],
    message: str,
    id: str,
) -> Any:
    return pytest.param(status, payload, ctype, exc, message, id=id)


STATUS_CASES = [
    case(400, b'{"error":"model is required"}', JSON, BadRequestError,
         "model is required", "400"),
    case(401, b'{"error":"unauthorized","signin_url":"https://ollama.com/connect"}',
         JSON, AuthenticationError, "unauthorized", "401-signin"),
    case(403, b"", TEXT, PermissionDeniedError, "Forbidden", "403-empty-body"),
    case(403, b'{"error":"ollama cloud is disabled: chat"}', JSON,
         PermissionDeniedError, "ollama cloud is disabled: chat", "403-cloud"),
    case(404, b"{\"error\":\"model 'nope' not found\"}", JSON, NotFoundError,
         "model 'nope' not found", "404-json"),
    case(404, b"404 page not found", TEXT, NotFoundError, "404 page not found",
         "404-plain-text"),
    case(405, b"405 method not allowed", TEXT, StatusError, "405 method not allowed",
         "405-plain-text"),
    case(429, b'{"error":"too many requests"}', JSON, RateLimitError,
         "too many requests", "429"),
    case(500, b'{"error":"llama runner process has terminated"}', JSON, ServerError,
         "llama runner process has terminated", "500"),
    case(502, b'{"error":"bad gateway"}', JSON, ServerError, "bad gateway", "502"),
    case(503, b'{"error":"' + BUSY.encode() + b'"}', JSON, ServerBusyError, BUSY,
         "503-busy"),
    case(504, b"", TEXT, ServerError, "Gateway Timeout", "504-empty"),
    case(418, b"teapot", TEXT, StatusError, "teapot", "418-unmapped"),
    case(500, OPENAI_SHAPED.encode(), JSON, ServerError, OPENAI_SHAPED,
         "500-openai-shape-raw"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "payload", "ctype", "exc", "message"), STATUS_CASES)
async def test_status_maps_to_exception(
    mocked: aioresponses,
    client: AsyncClient,
    status: int,
    payload: bytes,
    ctype: str,
    exc: type[StatusError],
    message: str,
) -> None:
    mocked.post(BASE + "/api/chat", status=status, body=payload, content_type=ctype)
    with pytest.raises(exc) as info:
        await client.chat("m", HI)
    err = info.value
    assert type(err) is exc
    assert isinstance(err, ResponseError)  # `except ResponseError` keeps working
    assert (err.status_code, err.error) == (status, message)
    assert err.body == payload
    assert str(status) in str(err)


@pytest.mark.parametrize(
    ("status", "payload", "ctype", "exc", "message"), STATUS_CASES[:6]
)
async def test_status_error_on_a_stream_raises_on_open(
    mocked: aioresponses,
    client: AsyncClient,
    status: int,
    payload: bytes,
    ctype: str,
    exc: type[StatusError],
    message: str,
) -> None:
    # Pre-stream errors are ordinary statuses, even with stream=True.
    mocked.post(BASE + "/api/chat", status=status, body=payload, content_type=ctype)
    stream = client.chat("m", HI, stream=True)
    with pytest.raises(exc, match=re.escape(message)):
        async with stream:
            pytest.fail("entered a failed stream")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("7", 7.0, id="seconds"),
        pytest.param("0.5", 0.5, id="fraction"),
        pytest.param("-3", 0.0, id="negative-clamped"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="date-in-the-past"),
        pytest.param("soon", None, id="garbage"),
    ],
)
async def test_retry_after_is_parsed(
    mocked: aioresponses, client: AsyncClient, value: str, expected: float | None
) -> None:
    mocked.get(
        BASE + "/api/ps",
        status=503,
        body=b'{"error":"server busy"}',
        headers={"Retry-After": value},
    )
    with pytest.raises(ServerBusyError) as info:
        await client.ps()
    assert info.value.retry_after == expected


async def test_retry_after_http_date_in_the_future(
    mocked: aioresponses, client: AsyncClient
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    mocked.get(
        BASE + "/api/ps",
        status=429,
        body=b'{"error":"slow down"}',
        headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)},
    )
    with pytest.raises(RateLimitError) as info:
        await client.ps()
    assert info.value.retry_after is not None
    assert 100 < info.value.retry_after <= 120


async def test_no_retry_after_header(mocked: aioresponses, client: AsyncClient) -> None:
    mocked.get(BASE + "/api/ps", status=503, body=b'{"error":"busy"}')
    with pytest.raises(ServerBusyError) as info:
        await client.ps()
    assert info.value.retry_after is None


# -- bodies that are not what the endpoint sends ---------------------------------


async def test_error_object_under_200_raises_stream_error(
    mocked: aioresponses, client: AsyncClient
) -> None:
    mocked.post(
        BASE + "/api/pull", body=b'{"error":"pull model manifest: file does not exist"}'
    )
    with pytest.raises(StreamError) as info:
        await client.pull("nope")
    assert info.value.error == "pull model manifest: file does not exist"
    assert info.value.status_code == -1


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        pytest.param(b"<html>proxy error</html>", "proxy error", id="html"),
        pytest.param(b'{"model":"m"}', "chat", id="missing-message"),
        pytest.param(b"", "empty", id="empty"),
    ],
)
async def test_undecodable_body_raises_decode_error(
    mocked: aioresponses, client: AsyncClient, payload: bytes, match: str
) -> None:
    mocked.post(BASE + "/api/chat", body=payload)
    with pytest.raises(DecodeError, match=match):
        await client.chat("m", HI)


async def test_body_over_the_cap_raises(mocked: aioresponses) -> None:
    mocked.get(BASE + "/api/tags", body=b'{"models":[' + b" " * 5000 + b"]}")
    async with AsyncClient(BASE, max_body_size=1000) as client:
        with pytest.raises(DecodeError, match="max_body_size=1000"):
            await client.list()


# -- transport failures --------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        pytest.param(
            aiohttp.ServerDisconnectedError(), RemoteProtocolError, id="disconnected"
        ),
        pytest.param(
            aiohttp.ClientPayloadError("truncated"), RemoteProtocolError, id="payload"
        ),
        pytest.param(
            aiohttp.ClientOSError(104, "reset"), RemoteProtocolError, id="reset"
        ),
        pytest.param(
            aiohttp.ConnectionTimeoutError(), ConnectTimeout, id="connect-timeout"
        ),
        pytest.param(aiohttp.SocketTimeoutError(), ReadTimeout, id="read-timeout"),
        pytest.param(aiohttp.ClientError("odd"), TransportError, id="other"),
    ],
)
async def test_aiohttp_errors_are_mapped(
    mocked: aioresponses,
    client: AsyncClient,
    raised: Exception,
    expected: type[Exception],
) -> None:
    mocked.post(BASE + "/api/chat", exception=raised)
    with pytest.raises(expected) as info:
        await client.chat("m", HI)
    assert type(info.value) is expected
    # aiohttp's exceptions can hold the request's headers: never chained.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert BASE in str(info.value)


async def test_connect_timeout_and_read_timeout_are_distinct(
    mocked: aioresponses, client: AsyncClient
) -> None:
    mocked.post(BASE + "/api/chat", exception=aiohttp.ConnectionTimeoutError())
    mocked.post(BASE + "/api/generate", exception=aiohttp.SocketTimeoutError())
    with pytest.raises(ConnectTimeout) as connect:
        await client.chat("m", HI)
    with pytest.raises(ReadTimeout) as read:
        await client.generate("m", "x")
    assert not isinstance(connect.value, ReadTimeout)
    assert not isinstance(read.value, ConnectTimeout)
    assert isinstance(connect.value, TimeoutError)
    assert isinstance(read.value, TimeoutError)


async def test_connection_refused_names_the_host_and_suggests_starting_ollama() -> None:
    # A real refused connection (no aioresponses): nothing listens on the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncClient(f"127.0.0.1:{port}", timeout=5) as client:
        with pytest.raises(ConnectError) as info:
            await client.version()
    message = str(info.value)
    assert f"http://127.0.0.1:{port}" in message
    assert message.startswith("Failed to connect to Ollama.")
    assert isinstance(info.value, ConnectionError)
    assert info.value.__cause__ is None and info.value.__context__ is None
