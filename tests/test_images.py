"""Images through ``generate(images=...)`` and chat messages against the
emulator's vision model: every input form arrives as padded base64 without a
data-URL prefix; a missing or unreadable file raises before anything is sent."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest

from ollama_async import AsyncClient, Image, Message, RequestError
from ollama_async.testing import FakeOllama

VISION = "llava:7b"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"  # 17 bytes: padding
PADDED = base64.b64encode(PNG).decode()
assert PADDED.endswith("=")


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    return path


FORMS: list[Any] = [
    pytest.param(lambda p: PNG, id="bytes"),
    pytest.param(lambda p: bytearray(PNG), id="bytearray"),
    pytest.param(lambda p: memoryview(PNG), id="memoryview"),
    pytest.param(lambda p: str(p), id="str-path"),
    pytest.param(lambda p: p, id="Path"),
    pytest.param(lambda p: PADDED, id="base64"),
    pytest.param(lambda p: PADDED.rstrip("="), id="base64-unpadded"),
    pytest.param(lambda p: f"data:image/png;base64,{PADDED}", id="data-url"),
    pytest.param(lambda p: io.BytesIO(PNG), id="BytesIO"),
    pytest.param(lambda p: p.open("rb"), id="binary-file"),
    pytest.param(lambda p: Image(value=PNG), id="Image-wrapper"),
]


@pytest.mark.parametrize("make", FORMS)
async def test_generate_sends_padded_base64(
    client: AsyncClient, fake_ollama: FakeOllama, png_file: Path, make: Any
) -> None:
    image = make(png_file)
    try:
        reply = await client.generate(VISION, "What is this?", images=[image])
    finally:
        if hasattr(image, "close"):
            image.close()
    assert reply.done and reply.response
    assert fake_ollama.requests[-1].json["images"] == [PADDED]


@pytest.mark.parametrize("make", FORMS)
async def test_chat_messages_send_padded_base64(
    client: AsyncClient, fake_ollama: FakeOllama, png_file: Path, make: Any
) -> None:
    image = make(png_file)
    try:
        reply = await client.chat(
            VISION,
            [{"role": "user", "content": "What is this?", "images": [image]}],
        )
    finally:
        if hasattr(image, "close"):
            image.close()
    assert reply.message.content
    assert fake_ollama.requests[-1].json["messages"][0]["images"] == [PADDED]


async def test_typed_message_with_several_images(
    client: AsyncClient, fake_ollama: FakeOllama, png_file: Path
) -> None:
    message = Message(role="user", content="Compare", images=[png_file, PNG])  # type: ignore[list-item]
    async with client.chat(VISION, [message], stream=True) as stream:
        reply = await stream.collect()
    assert reply.message.content
    assert fake_ollama.requests[-1].json["messages"][0]["images"] == [PADDED] * 2


async def test_a_model_without_vision_rejects_images(client: AsyncClient) -> None:
    from ollama_async import BadRequestError

    # Ollama passes the runner's refusal on: llama-server's body as the text.
    with pytest.raises(BadRequestError, match="does not support multimodal requests"):
        await client.generate("llama3.2", "What is this?", images=[PNG])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        pytest.param(lambda d: d / "missing.png", "cannot read image file", id="Path"),
        pytest.param(lambda d: str(d / "missing.png"), "neither base64", id="str-path"),
        pytest.param(lambda d: d, "cannot read image file", id="directory"),
        pytest.param(
            lambda d: io.StringIO("text"), "binary mode", id="text-file-object"
        ),
        pytest.param(lambda d: "not base64!", "neither base64", id="garbage-str"),
        pytest.param(lambda d: 42, "an image must be", id="int"),
    ],
)
async def test_bad_images_raise_before_sending(
    client: AsyncClient,
    fake_ollama: FakeOllama,
    tmp_path: Path,
    make: Any,
    match: str,
) -> None:
    image = make(tmp_path)
    with pytest.raises(RequestError, match=match):
        await client.generate(VISION, "What is this?", images=[image])
    with pytest.raises(RequestError, match=match):
        await client.chat(VISION, [{"role": "user", "content": "?", "images": [image]}])
    assert fake_ollama.requests == []


async def test_an_unreadable_file_raises_before_sending(
    client: AsyncClient, fake_ollama: FakeOllama, png_file: Path
) -> None:
    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise PermissionError(13, "Permission denied")

    with pytest.raises(RequestError, match="cannot read image"):
        await client.generate(VISION, "?", images=[Unreadable()])
    assert fake_ollama.requests == []
