"""Where the emulator follows Ollama's newest server rather than the wire
reference (issue 16, item 7), raw over loopback, with exact bodies.

Each group names the Go source it mirrors (ollama/ollama @ fb30760):
``server/routes.go`` (handlers), ``server/prompt.go`` and
``llm/llama_server.go`` (images reach the runner), ``server/create.go``,
``server/model_resolver.go`` with ``internal/modelref`` (``:local``/``:cloud``)
and ``server/model_list_cache.go`` (``/api/tags``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ollama_async.testing import FakeModel, FakeOllama, Fault
from ollama_async.testing._users import SIGNIN_URL

from .conftest import Reply

JSON = "application/json; charset=utf-8"
PLAIN = "application/json"
NDJSON = "application/x-ndjson"
IMAGE = "aGk="
# llama-server's error bodies, which Ollama passes on whole as its message.
MULTIMODAL = (
    '{"error":{"code":400,"message":"Multimodal data provided, but model does '
    'not support multimodal requests.","type":"invalid_request_error"}}'
)
NO_MMPROJ = (
    '{"error":{"code":500,"message":"image input is not supported - hint: if '
    'this is unexpected, you may need to provide the mmproj","type":'
    '"server_error"}}'
)
USER = {"role": "user", "content": "What is this?"}


def go_json(obj: Any) -> bytes:
    """Compact JSON with Go's escaping of ``<``, ``>`` and ``&``."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.encode()


def exact(reply: Reply, status: int, content_type: str, message: str) -> None:
    """The reply is exactly Go's ``{"error": message}`` with this status."""
    assert (reply.status, reply.content_type, reply.body) == (
        status,
        content_type,
        go_json({"error": message}),
    )


def without_time(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "created_at"}


async def gen(call, **body):
    return await call("POST", "/api/generate", json={"model": "llama3.2"} | body)


async def chat(call, **body):
    body = {"model": "llama3.2", "messages": [USER]} | body
    return await call("POST", "/api/chat", json=body)


# --- images: no vision check; the runner refuses them -----------------------------
# GenerateHandler/ChatHandler ask no "vision" capability (routes.go:448-455,
# 2610-2613); imageTaggedMessages tags the images (prompt.go:94) and the runner gets
# them: llama-server's /completion answers 400, its chat parser 500, and
# statusErrorMessage (llama_server.go:1782) makes that body Ollama's message.


@pytest.mark.parametrize(
    ("stream", "content_type"), [(None, PLAIN), (True, PLAIN), (False, JSON)]
)
async def test_generate_image_on_a_text_model_is_the_runners_400(
    call, stream, content_type
):
    # After streaming is set up the error is sent with a plain content type
    # (streamResponse, routes.go:2097); without streaming by c.JSON.
    reply = await gen(call, prompt="What is this?", images=[IMAGE], stream=stream)
    exact(reply, 400, content_type, MULTIMODAL)


async def test_chat_image_on_a_templated_model_is_the_runners_400(call):
    reply = await chat(call, messages=[USER | {"images": [IMAGE]}])
    exact(reply, 400, PLAIN, MULTIMODAL)
    reply = await chat(call, messages=[USER | {"images": [IMAGE]}], stream=False)
    exact(reply, 400, JSON, MULTIMODAL)


async def test_images_are_fine_on_a_vision_model(call):
    reply = await gen(call, model="llava:7b", prompt="?", images=[IMAGE], stream=False)
    assert reply.status == 200
    reply = await chat(call, model="llava:7b", messages=[USER | {"images": [IMAGE]}])
    assert reply.status == 200


async def test_images_do_not_stop_a_load_or_an_earlier_error(call):
    # The runner sees the images only with a prompt: an empty one loads.
    reply = await gen(call, images=[IMAGE])
    assert reply.json["done_reason"] == "load"
    # The runner checks the format before it sends the images on.
    reply = await gen(call, prompt="x", images=[IMAGE], format="yaml")
    exact(
        reply,
        500,
        PLAIN,
        'invalid format: "\\"yaml\\""; expected "json" or a valid JSON Schema object',
    )


async def test_native_chat_model_refuses_images_in_its_chat_parser(http):
    # No Go template, renderer or parser: llama-server renders the chat
    # (chatModeForModel, routes.go:2357). With one message Ollama calls its chat
    # endpoint (500 through the stream); with more it first renders the
    # messages to truncate them (truncateNativeChatMessages, routes.go:3040),
    # and answers that 500 itself, before streaming.
    native = FakeModel(name="native", template="")
    async with FakeOllama(models=[native]) as server:

        async def send(messages, **extra):
            body = {"model": "native", "messages": messages} | extra
            async with http.post(server.url + "/api/chat", json=body) as resp:
                return Reply(resp.status, resp.headers, await resp.read())

        image = USER | {"images": [IMAGE]}
        exact(await send([image]), 500, PLAIN, NO_MMPROJ)
        exact(await send([image], stream=False), 500, JSON, NO_MMPROJ)
        two = [{"role": "system", "content": "Be brief."}, image]
        exact(await send(two), 500, JSON, NO_MMPROJ)
        exact(await send(two, truncate=False), 500, PLAIN, NO_MMPROJ)


async def test_native_generate_with_a_system_prompt_renders_images_first(http):
    # GenerateHandler's native branch (routes.go:556-575): a system message makes
    # two, so the truncation render meets the image; alone, the image goes to
    # /completion.
    native = FakeModel(name="native", template="")
    async with FakeOllama(models=[native]) as server:

        async def send(**extra):
            body = {"model": "native", "prompt": "?", "images": [IMAGE]} | extra
            async with http.post(server.url + "/api/generate", json=body) as resp:
                return Reply(resp.status, resp.headers, await resp.read())

        exact(await send(), 400, PLAIN, MULTIMODAL)
        exact(await send(system="Be brief."), 500, JSON, NO_MMPROJ)
        # A request template runs in Go: the image goes to /completion.
        reply = await send(system="Be brief.", template="{{ .Prompt }}")
        exact(reply, 400, PLAIN, MULTIMODAL)


# --- the order of GenerateHandler's checks (routes.go:245-488) --------------------


async def test_unload_comes_before_the_raw_check(server, call):
    await gen(call)  # load it
    reply = await gen(call, keep_alive=0, raw=True, system="s", template="t")
    assert reply.status == 200
    assert without_time(reply.json) == {
        "model": "llama3.2",
        "response": "",
        "done": True,
        "done_reason": "unload",
    }
    assert server.loaded_models == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"model": "nomic-embed-text"}, id="no-completion"),
        pytest.param({"think": True}, id="no-thinking"),
        pytest.param({"suffix": "x"}, id="no-insert"),
        pytest.param({"options": {"temperature": "hot"}}, id="bad-option"),
        pytest.param({"format": "yaml"}, id="bad-format"),
    ],
)
async def test_unload_comes_before_capability_option_and_format_checks(call, body):
    reply = await gen(call, keep_alive="0s", **body)
    assert (reply.status, reply.json["done_reason"]) == (200, "unload")


async def test_raw_check_comes_before_capability_checks(call):
    raw = {"prompt": "x", "raw": True, "system": "s"}
    message = "raw mode does not support template, system, or context"
    exact(await gen(call, think=True, **raw), 400, JSON, message)
    exact(await gen(call, suffix="y", **raw), 400, JSON, message)
    exact(await gen(call, model="nomic-embed-text", **raw), 400, JSON, message)


async def test_image_generation_models_are_refused_after_unload(http):
    painter = FakeModel(name="painter", capabilities=("image",))
    async with FakeOllama(models=[painter]) as server:

        async def send(**extra):
            body = {"model": "painter"} | extra
            async with http.post(server.url + "/api/generate", json=body) as resp:
                return Reply(resp.status, resp.headers, await resp.read())

        message = "image generation models are not currently supported"
        exact(await send(prompt="a cat"), 400, JSON, message)
        exact(await send(prompt="a cat", raw=True, system="s"), 400, JSON, message)
        assert (await send(keep_alive=0)).json["done_reason"] == "unload"


async def test_an_empty_prompt_loads_even_with_a_suffix(http):
    coder = FakeModel(name="coder", capabilities=("completion", "insert"))
    async with FakeOllama(models=[coder]) as server:
        body = {"model": "coder", "suffix": "return x"}
        async with http.post(server.url + "/api/generate", json=body) as resp:
            assert (await resp.json())["done_reason"] == "load"


async def test_top_logprobs_is_checked_before_the_model(call):
    reply = await gen(call, model="nope", top_logprobs=21)
    exact(reply, 400, JSON, "top_logprobs must be between 0 and 20")


async def test_busy_comes_after_the_requests_own_checks(http):
    # ErrMaxQueue is the scheduler's (sched.go:88), reached by scheduleRunner.
    async with FakeOllama(max_concurrency=0) as server:

        async def send(path, body):
            async with http.post(server.url + path, json=body) as resp:
                return Reply(resp.status, resp.headers, await resp.read())

        busy = "server busy, please try again.  maximum pending requests exceeded"
        exact(
            await send("/api/generate", {"model": "x"}),
            404,
            JSON,
            "model 'x' not found",
        )
        body = {"model": "llama3.2", "prompt": "x", "think": True}
        exact(
            await send("/api/generate", body),
            400,
            JSON,
            '"llama3.2" does not support thinking',
        )
        body = {"model": "llama3.2", "keep_alive": 0}
        assert (await send("/api/generate", body)).status == 200  # no runner needed
        exact(await send("/api/generate", {"model": "llama3.2"}), 503, JSON, busy)
        exact(await send("/api/embed", {"model": "llama3.2"}), 503, JSON, busy)


# --- ChatHandler's order (routes.go:2440-2648) -----------------------------------


async def test_chat_unloads_before_capability_checks(server, call):
    reply = await chat(call, model="nomic-embed-text", messages=[], keep_alive=0)
    assert without_time(reply.json) == {
        "model": "nomic-embed-text",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "unload",
    }
    reply = await chat(call, messages=[], keep_alive=0, think=True, tools=[{}])
    assert reply.json["done_reason"] == "unload"


# --- decoding: an UnmarshalJSON error stops Go's decoder at once ------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"prompt": 1, "think": "x"},
            'invalid think value: "x" (must be "high", "medium", "low", "max", '
            "true, or false)",
            id="think-over-a-type-error",
        ),
        pytest.param(
            {"prompt": 1, "keep_alive": "300"},
            'time: missing unit in duration "300"',
            id="keep-alive-over-a-type-error",
        ),
        pytest.param(
            {"think": 2, "keep_alive": "300"},
            'think must be a boolean or string ("high", "medium", "low", "max", '
            "true, or false)",
            id="first-of-two-in-document-order",
        ),
        pytest.param(
            {"prompt": 1, "raw": "yes"},
            "json: cannot unmarshal number into Go struct field "
            "GenerateRequest.prompt of type string",
            id="first-type-error",
        ),
    ],
)
async def test_decoder_error_precedence(call, body, message):
    exact(await gen(call, **body), 400, JSON, message)


# --- model references (model_resolver.go, internal/modelref) ----------------------


async def test_generate_name_errors(call):
    exact(await gen(call, model=""), 404, JSON, "model '' not found")
    exact(await gen(call, model="  "), 404, JSON, "model '  ' not found")
    exact(await gen(call, model="a/b/c/d"), 400, JSON, "invalid model name")
    message = 'use either :local or :cloud, not both: "llama3.2:local:cloud"'
    exact(await gen(call, model="llama3.2:local:cloud"), 400, JSON, message)


async def test_chat_and_embeddings_name_errors(call):
    exact(await chat(call, model=""), 400, JSON, "model is required")
    exact(await chat(call, model="a/b/c/d"), 400, JSON, "invalid model name")
    body = {"model": "a/b/c/d", "prompt": "x"}
    exact(
        await call("POST", "/api/embeddings", json=body),
        400,
        JSON,
        "invalid model name",
    )
    body = {"model": " ", "prompt": "x"}
    exact(
        await call("POST", "/api/embeddings", json=body), 400, JSON, "model is required"
    )


async def test_embed_checks_the_name_before_the_input(call):
    body = {"model": "", "input": [1]}
    exact(await call("POST", "/api/embed", json=body), 404, JSON, "model '' not found")
    body = {"model": "llama3.2", "input": [1]}
    exact(await call("POST", "/api/embed", json=body), 400, JSON, "invalid input type")


async def test_local_suffix_and_surrounding_space_are_accepted(call):
    reply = await gen(call, model=" llama3.2:local ", prompt="x", stream=False)
    assert (reply.status, reply.json["model"]) == (200, " llama3.2:local ")


async def test_show_delete_pull_name_errors(call):
    async def post(path, body, method="POST"):
        return await call(method, path, json=body)

    exact(await post("/api/show", {"model": " "}), 400, JSON, "model is required")
    message = 'use either :local or :cloud, not both: "x:cloud:local"'
    exact(await post("/api/show", {"model": "x:cloud:local"}), 400, JSON, message)
    reply = await post("/api/show", {"model": "LLAMA3.2:NOPE"})
    exact(reply, 404, JSON, "model 'llama3.2:NOPE' not found")  # getExistingName
    exact(
        await post("/api/delete", {"model": " "}, "DELETE"),
        400,
        JSON,
        "model is required",
    )
    reply = await post("/api/delete", {"model": "a/b/c/d"}, "DELETE")
    exact(reply, 400, JSON, 'name "a/b/c/d" is invalid')
    message = 'use either :local or :cloud, not both: "x:local:cloud"'
    exact(await post("/api/pull", {"model": "x:local:cloud"}), 400, JSON, message)
    exact(await post("/api/pull", {"model": " "}), 400, JSON, "invalid model name")


async def test_push_of_an_invalid_name_fails_in_the_stream(call):
    # PushHandler checks only that a name was given; PushModel then fails to
    # read the manifest of what the name parses to (images.go:931-943).
    reply = await call("POST", "/api/push", json={"model": "bad name!"})
    assert (reply.status, reply.content_type) == (200, NDJSON)
    assert reply.body == (
        b'{"status":"retrieving manifest"}\n'
        b'{"status":"couldn\'t retrieve manifest"}\n'
        b'{"error":"unqualified name: registry.ollama.ai/library/bad name!:latest"}\n'
    )


# --- other handlers' texts ---------------------------------------------------------


async def test_blob_head_404_is_json(call):
    digest = "sha256:" + "2" * 64
    reply = await call("HEAD", f"/api/blobs/{digest}")
    # Go writes {"error":"blob \"sha256:...\" not found"}; HEAD sends no body.
    assert (reply.status, reply.content_type, reply.body) == (404, JSON, b"")


async def test_web_forwards_refuse_blank_bodies_and_cloud_off(http):
    async with FakeOllama(cloud_disabled_by="env") as server:

        async def send(path, data):
            async with http.post(server.url + path, data=data) as resp:
                return Reply(resp.status, resp.headers, await resp.read())

        search, fetch = "/api/experimental/web_search", "/api/experimental/web_fetch"
        exact(await send(search, b"  \n"), 400, JSON, "missing request body")
        message = "ollama cloud is disabled: web search is unavailable"
        exact(await send(search, b'{"query":"x"}'), 403, JSON, message)
        message = "ollama cloud is disabled: web fetch is unavailable"
        exact(await send(fetch, b'{"url":"https://x"}'), 403, JSON, message)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "ollama cloud is disabled"),
        (500, "llama-server process has terminated: exit status 2"),
    ],
)
async def test_fault_defaults_use_the_servers_texts(server, call, status, message):
    server.add_fault(Fault(status=status))
    exact(await call("GET", "/api/tags"), status, JSON, message)


async def test_runner_crash_text(server, call):
    server.add_fault(Fault(error_after=1))
    lines = (await gen(call, prompt="x")).lines
    assert lines[-1] == {
        "error": "an error was encountered while running the model: unexpected EOF"
    }


async def test_create_checks_paths_then_digests_then_the_name(call):
    async def create(**body):
        return await call("POST", "/api/create", json=body)

    message = "file path must be relative"
    exact(await create(model="", files={"/etc/x": "sha256:1"}), 400, JSON, message)
    exact(await create(model="", files={"a": ""}), 400, JSON, "invalid digest format")
    exact(await create(model="", files={"a": "x"}), 400, JSON, "invalid model name")
    message = "--draft-quantize requires a DRAFT model"
    exact(await create(model="x", draft_quantize="q8_0"), 400, JSON, message)
    # In the stream, before any line: the goroutine's own status, plain type.
    exact(
        await create(model="x", **{"from": "a/b/c/d"}), 400, PLAIN, "invalid model name"
    )
    body = {"from": "llama3.2", "info": {"context_length": -1}}
    reply = await create(model="x", stream=False, **body)
    message = 'info field "context_length" must be a non-negative integer'
    exact(reply, 400, PLAIN, message)


async def test_create_keeps_renderer_parser_requires(call):
    body = {
        "model": "mine",
        "from": "llama3.2",
        "renderer": "qwen3-coder",
        "parser": "qwen3-coder",
        "requires": "0.12.0",
        "stream": False,
    }
    assert (await call("POST", "/api/create", json=body)).status == 200
    show = (await call("POST", "/api/show", json={"model": "mine"})).json
    assert show["requires"] == "0.12.0"
    assert list(show)[-1] == "requires"
    assert "renderer" not in show and "parser" not in show  # never in Go's local show
    # Model.String (images.go:629-641): after SYSTEM, before the parameters.
    modelfile = show["modelfile"]
    assert "\nRENDERER qwen3-coder\nPARSER qwen3-coder\nPARAMETER stop " in modelfile


# --- shapes: tags details, ps, show order -----------------------------------------


async def test_tags_details_carry_the_gguf_lengths(call):
    # buildModelListSummary (model_list_cache.go:311) reads both from the GGUF.
    models = {m["name"]: m for m in (await call("GET", "/api/tags")).json["models"]}
    assert models["nomic-embed-text:latest"]["details"] == {
        "parent_model": "",
        "format": "gguf",
        "family": "nomic-bert",
        "families": ["nomic-bert"],
        "parameter_size": "137M",
        "quantization_level": "F16",
        "context_length": 2048,
        "embedding_length": 768,
    }


async def test_show_and_ps_details_have_no_lengths(server, call):
    show = (await call("POST", "/api/show", json={"model": "llama3.2"})).json
    assert "context_length" not in show["details"]
    body = {"model": "mine", "from": "llama3.2", "stream": False}
    await call("POST", "/api/create", json=body)
    await gen(call, model="mine")
    (entry,) = (await call("GET", "/api/ps")).json["models"]
    # PsHandler (routes.go:2271) fills no parent model; fields in Go's order.
    assert list(entry) == [
        "name",
        "model",
        "size",
        "digest",
        "details",
        "expires_at",
        "size_vram",
        "context_length",
    ]
    assert entry["details"]["parent_model"] == ""
    show = (await call("POST", "/api/show", json={"model": "mine"})).json
    assert show["details"]["parent_model"] == "llama3.2:latest"


async def test_show_field_order_and_sorted_model_info(call):
    show = (await call("POST", "/api/show", json={"model": "llava:7b"})).json
    assert list(show) == [
        "license",
        "modelfile",
        "parameters",
        "template",
        "details",
        "model_info",
        "projector_info",
        "tensors",
        "capabilities",
        "modified_at",
    ]
    assert list(show["model_info"]) == sorted(show["model_info"])


# --- remote models (routes.go:303-400 and 2499-2606) -------------------------------

REMOTE = "https://ollama.com:443"


@pytest.fixture
async def cloud():
    assistant = FakeModel(
        name="assistant",
        family="gptoss",
        capabilities=("completion", "tools"),
        context_length=131072,
        embedding_length=2880,
        remote_host=REMOTE,
        remote_model="gpt-oss:20b",
        requires="0.12.0",
    )
    async with FakeOllama(models=[assistant], response_tokens=3, user="alice") as fake:
        yield fake


@pytest.fixture
def on_cloud(cloud, http):
    async def do(method, path, **kwargs):
        async with http.request(method, cloud.url + path, **kwargs) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    return do


async def test_remote_generate_stamps_every_line(cloud, on_cloud):
    body = {"model": "assistant", "prompt": "Hi"}
    reply = await on_cloud("POST", "/api/generate", json=body)
    assert (reply.status, reply.content_type) == (200, NDJSON)
    for line in reply.lines:
        assert list(line)[:4] == ["model", "remote_model", "remote_host", "created_at"]
        assert (line["model"], line["remote_model"], line["remote_host"]) == (
            "assistant",
            "gpt-oss:20b",
            REMOTE,
        )
    assert reply.lines[-1]["done"] is True
    assert cloud.loaded_models == []  # it ran on the remote


async def test_remote_non_streamed_answer_ends_in_a_newline(on_cloud):
    body = {"model": "assistant", "messages": [USER], "stream": False}
    reply = await on_cloud("POST", "/api/chat", json=body)
    assert (reply.status, reply.content_type) == (200, JSON)
    assert reply.body.endswith(b"}\n") and reply.body.count(b"\n") == 1
    answer = json.loads(reply.body)
    assert list(answer)[:5] == [
        "model",
        "remote_model",
        "remote_host",
        "created_at",
        "message",
    ]


async def test_remote_errors_are_relayed_as_status_errors(on_cloud):
    # The remote gets the model's template, so raw mode always fails there, and
    # its 400 comes back in the Go client's StatusError shape.
    body = {"model": "assistant", "prompt": "Hi", "raw": True}
    reply = await on_cloud("POST", "/api/generate", json=body)
    assert (reply.status, reply.content_type, reply.body) == (
        400,
        NDJSON,
        b'{"StatusCode":400,"Status":"400 Bad Request",'
        b'"error":"raw mode does not support template, system, or context"}',
    )
    body = {"model": "assistant", "messages": [USER], "think": True, "stream": False}
    reply = await on_cloud("POST", "/api/chat", json=body)
    assert (reply.status, reply.content_type, reply.body) == (
        400,
        JSON,
        b'{"StatusCode":400,"Status":"400 Bad Request",'
        b'"error":"\\"gpt-oss:20b\\" does not support thinking"}',
    )


async def test_remote_unload_generate_relays_chat_answers_locally(on_cloud):
    body = {"model": "assistant", "keep_alive": 0}
    reply = await on_cloud("POST", "/api/generate", json=body)
    assert reply.content_type == NDJSON and reply.body.endswith(b"\n")
    assert without_time(json.loads(reply.body)) == {
        "model": "assistant",
        "remote_model": "gpt-oss:20b",
        "remote_host": REMOTE,
        "response": "",
        "done": True,
        "done_reason": "unload",
    }
    body = {"model": "assistant", "messages": [], "keep_alive": 0}
    reply = await on_cloud("POST", "/api/chat", json=body)
    assert reply.content_type == JSON and not reply.body.endswith(b"\n")
    assert without_time(reply.json) == {
        "model": "assistant",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "unload",
    }


async def test_remote_refusals(cloud, on_cloud):
    body = {"model": "assistant", "prompt": "Hi"}
    cloud.user = None
    reply = await on_cloud("POST", "/api/generate", json=body)
    assert (reply.status, reply.content_type, reply.body) == (
        401,
        NDJSON,
        go_json({"error": "unauthorized", "signin_url": SIGNIN_URL}),
    )
    cloud.cloud_disabled_by = "config"
    message = "ollama cloud is disabled: remote model is unavailable"
    exact(await on_cloud("POST", "/api/generate", json=body), 403, JSON, message)
    message = "ollama cloud is disabled: remote model details are unavailable"
    exact(await on_cloud("POST", "/api/show", json=body), 403, JSON, message)
    cloud.cloud_disabled_by = None
    cloud.models["elsewhere"] = FakeModel(
        name="elsewhere", remote_host="https://example.com", remote_model="m"
    )
    body = {"model": "elsewhere", "messages": [USER]}
    message = "this server cannot run this remote model"
    exact(await on_cloud("POST", "/api/chat", json=body), 400, JSON, message)


async def test_remote_model_named_as_local_is_not_found(on_cloud):
    body = {"model": "assistant:local", "prompt": "Hi"}
    message = "model 'assistant:local' not found"
    exact(await on_cloud("POST", "/api/generate", json=body), 404, JSON, message)
    exact(await on_cloud("POST", "/api/show", json=body), 404, JSON, message)


async def test_explicit_cloud_names_with_cloud_off(cloud, on_cloud):
    cloud.cloud_disabled_by = "env"
    message = "ollama cloud is disabled: remote model is unavailable"
    body = {"model": "gpt-oss:20b-cloud", "prompt": "Hi"}
    exact(await on_cloud("POST", "/api/generate", json=body), 403, JSON, message)
    body = {"model": "gpt-oss:20b:cloud", "input": "Hi"}
    exact(await on_cloud("POST", "/api/embed", json=body), 403, JSON, message)


async def test_remote_model_in_tags_and_show(on_cloud):
    (entry,) = (await on_cloud("GET", "/api/tags")).json["models"]
    assert list(entry)[:4] == ["name", "model", "remote_model", "remote_host"]
    assert (entry["remote_model"], entry["remote_host"]) == ("gpt-oss:20b", REMOTE)
    assert entry["details"]["context_length"] == 131072
    show = (await on_cloud("POST", "/api/show", json={"model": "assistant"})).json
    # GetModelInfo (routes.go:1475-1493, 1535-1538): config-made model_info, no
    # tensors, no projector.
    assert list(show) == [
        "modelfile",
        "template",
        "details",
        "remote_model",
        "remote_host",
        "model_info",
        "capabilities",
        "modified_at",
        "requires",
    ]
    assert show["model_info"] == {
        "general.architecture": "gptoss",
        "gptoss.context_length": 131072,
        "gptoss.embedding_length": 2880,
    }
    assert show["template"] == "{{ .Prompt }}"
    assert "\nFROM \nTEMPLATE {{ .Prompt }}\n" in show["modelfile"]


async def test_create_from_a_cloud_model_makes_a_remote_stub(on_cloud):
    body = {
        "model": "helper",
        "from": "qwen3-coder:480b:cloud",
        "info": {"capabilities": ["completion", "tools"], "model_family": "qwen3moe"},
        "stream": False,
    }
    reply = await on_cloud("POST", "/api/create", json=body)
    assert reply.json == {"status": "success"}
    show = (await on_cloud("POST", "/api/show", json={"model": "helper"})).json
    assert (show["remote_model"], show["remote_host"]) == ("qwen3-coder:480b", REMOTE)
    assert show["capabilities"] == ["completion", "tools"]
    assert show["details"]["family"] == "qwen3moe"
    body = {"model": "helper", "prompt": "Hi", "stream": False}
    answer = (await on_cloud("POST", "/api/generate", json=body)).json
    assert answer["remote_model"] == "qwen3-coder:480b"
