"""The requests ``ollama_async`` sends are the official client's, byte for byte
up to JSON equality: for every method and the usual argument combinations,
the official ``ollama.AsyncClient`` and ours make the same call against a
fresh emulator each, and the method, path and JSON body of every request the
emulator received must match.

Where they are meant to differ, ``DIFFERENCES`` (the one table of them) says
what we send instead and why. Anything else that differs fails, and so does
a listed difference that no longer differs.
"""

# No `from __future__ import annotations`: the official client resolves a
# tool function's annotations in its own module, where `Literal` is unknown.
import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest

from ollama_async.testing import FakeOllama

ollama = pytest.importorskip("ollama")
httpx = pytest.importorskip("httpx")
pydantic = pytest.importorskip("pydantic")

import ollama_async  # noqa: E402 - after the skips, as the official import

PNG = b"\x89PNG\r\n\x1a\n fake image"
PNG_B64 = "iVBORw0KGgogZmFrZSBpbWFnZQ=="
BLOB = b"GGUF fake weights"
BLOB_DIGEST = f"sha256:{hashlib.sha256(BLOB).hexdigest()}"
HI = [{"role": "user", "content": "Why is the sky blue?"}]
DIGEST = "sha256:" + "0" * 64


# -- what a call is --------------------------------------------------------------


@dataclass
class Env:
    """What an argument set may depend on: the module under test (for its
    ``Options``, ``Message``, ``Tool``, ``Image`` types) and files on disk."""

    m: ModuleType
    png: str
    blob: str


class A:
    """Positional and keyword arguments of one call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


Build = A | Callable[[Env], A]


@dataclass(frozen=True)
class Case:
    method: str
    ours: Build
    official: Build | None = None
    """Arguments of the official call when they must differ from ours (a
    type for ``format=`` is a schema there); None: the same."""
    only_ours: bool = False
    """The official client has no such method."""
    setup: Callable[[FakeOllama], object] | None = None
    """Run on each emulator before the call."""


def case(id: str, method: str, ours: Build, **more: Any) -> Any:
    return pytest.param(Case(method, ours, **more), id=id)


# -- arguments -------------------------------------------------------------------


def add_two_numbers(a: int, b: int) -> int:
    """Add two numbers together.

    Args:
      a: First number to add
      b: Second number to add

    Returns:
      int: The sum of a and b
    """
    return a + b


def get_weather(
    city: str,
    unit: Literal["celsius", "fahrenheit"] = "celsius",
    days: int | None = None,
    hours: list[int] | None = None,
) -> str:
    """Get the weather forecast for a city.

    Args:
      city: The name of the city
      unit: The temperature unit
      days: How many days ahead
      hours: Hours of the day to report
    """
    return city


class Weather(pydantic.BaseModel):
    city: str
    degrees: float


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": ["integer", "null"]},
            },
            "required": ["city"],
        },
    },
}
# Schema keywords the server reads (anyOf, nested properties and required)
# and one it does not (minimum): the official client drops all of them.
RICH_TOOL = {
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
                "nights": {"type": "integer", "minimum": 1},
            },
            "required": ["guest"],
        },
    },
}
TOOL_TURNS = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_ab12cd34",
                "function": {
                    "index": 0,
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                },
            }
        ],
    },
    {
        "role": "tool",
        "content": "11 degrees",
        "tool_name": "get_weather",
        "tool_call_id": "call_ab12cd34",
    },
]


def typed_tool(e: Env) -> A:
    """A tool built from the module's own classes (the official nesting)."""
    tool = e.m.Tool(
        type="function",
        function=e.m.Tool.Function(
            name="get_weather",
            description="Get the weather",
            parameters=e.m.Tool.Function.Parameters(
                type="object",
                properties={
                    "city": e.m.Tool.Function.Parameters.Property(
                        type="string", description="The city"
                    )
                },
                required=["city"],
            ),
        ),
    )
    return A("qwen3:8b", HI, tools=[tool])


CASES = [
    # -- generate ------------------------------------------------------------------
    case("generate-defaults", "generate", A("llama3.2")),
    case("generate-prompt", "generate", A("llama3.2", "Hi")),
    case("generate-keywords", "generate", A(model="llama3.2", prompt="Hi")),
    case("generate-stream", "generate", A("llama3.2", "Hi", stream=True)),
    case("generate-stream-false", "generate", A("llama3.2", "Hi", stream=False)),
    case(
        "generate-options-dict",
        "generate",
        A("llama3.2", "Hi", options={"temperature": 0, "seed": 1, "stop": ["\n"]}),
    ),
    case(
        "generate-options-typed",
        "generate",
        lambda e: A(
            "llama3.2",
            "Hi",
            options=e.m.Options(temperature=0.5, num_ctx=2048, use_mmap=False),
        ),
    ),
    case("generate-format-json", "generate", A("llama3.2", "Hi", format="json")),
    case("generate-format-empty", "generate", A("llama3.2", "Hi", format="")),
    case(
        "generate-format-schema",
        "generate",
        A("llama3.2", "Hi", format=Weather.model_json_schema()),
    ),
    case(
        "generate-format-type",
        "generate",
        A("llama3.2", "Hi", format=Weather),
        official=A("llama3.2", "Hi", format=Weather.model_json_schema()),
    ),
    case(
        "generate-images-bytes-path-base64",
        "generate",
        lambda e: A(
            "llava:7b", "What is this?", images=[PNG, e.png, Path(e.png), PNG_B64]
        ),
    ),
    case(
        "generate-images-Image",
        "generate",
        lambda e: A("llava:7b", "?", images=[e.m.Image(value=PNG)]),
    ),
    case("generate-images-empty", "generate", A("llava:7b", "?", images=[])),
    case("generate-think-true", "generate", A("qwen3:8b", "Hi", think=True)),
    case("generate-think-false", "generate", A("qwen3:8b", "Hi", think=False)),
    case("generate-think-level", "generate", A("qwen3:8b", "Hi", think="low")),
    case("generate-keep_alive-0", "generate", A("llama3.2", keep_alive=0)),
    case("generate-keep_alive-number", "generate", A("llama3.2", keep_alive=300)),
    case("generate-keep_alive-str", "generate", A("llama3.2", keep_alive="10m")),
    case("generate-keep_alive-forever", "generate", A("llama3.2", keep_alive=-1)),
    case(
        "generate-prompt-parts",
        "generate",
        A(
            "qwen2.5-coder:1.5b",
            "def add(",
            "return a + b",
            system="You write Python.",
            template="{{ .Prompt }}",
            context=[1, 2, 3],
        ),
    ),
    case("generate-raw", "generate", A("llama3.2", "[INST] Hi [/INST]", raw=True)),
    case("generate-raw-false", "generate", A("llama3.2", "Hi", raw=False)),
    case(
        "generate-logprobs",
        "generate",
        A("llama3.2", "Hi", logprobs=True, top_logprobs=3),
    ),
    case(
        "generate-image-generation",
        "generate",
        A("llama3.2", "a cat", width=512, height=256, steps=4),
    ),
    # -- chat ----------------------------------------------------------------------
    case("chat-defaults", "chat", A("llama3.2")),
    case("chat-messages", "chat", A("llama3.2", HI)),
    case("chat-keywords", "chat", A(model="llama3.2", messages=HI)),
    case("chat-stream", "chat", A("llama3.2", HI, stream=True)),
    case("chat-stream-false", "chat", A("llama3.2", HI, stream=False)),
    case(
        "chat-messages-typed",
        "chat",
        lambda e: A(
            "llama3.2",
            [
                e.m.Message(role="system", content="Be brief."),
                e.m.Message(role="user", content="Hi"),
            ],
        ),
    ),
    case(
        "chat-message-images",
        "chat",
        lambda e: A(
            "llava:7b",
            [{"role": "user", "content": "What is this?", "images": [PNG, e.png]}],
        ),
    ),
    case(
        "chat-message-images-typed",
        "chat",
        lambda e: A(
            "llava:7b",
            [e.m.Message(role="user", content="?", images=[e.m.Image(value=PNG)])],
        ),
    ),
    case(
        "chat-options-dict",
        "chat",
        A("llama3.2", HI, options={"temperature": 0, "num_predict": 5}),
    ),
    case(
        "chat-options-typed",
        "chat",
        lambda e: A("llama3.2", HI, options=e.m.Options(seed=7, top_k=20)),
    ),
    case("chat-format-json", "chat", A("llama3.2", HI, format="json")),
    case(
        "chat-format-schema",
        "chat",
        A("llama3.2", HI, format=Weather.model_json_schema()),
    ),
    case(
        "chat-format-type",
        "chat",
        A("llama3.2", HI, format=Weather),
        official=A("llama3.2", HI, format=Weather.model_json_schema()),
    ),
    case("chat-think-true", "chat", A("qwen3:8b", HI, think=True)),
    case("chat-think-false", "chat", A("qwen3:8b", HI, think=False)),
    case("chat-think-level", "chat", A("qwen3:8b", HI, think="high")),
    case("chat-think-max", "chat", A("qwen3:8b", HI, think="max")),
    case("chat-keep_alive-number", "chat", A("llama3.2", HI, keep_alive=60)),
    case("chat-keep_alive-str", "chat", A("llama3.2", HI, keep_alive="1h30m")),
    case("chat-unload", "chat", A("llama3.2", keep_alive=0)),
    case("chat-logprobs", "chat", A("llama3.2", HI, logprobs=True, top_logprobs=0)),
    case("chat-tools-empty", "chat", A("qwen3:8b", HI, tools=[])),
    case("chat-tools-dict", "chat", A("qwen3:8b", HI, tools=[WEATHER_TOOL])),
    case(
        "chat-tools-dict-without-type",
        "chat",
        A("qwen3:8b", HI, tools=[{"function": WEATHER_TOOL["function"]}]),
    ),
    case("chat-tools-typed", "chat", typed_tool),
    case("chat-tools-function", "chat", A("qwen3:8b", HI, tools=[add_two_numbers])),
    case("chat-tools-function-rich", "chat", A("qwen3:8b", HI, tools=[get_weather])),
    case("chat-tools-dict-rich", "chat", A("qwen3:8b", HI, tools=[RICH_TOOL])),
    case(
        "chat-tool-calls",
        "chat",
        A("qwen3:8b", TOOL_TURNS, tools=[WEATHER_TOOL], stream=True),
    ),
    case(
        "chat-tool-calls-typed",
        "chat",
        lambda e: A(
            "qwen3:8b",
            [
                e.m.Message(role="user", content="Weather in Paris?"),
                e.m.Message(
                    role="assistant",
                    tool_calls=[
                        e.m.Message.ToolCall(
                            function=e.m.Message.ToolCall.Function(
                                name="get_weather", arguments={"city": "Paris"}
                            )
                        )
                    ],
                ),
                e.m.Message(role="tool", content="11", tool_name="get_weather"),
            ],
            tools=[WEATHER_TOOL],
        ),
    ),
    case(
        "chat-message-empty-fields",
        "chat",
        A(
            "llama3.2",
            [{"role": "user", "content": "Hi", "images": [], "thinking": ""}],
        ),
    ),
    # -- embed, embeddings ---------------------------------------------------------
    case("embed-defaults", "embed", A("nomic-embed-text")),
    case("embed-input-str", "embed", A("nomic-embed-text", "one")),
    case("embed-input-list", "embed", A(model="nomic-embed-text", input=["a", "b"])),
    case(
        "embed-everything",
        "embed",
        lambda e: A(
            "nomic-embed-text",
            ["a"],
            True,
            e.m.Options(num_ctx=512),
            "5m",
            256,
        ),
    ),
    case("embed-truncate-false", "embed", A("nomic-embed-text", "a", truncate=False)),
    case("embed-dimensions-0", "embed", A("nomic-embed-text", "a", dimensions=0)),
    case("embed-keep_alive-0", "embed", A("nomic-embed-text", keep_alive=0)),
    case("embeddings-defaults", "embeddings", A("nomic-embed-text")),
    case(
        "embeddings-everything",
        "embeddings",
        A("nomic-embed-text", "a", {"temperature": 0}, 10),
    ),
    # -- pull, push ----------------------------------------------------------------
    case("pull-defaults", "pull", A("gemma3:1b")),
    case("pull-stream", "pull", A("all-minilm", stream=True)),
    case("pull-insecure", "pull", A("gemma3:1b", insecure=True)),
    case("push-defaults", "push", A("alice/pirate")),
    case("push-stream-insecure", "push", A("alice/pirate", insecure=True, stream=True)),
    # -- create --------------------------------------------------------------------
    case("create-from", "create", A("pirate", from_="llama3.2")),
    case("create-positional", "create", A("pirate", "q4_K_M", "llama3.2")),
    case(
        "create-everything",
        "create",
        lambda e: A(
            model="pirate",
            quantize="q8_0",
            from_="llama3.2",
            files={"model.gguf": DIGEST},
            adapters={"adapter.gguf": DIGEST},
            template="{{ .Prompt }}",
            license=["MIT", "Apache-2.0"],
            system="Talk like a pirate.",
            parameters=e.m.Options(temperature=1, stop=["<eos>"]),
            messages=[{"role": "user", "content": "Ahoy"}],
            stream=True,
        ),
    ),
    case(
        "create-files",
        "create",
        A("pirate", files={"model.gguf": DIGEST}, parameters={"num_ctx": 4096}),
    ),
    case("create-license-str", "create", A("pirate", from_="llama3.2", license="MIT")),
    case(
        "create-messages-as-given",
        "create",
        A(
            "pirate",
            from_="llama3.2",
            messages=[{"role": "assistant", "content": "", "mood": "grumpy"}],
        ),
    ),
    case("create-nothing-to-create", "create", A("pirate")),
    # -- the rest ------------------------------------------------------------------
    case("show", "show", A("llama3.2")),
    case("copy", "copy", A("llama3.2", "llama-backup")),
    case("delete", "delete", A("llama3.2")),
    case("list", "list", A()),
    case("ps", "ps", A()),
    case("version", "version", A(), only_ours=True),
    case("create_blob", "create_blob", lambda e: A(e.blob)),
    case(
        "create_blob-present",
        "create_blob",
        lambda e: A(e.blob),
        setup=lambda server: server.add_blob(BLOB),
    ),
    case("blob_exists", "blob_exists", A(BLOB_DIGEST), only_ours=True),
    case("web_search", "web_search", A("what is ollama?")),
    case("web_search-max", "web_search", A("ollama", max_results=5)),
    case("web_fetch", "web_fetch", A("https://ollama.com")),
]


# -- the differences we mean ---------------------------------------------------------


@dataclass(frozen=True)
class Diff:
    """At ``at`` (request index, then ``body`` and the keys into its JSON) we
    send ``ours``, where the official client sends something else, or
    nothing; ``at=()`` is the whole list of requests. ``why`` is the reason
    the difference is meant."""

    at: tuple[int | str, ...]
    ours: Any
    why: str = field(repr=False)


def _request(method: str, path: str, body: Any = "") -> dict[str, Any]:
    return {"method": method, "path": path, "body": body}


SERVER_READS_IDS = (
    "The server reads tool-call ids, their index and tool_call_id "
    "(api.Message, api.ToolCall); the official client's Message has none of "
    "them, so pydantic drops them."
)
FULL_SCHEMAS = (
    "Tool schemas are sent whole: the server reads anyOf, nested properties "
    "and required (api.ToolProperty), which the official Tool type drops."
)

MISSING_MODEL_HINT = (
    "The model is not installed on the emulator: after the 404, ours asks "
    "/api/tags once, to name the closest installed models in the error."
)

DIFFERENCES: dict[str, list[Diff]] = {
    "generate-prompt-parts": [
        Diff(
            (1,), {"method": "GET", "path": "/api/tags", "body": ""}, MISSING_MODEL_HINT
        ),
    ],
    "chat-tool-calls": [
        Diff(
            (0, "body", "messages", 1, "tool_calls", 0, "id"),
            "call_ab12cd34",
            SERVER_READS_IDS,
        ),
        Diff(
            (0, "body", "messages", 1, "tool_calls", 0, "function", "index"),
            0,
            SERVER_READS_IDS,
        ),
        Diff(
            (0, "body", "messages", 2, "tool_call_id"),
            "call_ab12cd34",
            SERVER_READS_IDS,
        ),
    ],
    "chat-tools-dict-rich": [
        Diff(
            (0, "body", "tools", 0, "function", "parameters", "properties"),
            RICH_TOOL["function"]["parameters"]["properties"],
            FULL_SCHEMAS,
        ),
    ],
    "chat-tools-function-rich": [
        # The official client describes a parameter by its type name only (a
        # Literal loses its enum, a list its items, a default is not said),
        # and requires every parameter that is not Optional, defaults or not.
        Diff(
            (0, "body", "tools", 0, "function", "parameters", "properties", "unit"),
            {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "The temperature unit",
            },
            FULL_SCHEMAS,
        ),
        Diff(
            (0, "body", "tools", 0, "function", "parameters", "properties", "hours"),
            {
                "type": "array",
                "items": {"type": "integer"},
                "description": "Hours of the day to report",
            },
            FULL_SCHEMAS,
        ),
        Diff(
            (0, "body", "tools", 0, "function", "parameters", "required"),
            ["city"],
            "unit has a default: the model may leave it out",
        ),
    ],
    "chat-message-empty-fields": [
        # `_args.messages_arg` drops None values of a message dict; the
        # official client drops every falsy one. The server reads an empty
        # list or string as absent (Go's omitempty), so nothing changes there.
        Diff((0, "body", "messages", 0, "images"), [], "empty values are kept"),
        Diff((0, "body", "messages", 0, "thinking"), "", "empty values are kept"),
    ],
    "create-messages-as-given": [
        # The official client sends create's message dicts as they are (its
        # chat() rebuilds them); we send them as chat() does: the keys of a
        # Message, without an empty content. The server reads the same.
        Diff(
            (0, "body", "messages", 0),
            {"role": "assistant"},
            "messages are sent alike everywhere",
        ),
    ],
    "create-nothing-to-create": [
        # The official client sends it and gets the server's 400 "neither
        # 'from' or 'files' was specified"; we raise RequestError instead.
        Diff((), [], "a create that cannot succeed is not sent"),
    ],
    "version": [
        Diff((), [_request("GET", "/api/version")], "the official client lacks it"),
    ],
    "blob_exists": [
        Diff(
            (),
            [_request("HEAD", f"/api/blobs/{BLOB_DIGEST}")],
            "the official client lacks it",
        ),
    ],
    "create_blob": [
        # A HEAD first (the server's HEAD /api/blobs route; the official
        # client did it too until ollama-python b0da4ff), so a blob the
        # server has is not uploaded again. The official client always is.
        Diff((0,), _request("HEAD", f"/api/blobs/{BLOB_DIGEST}"), "HEAD first"),
        Diff((1,), _request("POST", f"/api/blobs/{BLOB_DIGEST}", BLOB), "HEAD first"),
    ],
    "create_blob-present": [
        # The server has it already: our HEAD says so and nothing is uploaded.
        Diff(
            (),
            [_request("HEAD", f"/api/blobs/{BLOB_DIGEST}")],
            "a blob the server has is not uploaded",
        ),
    ],
}


# -- running a call ------------------------------------------------------------------


class _ToEmulator(httpx.AsyncBaseTransport):
    """Sends the official client's requests to the emulator, including those
    to ``https://ollama.com`` (the web API), whatever URL they name."""

    def __init__(self, url: str) -> None:
        self._url = httpx.URL(url)
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: Any) -> Any:
        request.url = request.url.copy_with(
            scheme=self._url.scheme, host=self._url.host, port=self._url.port
        )
        request.headers["Host"] = f"{self._url.host}:{self._url.port}"
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _official_version() -> str:
    from importlib.metadata import version

    return version("ollama")


def _body(raw: bytes) -> Any:
    if not raw:
        return ""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def _transcript(module: ModuleType, c: Case, env: Env) -> list[dict[str, Any]]:
    """The requests one call made, each as method, path and body (parsed JSON,
    raw bytes if not JSON, "" if empty)."""
    build = c.ours if module is ollama_async or c.official is None else c.official
    arguments = build(env) if callable(build) else build
    async with FakeOllama() as server:
        if c.setup is not None:
            c.setup(server)
        if module is ollama:
            client = ollama.AsyncClient(server.url, transport=_ToEmulator(server.url))
        else:
            client = ollama_async.AsyncClient(server.url)
            client.web_url = server.url
        try:
            result = await getattr(client, c.method)(
                *arguments.args, **arguments.kwargs
            )
            if hasattr(result, "__aiter__"):
                async for _ in result:
                    pass
        except (ollama.ResponseError, ollama_async.ResponseError):
            pass  # the server said no: the request was still made
        except ollama_async.RequestError:
            assert module is ollama_async  # nothing sent; the table says so
        except (pydantic.ValidationError, TypeError) as exc:
            if module is ollama_async:
                raise
            # Other official releases take other arguments: its git HEAD
            # refuses think="max" (which the server takes), 0.6.0 has no
            # width=. Only the installed one can be compared.
            pytest.skip(f"ollama {_official_version()} refuses the call: {exc}")
        finally:
            await client.close()
        return [_request(r.method, r.path, _body(r.body)) for r in server.requests]


def _apply(transcript: list[dict[str, Any]], diff: Diff) -> list[dict[str, Any]]:
    if not diff.at:
        return copy.deepcopy(diff.ours)
    result = copy.deepcopy(transcript)
    *parents, last = diff.at
    node: Any = result
    for key in parents:
        node = node[key]
    if isinstance(node, list) and last == len(node):
        node.append(copy.deepcopy(diff.ours))
    else:
        node[last] = copy.deepcopy(diff.ours)
    return result


def _strict(value: Any) -> str:
    """JSON text in which ``true`` and ``1`` differ but ``5`` and ``5.0`` do
    not (pydantic sends some ints as floats; Go reads both alike)."""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, bytes):
            return {"bytes": v.decode("latin-1")}
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return [norm(x) for x in v]

    return json.dumps(norm(value), sort_keys=True)


@pytest.fixture
def env_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    # The official client reads the web API's key from the environment.
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-test")
    png = tmp_path / "cat.png"
    png.write_bytes(PNG)
    blob = tmp_path / "model.gguf"
    blob.write_bytes(BLOB)
    return str(png), str(blob)


@pytest.mark.parametrize("c", CASES)
async def test_same_requests_as_the_official_client(
    c: Case, env_files: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    png, blob = env_files
    ours = await _transcript(ollama_async, c, Env(ollama_async, png, blob))
    theirs = [] if c.only_ours else await _transcript(ollama, c, Env(ollama, png, blob))
    assert theirs or c.only_ours  # the official call reached the emulator
    expected = theirs
    for diff in DIFFERENCES.get(request.node.callspec.id, []):
        changed = _apply(expected, diff)
        # A listed difference must still be one.
        assert _strict(changed) != _strict(expected), f"no longer differs: {diff}"
        expected = changed
    assert ours == expected
    assert _strict(ours) == _strict(expected)


def test_every_listed_difference_names_a_case() -> None:
    ids = {param.id for param in CASES}
    assert set(DIFFERENCES) <= ids
