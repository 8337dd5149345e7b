"""Responses as Ollama's own Go tests and docs write them decode through the
client, over loopback: fields left out or sent as ``null`` (Go's nil slices,
ollama.com's stand-ins), the experimental image-generation fields, and what
the newest server added. Each fixture names the file and the test (or doc
section) it comes from, in github.com/ollama/ollama unless said otherwise.

"Go-encoded" means the bytes ``encoding/json`` writes for the Go value the
test builds: fields without ``omitempty`` always appear, a nil slice or map
as ``null``, a zero ``time.Time`` as ``"0001-01-01T00:00:00Z"``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from conftest import USER_HI

from ollama_async import AsyncClient, IncompleteStreamError, StreamError

JSON = "application/json; charset=utf-8"
NDJSON = "application/x-ndjson"
ZERO_TIME = "0001-01-01T00:00:00Z"

Answer = Callable[..., Awaitable[AsyncClient]]


@pytest.fixture
async def answer(raw_server) -> AsyncIterator[Answer]:
    """``await answer(body)``: a client whose server (and web_url) answers
    every request with ``body``."""
    clients: list[AsyncClient] = []

    async def make(body: bytes, content_type: str = JSON) -> AsyncClient:
        async def handler(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(body=body, headers={"Content-Type": content_type})

        url = await raw_server(handler)
        client = AsyncClient(url, retry=None)
        client.web_url = url
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def lines(*chunks: bytes) -> bytes:
    return b"".join(chunk + b"\n" for chunk in chunks)


# -- generate ------------------------------------------------------------------

# cmd/bench/bench_test.go, defaultGenerateResponses (TestBenchmarkModel_Success),
# Go-encoded by createMockOllamaServer: no created_at was set, no done_reason.
BENCH_GENERATE = lines(
    b'{"model":"test-model","created_at":"0001-01-01T00:00:00Z",'
    b'"response":"test response part 1","done":false}',
    b'{"model":"test-model","created_at":"0001-01-01T00:00:00Z",'
    b'"response":"test response part 2","done":true,"total_duration":600000000,'
    b'"load_duration":50000000,"prompt_eval_count":10,'
    b'"prompt_eval_duration":100000000,"eval_count":50,"eval_duration":500000000}',
)

# docs/api.md, "Image Generation (Experimental)", "Response (streaming)" and
# "Final Response": added with the fields by ollama/ollama#13753, removed by
# #16615 (last present at 4713800b0^). Neither line has "response".
IMAGE_PROGRESS = (
    b'{"model":"x/z-image-turbo","created_at":"2024-01-15T10:30:00.000000Z",'
    b'"completed":5,"total":20,"done":false}'
)
IMAGE_FINAL = (
    b'{"model":"x/z-image-turbo","created_at":"2024-01-15T10:30:15.000000Z",'
    b'"image":"iVBORw0KGgoAAAANSUhEUg...","done":true,"done_reason":"stop",'
    b'"total_duration":15000000000,"load_duration":2000000000}'
)

# server/routes_generate_test.go, TestImageGenerateStreamFalse (removed by
# #16615): the one body GenerateHandler wrote for the mock's three steps,
# Go-encoded with that commit's GenerateResponse. Its clock gave the
# timestamp and durations; these are stand-ins.
IMAGE_NOT_STREAMED = (
    b'{"model":"test-image","created_at":"2026-01-15T10:30:15.123456789Z",'
    b'"response":"","done":true,"done_reason":"stop","total_duration":1500000,'
    b'"load_duration":250000,"image":"base64image","completed":3,"total":3}'
)

# server/routes_cloud_test.go, TestCloudPassthroughStreamsPromptly: the
# upstream (standing in for ollama.com) writes two lines, neither final.
CLOUD_NO_FINAL_LINE = lines(b'{"response":"first"}', b'{"response":"second"}')


async def test_generate_stream_as_go_encodes_it(answer: Answer) -> None:
    client = await answer(BENCH_GENERATE, NDJSON)
    parts = [p async for p in client.generate("test-model", "hi", stream=True)]
    assert [p.response for p in parts] == [
        "test response part 1",
        "test response part 2",
    ]
    assert parts[0].created_at == ZERO_TIME
    final = await client.generate("test-model", "hi", stream=True).collect()
    assert final.response == "test response part 1test response part 2"
    assert final.done and final.done_reason is None
    assert (final.eval_count, final.eval_duration) == (50, 500_000_000)
    assert final.image is None and final.completed is None and final.total is None


async def test_image_generation_stream_without_response(answer: Answer) -> None:
    client = await answer(lines(IMAGE_PROGRESS, IMAGE_FINAL), NDJSON)
    parts = [p async for p in client.generate("x/z-image-turbo", "sun", stream=True)]
    assert [(p.completed, p.total, p.image) for p in parts] == [
        (5, 20, None),
        (None, None, "iVBORw0KGgoAAAANSUhEUg..."),
    ]
    assert [p.response for p in parts] == ["", ""]
    whole = await client.generate("x/z-image-turbo", "sun", stream=True).collect()
    assert whole.image == "iVBORw0KGgoAAAANSUhEUg..."
    assert whole.response == ""
    assert (whole.done, whole.done_reason) == (True, "stop")
    assert (whole.total_duration, whole.load_duration) == (15 * 10**9, 2 * 10**9)
    assert whole["image"] == "iVBORw0KGgoAAAANSUhEUg..."


async def test_image_generation_not_streamed(answer: Answer) -> None:
    client = await answer(IMAGE_NOT_STREAMED)
    r = await client.generate("test-image", "test prompt")
    assert (r.image, r.completed, r.total) == ("base64image", 3, 3)
    assert (r.response, r.done, r.done_reason) == ("", True, "stop")


async def test_cloud_lines_without_a_final_line_are_incomplete(
    answer: Answer,
) -> None:
    client = await answer(CLOUD_NO_FINAL_LINE, NDJSON)
    seen = []
    with pytest.raises(IncompleteStreamError):
        async for part in client.generate("kimi-k2.5:cloud", "hi", stream=True):
            seen.append(part)
    assert [(p.response, p.model, p.created_at, p.done) for p in seen] == [
        ("first", "", None, False),
        ("second", "", None, False),
    ]


# -- chat ----------------------------------------------------------------------

# server/routes_cloud_test.go, TestExplicitCloudPassthroughAPIAndV1, "api chat":
# ollama.com's stand-in answers without model or created_at.
CLOUD_CHAT = b'{"message":{"role":"assistant","content":"ok"},"done":true}'

# server/routes_cloud_test.go, TestCloudResponsesWebSearchUsesLocalOrchestration:
# a tool call, then a final line whose message has no content.
CLOUD_CHAT_TOOL_STREAM = lines(
    b'{"message":{"role":"assistant","tool_calls":[{"id":"call_1","function":'
    b'{"name":"web_search","arguments":{"query":"latest Ollama release"}}}]},'
    b'"done":false}',
    b'{"message":{"role":"assistant"},"done":true,"prompt_eval_count":12,'
    b'"eval_count":4}',
)

# api/client_test.go, TestClientStream, "successful stream completion":
# Go-encoded ChatResponse values with only Message.Content (and Done,
# DoneReason) set, so role is "" and created_at the zero time.
GO_CLIENT_STREAM = lines(
    b'{"model":"","created_at":"0001-01-01T00:00:00Z",'
    b'"message":{"role":"","content":"chunk 1"},"done":false}',
    b'{"model":"","created_at":"0001-01-01T00:00:00Z",'
    b'"message":{"role":"","content":"chunk 2"},"done":false}',
    b'{"model":"","created_at":"0001-01-01T00:00:00Z",'
    b'"message":{"role":"","content":"final chunk"},"done":true,"done_reason":"stop"}',
)


async def test_cloud_chat_without_model_or_timestamp(answer: Answer) -> None:
    client = await answer(CLOUD_CHAT)
    r = await client.chat("kimi-k2.5:cloud", USER_HI)
    assert (r.model, r.created_at, r.done) == ("", None, True)
    assert r.message.content == "ok"


async def test_cloud_chat_stream_with_a_content_less_final_line(
    answer: Answer,
) -> None:
    client = await answer(CLOUD_CHAT_TOOL_STREAM, NDJSON)
    whole = await client.chat("gpt-oss:120b", USER_HI, stream=True).collect()
    assert whole.message.content == ""
    (call,) = whole.message.tool_calls or []
    assert (call.id, call.function.name) == ("call_1", "web_search")
    assert call.function.arguments == {"query": "latest Ollama release"}
    assert (whole.prompt_eval_count, whole.eval_count) == (12, 4)


async def test_go_client_stream_fixture(answer: Answer) -> None:
    client = await answer(GO_CLIENT_STREAM, NDJSON)
    whole = await client.chat("m", USER_HI, stream=True).collect()
    assert whole.message.content == "chunk 1chunk 2final chunk"
    assert whole.message.role == ""
    assert (whole.done, whole.done_reason) == (True, "stop")


# api/client_test.go, TestClientStream, "error after successful chunks, ok
# response": a chunk, then {"error": ...} written by json.Encoder under a 200.
# The test streams ChatResponse values; the generate line is the
# GenerateResponse with the same text. Generate chunks have no required field
# any more, and the error line must still raise.
MID_STREAM_ERROR = b'{"error":"mid-stream error"}'
PARTIAL = {
    "chat": b'{"model":"","created_at":"0001-01-01T00:00:00Z",'
    b'"message":{"role":"","content":"partial response 1"},"done":false}',
    "generate": b'{"model":"","created_at":"0001-01-01T00:00:00Z",'
    b'"response":"partial response 1","done":false}',
}


@pytest.mark.parametrize("endpoint", ["chat", "generate"])
async def test_error_line_after_chunks_raises(answer: Answer, endpoint: str) -> None:
    chunk = PARTIAL[endpoint]
    client = await answer(lines(chunk, MID_STREAM_ERROR), NDJSON)
    stream = (
        client.chat("m", USER_HI, stream=True)
        if endpoint == "chat"
        else client.generate("m", "hi", stream=True)
    )
    seen = 0
    with pytest.raises(StreamError, match="mid-stream error") as info:
        async for _ in stream:
            seen += 1
    assert seen == 1
    assert info.value.status_code == -1
    assert stream.closed


async def test_error_object_as_a_non_streamed_generate_answer(
    answer: Answer,
) -> None:
    client = await answer(MID_STREAM_ERROR)
    with pytest.raises(StreamError, match="mid-stream error"):
        await client.generate("m", "hi")


# -- embed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected", "model"),
    [
        # server/routes_cloud_test.go, TestExplicitCloudPassthroughAPIAndV1,
        # "api embed".
        pytest.param(
            b'{"model":"kimi-k2.5:cloud","embeddings":[[0.1,0.2]]}',
            [[0.1, 0.2]],
            "kimi-k2.5:cloud",
            id="cloud",
        ),
        # api/types.go, EmbedResponse: Embeddings has no omitempty, so
        # EmbedResponse{Model: "m"} is Go-encoded with a null.
        pytest.param(b'{"model":"m","embeddings":null}', [], "m", id="go-nil-slice"),
    ],
)
async def test_embed(
    answer: Answer, body: bytes, expected: list[list[float]], model: str
) -> None:
    client = await answer(body)
    r = await client.embed(model, "hello")
    assert r.embeddings == expected
    assert r.model == model
    assert r.total_duration is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # server/routes_cloud_test.go, TestExplicitCloudPassthroughAPIAndV1,
        # "api embeddings".
        pytest.param(b'{"embedding":[0.1,0.2]}', [0.1, 0.2], id="cloud"),
        # api/types.go, EmbeddingResponse: EmbeddingResponse{} Go-encoded.
        pytest.param(b'{"embedding":null}', [], id="go-nil-slice"),
    ],
)
async def test_embeddings(answer: Answer, body: bytes, expected: list[float]) -> None:
    client = await answer(body)
    r = await client.embeddings("m", "hello")
    assert r.embedding == expected


# -- show, list, ps ------------------------------------------------------------

# cmd/cmd_test.go, TestShowInfo, "min version": the ShowResponse Go-encoded.
# Families and ModelInfo are nil (no omitempty: null); ModifiedAt is the zero
# time (omitempty never drops a struct).
SHOW_MIN_VERSION = (
    b'{"details":{"parent_model":"","format":"","family":"test","families":null,'
    b'"parameter_size":"7B","quantization_level":"FP16"},"model_info":null,'
    b'"modified_at":"0001-01-01T00:00:00Z","requires":"0.19.0"}'
)

# server/routes_create_test.go, TestCreateAndShowRemoteModel: what ShowHandler
# answers for the remote model the test creates (the fields the test checks,
# and remote_model/remote_host from its CreateRequest), in Go's field order.
SHOW_REMOTE = (
    b'{"details":{"parent_model":"","format":"","family":"gptoss",'
    b'"families":["gptoss"],"parameter_size":"20.9B",'
    b'"quantization_level":"MXFP4"},"remote_model":"bob",'
    b'"remote_host":"https://ollama.com","model_info":{"gptoss.context_length":'
    b'131072,"gptoss.embedding_length":2880},'
    b'"capabilities":["completion","tools","thinking"],'
    b'"modified_at":"2026-01-15T10:30:15.123456789-08:00"}'
)

# cmd/cmd_test.go, TestShowInfo, "verbose model": its tensors, plus one whose
# Shape is nil, Go-encoded as null (api/types.go, Tensor: no omitempty).
SHOW_TENSORS = (
    b'{"details":{"parent_model":"","format":"","family":"test","families":null,'
    b'"parameter_size":"8B","quantization_level":"FP16"},'
    b'"model_info":{"general.architecture":"test","test.context_length":1000},'
    b'"tensors":[{"name":"blk.0.attn_k.weight","type":"BF16","shape":[42,3117]},'
    b'{"name":"blk.0.attn_q.weight","type":"FP16","shape":[3117,42]},'
    b'{"name":"output.weight","type":"F32","shape":null}],'
    b'"modified_at":"0001-01-01T00:00:00Z"}'
)


async def test_show_as_ollama_com_answers(answer: Answer) -> None:
    # server/routes_cloud_test.go, TestExplicitCloudPassthroughAPIAndV1,
    # "api show": nothing but details.
    client = await answer(b'{"details":{"format":"gguf"}}')
    r = await client.show("kimi-k2.5:cloud")
    assert r.details is not None and r.details.format == "gguf"
    assert r.details.families is None and r.model_info is None


async def test_show_with_nulls_and_requires(answer: Answer) -> None:
    client = await answer(SHOW_MIN_VERSION)
    r = await client.show("test")
    assert r.requires == "0.19.0"
    assert r.model_info is None and r.modelinfo is None
    assert r.details is not None and r.details.families is None
    assert r.details.family == "test" and r.details.context_length is None
    assert r.modified_at == dt.datetime(1, 1, 1, tzinfo=dt.UTC)


async def test_show_of_a_remote_model(answer: Answer) -> None:
    client = await answer(SHOW_REMOTE)
    r = await client.show("test")
    assert (r.remote_model, r.remote_host) == ("bob", "https://ollama.com")
    assert r.capabilities == ["completion", "tools", "thinking"]
    assert r.model_info == {
        "gptoss.context_length": 131072,
        "gptoss.embedding_length": 2880,
    }
    assert r.details is not None and r.details.families == ["gptoss"]
    assert r.modified_at is not None
    assert r.modified_at.utcoffset() == dt.timedelta(hours=-8)


async def test_show_tensor_with_a_null_shape(answer: Answer) -> None:
    client = await answer(SHOW_TENSORS)
    r = await client.show("test", verbose=True)
    assert [(t.name, t.type, t.shape) for t in r.tensors or []] == [
        ("blk.0.attn_k.weight", "BF16", [42, 3117]),
        ("blk.0.attn_q.weight", "FP16", [3117, 42]),
        ("output.weight", "F32", []),
    ]


async def test_list_as_go_encodes_it(answer: Answer) -> None:
    # cmd/cmd_test.go, TestListHandler, "list all models": its mock server
    # Go-encodes ListModelResponse values (no model, zero details: families
    # null); the test's clock gave modified_at, this is a stand-in.
    client = await answer(
        b'{"models":[{"name":"model1","model":"","modified_at":'
        b'"2026-01-14T10:30:15.123456789-08:00","size":1024,"digest":"sha256:abc123",'
        b'"details":{"parent_model":"","format":"","family":"","families":null,'
        b'"parameter_size":"","quantization_level":""}}]}'
    )
    (m,) = (await client.list()).models
    assert (m.name, m.model, m.size, m.digest) == ("model1", "", 1024, "sha256:abc123")
    assert m.details is not None and m.details.families is None
    assert m.modified_at is not None and m.modified_at.year == 2026


async def test_ps_as_go_encodes_it(answer: Answer) -> None:
    # cmd/bench/bench_test.go, createMockOllamaServer: its default /api/ps
    # answer, Go-encoded (zero expires_at, zero context_length).
    client = await answer(
        b'{"models":[{"name":"test-model","model":"test-model","size":4080218931,'
        b'"digest":"","details":{"parent_model":"","format":"","family":"",'
        b'"families":null,"parameter_size":"","quantization_level":""},'
        b'"expires_at":"0001-01-01T00:00:00Z","size_vram":4080218931,'
        b'"context_length":0}]}'
    )
    (m,) = (await client.ps()).models
    assert (m.name, m.size, m.size_vram, m.context_length) == (
        "test-model",
        4080218931,
        4080218931,
        0,
    )
    assert m.expires_at == dt.datetime(1, 1, 1, tzinfo=dt.UTC)


async def test_details_context_and_embedding_length(answer: Answer) -> None:
    # cmd/launch/models_test.go,
    # TestBuildModelList_UsesInventoryMetadataForInstalledModels: its
    # api.ModelDetails, Go-encoded, in a tags entry.
    client = await answer(
        b'{"models":[{"name":"custom-tools:latest","model":"custom-tools:latest",'
        b'"modified_at":"0001-01-01T00:00:00Z","size":7500000000,"digest":"",'
        b'"details":{"parent_model":"","format":"","family":"","families":null,'
        b'"parameter_size":"8B","quantization_level":"Q4_K_M",'
        b'"context_length":131072,"embedding_length":4096},'
        b'"capabilities":["completion","tools","thinking"]}]}'
    )
    (m,) = (await client.list()).models
    assert m.details is not None
    assert (m.details.context_length, m.details.embedding_length) == (131072, 4096)
    assert m.capabilities == ["completion", "tools", "thinking"]


@pytest.mark.parametrize("call", ["list", "ps"])
async def test_models_null(answer: Answer, call: str) -> None:
    # api/types.go, ListResponse and ProcessResponse: Models has no omitempty;
    # ListResponse{} Go-encoded (older servers answered that for no models).
    client = await answer(b'{"models":null}')
    r = await (client.list() if call == "list" else client.ps())
    assert r.models == []


# -- web search and fetch (ollama.com) ------------------------------------------


async def test_web_search_and_fetch_as_ollama_com_answers(
    raw_server,
) -> None:
    # server/routes_web_experimental_test.go, TestExperimentalWebEndpointsPassthrough,
    # "web_search" and "web_fetch": the upstream bodies.
    search = (
        b'{"results":[{"title":"Ollama","url":"https://ollama.com",'
        b'"content":"Cloud models are now available"}]}'
    )
    fetch = (
        b'{"title":"Ollama","content":"Cloud models are now available",'
        b'"links":["https://ollama.com/"]}'
    )

    async def handler(request: web.Request) -> web.Response:
        body = search if request.path == "/api/web_search" else fetch
        return web.Response(body=body, headers={"Content-Type": JSON})

    url = await raw_server(handler)
    async with AsyncClient(url) as client:
        client.web_url = url
        (hit,) = (await client.web_search("what is ollama?", api_key="k")).results
        page = await client.web_fetch("https://ollama.com", api_key="k")
    assert (hit.title, hit.url, hit.content) == (
        "Ollama",
        "https://ollama.com",
        "Cloud models are now available",
    )
    assert (page.title, page.links) == ("Ollama", ["https://ollama.com/"])
    assert page.content == "Cloud models are now available"


@pytest.mark.parametrize(
    "body",
    [
        # api/types.go, WebSearchResponse: Results has no omitempty, so
        # WebSearchResponse{} Go-encoded is a null; and nothing at all.
        pytest.param(b'{"results":null}', id="null"),
        pytest.param(b"{}", id="absent"),
    ],
)
async def test_web_search_without_results(answer: Answer, body: bytes) -> None:
    client = await answer(body)
    r = await client.web_search("q", api_key="k")
    assert r.results == []


async def test_web_search_result_with_null_text(answer: Answer) -> None:
    # The routes_web_experimental_test.go hit with ollama.com sending null
    # for its strings: "" (the official client gives None).
    client = await answer(
        b'{"results":[{"title":null,"url":"https://ollama.com","content":null},'
        b'{"url":null}]}'
    )
    first, second = (await client.web_search("q", api_key="k")).results
    assert (first.title, first.url, first.content) == ("", "https://ollama.com", "")
    assert (second.title, second.url, second.content) == ("", "", "")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'{"title":null,"content":null,"links":null}', id="null-everywhere"
        ),
        # api/types.go, WebFetchResponse: Links has omitempty, so an empty
        # page's answer may have no links at all.
        pytest.param(b'{"title":"","content":""}', id="go-empty-page"),
        pytest.param(b"{}", id="absent"),
    ],
)
async def test_web_fetch_with_nothing(answer: Answer, body: bytes) -> None:
    client = await answer(body)
    page = await client.web_fetch("https://example.com", api_key="k")
    assert (page.title, page.content, page.links) == ("", "", [])
