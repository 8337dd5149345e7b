"""Argument checking: every bad argument raises RequestError before anything is
sent, and images become padded base64 whatever form they come in.

"Nothing was sent" is proven by pointing the client at a closed port: a call
that did send would fail with ConnectError instead (checked first, so these
tests cannot pass by accident).
"""

from __future__ import annotations

import base64
import inspect
import io
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ollama_async import AsyncClient, ConnectError, Message, RequestError
from ollama_async._args import encode_image

DIGEST = "sha256:" + "ab" * 32
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PNG_B64 = base64.b64encode(PNG).decode()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    async with AsyncClient(f"http://127.0.0.1:{_closed_port()}", timeout=5) as c:
        yield c


async def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an endpoint method in whichever form it has: a coroutine, or a
    (lazy) stream, which is awaited so that it would send."""
    result = method(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        pytest.param("chat", ("m",), {}, id="chat"),
        pytest.param("chat", ("m",), {"stream": True}, id="chat-stream"),
        pytest.param("generate", ("m", "hi"), {}, id="generate"),
        pytest.param("version", (), {}, id="version"),
    ],
)
async def test_a_valid_call_would_reach_the_closed_port(
    client: AsyncClient, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    # The premise of every test below: had they sent, this is what they'd see.
    with pytest.raises(ConnectError):
        await call(getattr(client, name), *args, **kwargs)


def _img_file(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    return path


BAD_CALLS = [
    # model
    pytest.param("chat", (), {}, "model", id="chat-no-model"),
    pytest.param("chat", ("",), {}, "model", id="chat-empty-model"),
    pytest.param("chat", ("llama 3.2",), {}, "whitespace", id="model-with-space"),
    pytest.param("chat", ("llama3.2\r\nX: 1",), {}, "control", id="model-with-crlf"),
    pytest.param("chat", ("m\x00",), {}, "control", id="model-with-nul"),
    pytest.param("chat", (3,), {}, "model must be a str", id="model-int"),
    pytest.param("generate", (), {"prompt": "hi"}, "model", id="generate-no-model"),
    pytest.param(
        "generate", ("",), {"stream": True}, "model", id="generate-stream-no-model"
    ),
    pytest.param("embed", ("",), {"input": "x"}, "model", id="embed-no-model"),
    pytest.param("embeddings", ("",), {}, "model", id="embeddings-no-model"),
    pytest.param("show", ("",), {}, "model", id="show-no-model"),
    pytest.param("delete", ("",), {}, "model", id="delete-no-model"),
    pytest.param("pull", ("",), {}, "model", id="pull-no-model"),
    pytest.param(
        "pull", ("bad name",), {"stream": True}, "whitespace", id="pull-stream-bad"
    ),
    pytest.param("push", ("\tns/m",), {}, "control", id="push-bad-model"),
    pytest.param("copy", ("", "b"), {}, "source", id="copy-no-source"),
    pytest.param("copy", ("a", "b c"), {}, "destination", id="copy-bad-destination"),
    # messages
    pytest.param(
        "chat", ("m", "hello"), {}, "messages must be a list", id="messages-str"
    ),
    pytest.param(
        "chat", ("m", b"hello"), {}, "messages must be a list", id="messages-bytes"
    ),
    pytest.param(
        "chat",
        ("m", {"role": "user"}),
        {},
        "messages must be a list",
        id="messages-dict",
    ),
    pytest.param("chat", ("m", 5), {}, "messages must be a list", id="messages-int"),
    pytest.param(
        "chat", ("m", [{"content": "hi"}]), {}, "no role", id="message-without-role"
    ),
    pytest.param(
        "chat",
        ("m", [{"role": None, "content": "hi"}]),
        {},
        "no role",
        id="message-role-none",
    ),
    pytest.param("chat", ("m", ["hi"]), {}, r"messages\[0\] must be", id="message-str"),
    pytest.param(
        "chat",
        ("m", [("user", "hi")]),
        {},
        r"messages\[0\] must be",
        id="message-tuple",
    ),
    pytest.param(
        "chat",
        ("m", [{"role": "user"}, 7]),
        {},
        r"messages\[1\] must be",
        id="second-message-int",
    ),
    pytest.param(
        "chat",
        ("m", [{"role": 1, "content": "x"}]),
        {},
        r"messages\[0\]",
        id="role-int",
    ),
    pytest.param(
        "chat",
        ("m", [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]),
        {},
        r"messages\[0\]",
        id="content-openai-parts",
    ),
    pytest.param(
        "chat",
        (
            "m",
            [{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}],
        ),
        {},
        r"messages\[0\]",
        id="tool-call-bad-shape",
    ),
    pytest.param(
        "chat",
        ("m", [{"role": "user", "images": "abc"}]),
        {},
        "images",
        id="message-images-str",
    ),
    pytest.param(
        "chat",
        ("m", [{"role": "user", "images": [3]}]),
        {},
        "image",
        id="message-image-int",
    ),
    # options
    pytest.param("chat", ("m",), {"options": {"stop": "\n"}}, "options", id="stop-str"),
    pytest.param(
        "chat",
        ("m",),
        {"options": {"temperature": "hot"}},
        "options",
        id="temperature-str",
    ),
    # A float for an integer option passes (Go truncates it); these do not.
    pytest.param(
        "chat", ("m",), {"options": {"num_ctx": "4096"}}, "num_ctx", id="num_ctx-str"
    ),
    pytest.param(
        "chat", ("m",), {"options": {"num_ctx": True}}, "num_ctx", id="num_ctx-bool"
    ),
    pytest.param(
        "chat", ("m",), {"options": {"use_mmap": 1}}, "use_mmap", id="use_mmap-int"
    ),
    pytest.param(
        "chat",
        ("m",),
        {"options": {"stop": ["a", 1]}},
        "stop",
        id="stop-with-an-int",
    ),
    pytest.param(
        "chat", ("m",), {"options": [("temperature", 1)]}, "options", id="options-list"
    ),
    pytest.param("generate", ("m",), {"options": "fast"}, "options", id="options-str"),
    pytest.param(
        "embed", ("m",), {"options": {"seed": "x"}}, "options", id="embed-options"
    ),
    pytest.param(
        "create",
        ("m",),
        {"from_": "b", "parameters": {"stop": "x"}},
        "parameters",
        id="create-parameters",
    ),
    # keep_alive
    pytest.param(
        "chat", ("m",), {"keep_alive": "300"}, "units", id="keep_alive-300-no-unit"
    ),
    pytest.param(
        "chat", ("m",), {"keep_alive": "-1"}, "units", id="keep_alive-minus-1-no-unit"
    ),
    pytest.param("chat", ("m",), {"keep_alive": "5 m"}, "units", id="keep_alive-space"),
    pytest.param(
        "chat", ("m",), {"keep_alive": "5min"}, "units", id="keep_alive-bad-unit"
    ),
    pytest.param(
        "chat", ("m",), {"keep_alive": True}, "keep_alive", id="keep_alive-bool"
    ),
    pytest.param(
        "generate", ("m",), {"keep_alive": [5]}, "keep_alive", id="keep_alive-list"
    ),
    pytest.param("embed", ("m",), {"keep_alive": "10"}, "units", id="embed-keep_alive"),
    # think
    pytest.param("chat", ("m",), {"think": "x"}, "think", id="think-x"),
    pytest.param("chat", ("m",), {"think": "HIGH"}, "think", id="think-uppercase"),
    pytest.param("chat", ("m",), {"think": 1}, "think", id="think-int"),
    pytest.param("generate", ("m",), {"think": "true"}, "think", id="think-str-true"),
    # top_logprobs and other scalars
    pytest.param(
        "chat", ("m",), {"top_logprobs": 21}, "between 0 and 20", id="top_logprobs-21"
    ),
    pytest.param(
        "chat", ("m",), {"top_logprobs": -1}, "between 0 and 20", id="top_logprobs-neg"
    ),
    pytest.param(
        "generate", ("m",), {"top_logprobs": "5"}, "int", id="top_logprobs-str"
    ),
    pytest.param(
        "generate", ("m",), {"top_logprobs": True}, "int", id="top_logprobs-bool"
    ),
    pytest.param("chat", ("m",), {"logprobs": "yes"}, "bool", id="logprobs-str"),
    pytest.param("chat", ("m",), {"stream": "yes"}, "stream", id="stream-str"),
    pytest.param("chat", ("m",), {"truncate": 0}, "truncate", id="truncate-int"),
    pytest.param("generate", ("m",), {"raw": "no"}, "raw", id="raw-str"),
    pytest.param("show", ("m",), {"verbose": "y"}, "verbose", id="verbose-str"),
    pytest.param("generate", ("m", 5), {}, "prompt", id="prompt-int"),
    pytest.param("generate", ("m",), {"system": b"x"}, "system", id="system-bytes"),
    pytest.param("generate", ("m",), {"context": "1,2"}, "context", id="context-str"),
    pytest.param(
        "generate", ("m",), {"context": [1, "2"]}, "context", id="context-mixed"
    ),
    pytest.param("generate", ("m",), {"width": 0}, "width", id="width-zero"),
    pytest.param(
        "embed", ("m",), {"dimensions": -1}, "dimensions", id="dimensions-negative"
    ),
    pytest.param("embed", ("m", [1, 2]), {}, "input", id="input-ints"),
    pytest.param("embed", ("m", {"a"}), {}, "input", id="input-set"),
    pytest.param("embeddings", ("m", 5), {}, "prompt", id="embeddings-prompt-int"),
    # format and tools
    pytest.param("chat", ("m",), {"format": "xml"}, "format", id="format-xml"),
    pytest.param("generate", ("m",), {"format": 5}, "format", id="format-int"),
    pytest.param(
        "chat", ("m",), {"tools": {"type": "function"}}, "tools", id="tools-dict"
    ),
    pytest.param("chat", ("m",), {"tools": ["f"]}, r"tools\[0\]", id="tool-str"),
    pytest.param(
        "chat",
        ("m",),
        {"tools": [{"type": "function"}]},
        "function",
        id="tool-no-function",
    ),
    pytest.param(
        "chat",
        ("m",),
        {"tools": [{"function": {"description": "x"}}]},
        "name",
        id="tool-no-name",
    ),
    # images
    pytest.param(
        "generate", ("m",), {"images": "abc"}, "list of images", id="images-str"
    ),
    pytest.param(
        "generate", ("m",), {"images": b"abc"}, "list of images", id="images-bytes"
    ),
    pytest.param("generate", ("m",), {"images": [3]}, "image", id="image-int"),
    pytest.param(
        "generate",
        ("m",),
        {"images": ["not base64!"]},
        "neither base64",
        id="image-junk-str",
    ),
    pytest.param(
        "generate",
        ("m",),
        {"images": ["/no/such/dir/cat.png"]},
        "neither base64",
        id="image-missing-path-str",
    ),
    pytest.param(
        "generate",
        ("m",),
        {"images": [Path("/no/such/dir/cat.png")]},
        "cannot read",
        id="image-missing-path",
    ),
    pytest.param(
        "generate",
        ("m",),
        {"images": [io.StringIO("x")]},
        "binary",
        id="image-text-file",
    ),
    pytest.param(
        "generate", ("m",), {"images": [""]}, "neither base64", id="image-empty-str"
    ),
    # create and blobs
    pytest.param("create", ("m",), {}, "from_", id="create-without-from-or-files"),
    pytest.param(
        "create", ("m",), {"quantize": "q4_K_M"}, "from_", id="create-quantize-only"
    ),
    pytest.param(
        "create", ("m",), {"files": {"a.gguf": "abc"}}, "digest", id="files-bad-digest"
    ),
    pytest.param(
        "create",
        ("m",),
        {"files": {"a.gguf": "sha256:" + "g" * 64}},
        "digest",
        id="files-non-hex",
    ),
    pytest.param(
        "create",
        ("m",),
        {"files": {"a.gguf": DIGEST[7:]}},
        "digest",
        id="files-no-prefix",
    ),
    pytest.param("create", ("m",), {"files": ["a.gguf"]}, "files", id="files-list"),
    pytest.param(
        "create", ("m",), {"files": {"": DIGEST}}, "file names", id="files-empty-name"
    ),
    pytest.param(
        "create",
        ("m",),
        {"from_": "b", "adapters": {"l.gguf": "sha256:1"}},
        "digest",
        id="adapters-bad",
    ),
    pytest.param(
        "create", ("m",), {"from_": "bad name"}, "from_", id="create-bad-from"
    ),
    pytest.param(
        "create",
        ("m",),
        {"from_": "b", "stream": True, "system": 3},
        "system",
        id="create-stream-system-int",
    ),
    pytest.param("blob_exists", ("sha256:abc",), {}, "digest", id="blob-short"),
    pytest.param(
        "blob_exists", (DIGEST.upper(),), {}, "digest", id="blob-uppercase-prefix"
    ),
    pytest.param(
        "blob_exists",
        ("sha256:" + "a" * 64 + "/../x",),
        {},
        "digest",
        id="blob-path-traversal",
    ),
    pytest.param("blob_exists", (None,), {}, "digest", id="blob-none"),
    pytest.param(
        "create_blob",
        ("/no/such/file.gguf",),
        {},
        "no such file",
        id="create-blob-missing-file",
    ),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "match"), BAD_CALLS)
async def test_bad_argument_raises_before_sending(
    client: AsyncClient,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    match: str,
) -> None:
    with pytest.raises(RequestError, match=match) as info:
        await call(getattr(client, name), *args, **kwargs)
    assert info.value.error == str(info.value)


@pytest.mark.parametrize("name", ["chat", "generate", "pull", "push", "create"])
def test_streaming_methods_check_arguments_when_called_not_when_awaited(
    client: AsyncClient, name: str
) -> None:
    # Even a stream that is never awaited reports a bad argument at once.
    with pytest.raises(RequestError):
        getattr(client, name)("", stream=True)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-A": "b\r\nX-Injected: 1"}, id="crlf-in-value"),
        pytest.param({"X-A\n": "b"}, id="lf-in-name"),
        pytest.param({"X-A": 1}, id="non-str-value"),
    ],
)
def test_bad_headers_raise_at_construction(headers: dict[str, Any]) -> None:
    with pytest.raises(RequestError, match="header"):
        AsyncClient(headers=headers)


# -- images ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda p: PNG, PNG_B64, id="bytes"),
        pytest.param(lambda p: bytearray(PNG), PNG_B64, id="bytearray"),
        pytest.param(lambda p: memoryview(PNG), PNG_B64, id="memoryview"),
        pytest.param(lambda p: p, PNG_B64, id="path"),
        pytest.param(lambda p: str(p), PNG_B64, id="path-str"),
        pytest.param(lambda p: io.BytesIO(PNG), PNG_B64, id="binary-file-object"),
        pytest.param(lambda p: PNG_B64, PNG_B64, id="base64-str"),
        pytest.param(lambda p: PNG_B64.rstrip("="), PNG_B64, id="unpadded-base64"),
        pytest.param(
            lambda p: f"data:image/png;base64,{PNG_B64}", PNG_B64, id="data-url"
        ),
        pytest.param(
            lambda p: f"data:image/png;base64,{PNG_B64.rstrip('=')}",
            PNG_B64,
            id="data-url-unpadded",
        ),
        pytest.param(lambda p: f"  {PNG_B64}\n", PNG_B64, id="base64-with-whitespace"),
        pytest.param(lambda p: b"", "", id="empty-bytes"),
    ],
)
def test_images_become_padded_base64(
    tmp_path: Path, make: Callable[[Path], Any], expected: str
) -> None:
    encoded = encode_image(make(_img_file(tmp_path)))
    assert encoded == expected
    assert len(encoded) % 4 == 0
    assert not encoded.startswith("data:")


def test_open_binary_file_is_read(tmp_path: Path) -> None:
    with _img_file(tmp_path).open("rb") as file:
        assert encode_image(file) == PNG_B64


def test_existing_file_with_a_base64_like_name_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "photo1" is valid unpadded base64 too; the file must win.
    (tmp_path / "photo1").write_bytes(PNG)
    monkeypatch.chdir(tmp_path)
    assert encode_image("photo1") == PNG_B64


def test_message_images_are_encoded_for_typed_and_dict_messages(tmp_path: Path) -> None:
    from ollama_async._args import messages_arg

    path = _img_file(tmp_path)
    typed = Message(role="user", content="what is this?", images=[str(path)])
    converted = messages_arg([typed, {"role": "user", "images": [PNG, path]}])
    assert isinstance(converted, list)
    assert converted[0].images == [PNG_B64]
    assert converted[1].images == [PNG_B64, PNG_B64]
    assert typed.images == [str(path)]  # the caller's message is not modified
