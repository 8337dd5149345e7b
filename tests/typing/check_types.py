"""Static checks of what the public API's forms return; run by
``tests/test_typing.py`` as ``mypy --strict tests/typing/check_types.py``.

Not collected by pytest and never executed: each ``assert_type`` fails the
mypy run when the inferred type differs, and each ``type: ignore[code]``
fails it (``warn_unused_ignores``, part of ``--strict``) when a misuse stops
being an error, e.g. because a return type decayed to ``Any``.
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import Any, assert_type

from ollama_async import (
    AsyncClient,
    ChatResponse,
    EmbeddingsResponse,
    EmbedResponse,
    GenerateResponse,
    ListResponse,
    Message,
    MessageDict,
    ProcessResponse,
    ProgressResponse,
    ShowResponse,
    StatusResponse,
    Stream,
    VersionResponse,
)

HI: list[MessageDict] = [{"role": "user", "content": "Hi"}]


async def chat_forms(client: AsyncClient, flag: bool) -> None:
    # stream=False (the default): awaited to the final response.
    assert_type(await client.chat("m", HI), ChatResponse)
    assert_type(await client.chat("m", HI, stream=False), ChatResponse)
    pending = client.chat("m", HI)
    _ = assert_type(pending, Coroutine[Any, Any, ChatResponse])
    await pending

    # stream=True: a Stream, whether awaited (official form) or not.
    assert_type(client.chat("m", HI, stream=True), Stream[ChatResponse])
    assert_type(await client.chat("m", HI, stream=True), Stream[ChatResponse])
    async for part in client.chat("m", HI, stream=True):
        assert_type(part, ChatResponse)
    async for part in await client.chat("m", HI, stream=True):
        assert_type(part, ChatResponse)
    async with client.chat("m", HI, stream=True) as stream:
        assert_type(stream, Stream[ChatResponse])
        async for part in stream:
            assert_type(part.message, Message)
            assert_type(part.message.content, str)
    assert_type(await stream.collect(), ChatResponse)
    assert_type(await stream.aclose(), None)

    # A bool that is not a literal: either form.
    assert_type(
        client.chat("m", HI, stream=flag),
        Coroutine[Any, Any, ChatResponse] | Stream[ChatResponse],
    )

    # Misuses that must stay type errors.
    client.chat("m", HI, stream=True).message  # type: ignore[attr-defined]
    (await client.chat("m", HI)).collect()  # type: ignore[attr-defined]
    async for _ in client.chat("m", HI):  # type: ignore[attr-defined]
        pass


async def generate_forms(client: AsyncClient, flag: bool) -> None:
    assert_type(await client.generate("m", "p"), GenerateResponse)
    assert_type(client.generate("m", "p", stream=True), Stream[GenerateResponse])
    assert_type(await client.generate("m", "p", stream=True), Stream[GenerateResponse])
    async for part in client.generate("m", "p", stream=True):
        assert_type(part, GenerateResponse)
        assert_type(part.response, str)
        assert_type(part.context, list[int] | None)
    async with client.generate("m", "p", stream=True) as stream:
        assert_type(await stream.collect(), GenerateResponse)
    assert_type(
        client.generate("m", "p", stream=flag),
        Coroutine[Any, Any, GenerateResponse] | Stream[GenerateResponse],
    )


async def progress_forms(client: AsyncClient, flag: bool) -> None:
    assert_type(await client.pull("m"), ProgressResponse)
    assert_type(client.pull("m", stream=True), Stream[ProgressResponse])
    assert_type(await client.pull("m", stream=True), Stream[ProgressResponse])
    async for progress in client.pull("m", stream=True):
        assert_type(progress, ProgressResponse)
        assert_type(progress.completed, int | None)
    assert_type(
        client.pull("m", stream=flag),
        Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse],
    )

    assert_type(await client.push("ns/m"), ProgressResponse)
    assert_type(client.push("ns/m", stream=True), Stream[ProgressResponse])
    async for progress in await client.push("ns/m", stream=True):
        assert_type(progress, ProgressResponse)

    assert_type(await client.create("m", from_="base"), ProgressResponse)
    assert_type(
        client.create("m", from_="base", stream=True), Stream[ProgressResponse]
    )
    async with client.create("m", files={"a": "sha256:0"}, stream=True) as stream:
        assert_type(await stream.collect(), ProgressResponse)
    assert_type(
        client.create("m", from_="base", stream=flag),
        Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse],
    )


async def other_endpoints(client: AsyncClient) -> None:
    assert_type(await client.embed("m", ["a", "b"]), EmbedResponse)
    assert_type((await client.embed("m", "a")).embeddings, list[list[float]])
    assert_type(await client.embeddings("m", "a"), EmbeddingsResponse)
    assert_type(await client.list(), ListResponse)
    assert_type(await client.show("m"), ShowResponse)
    assert_type(await client.ps(), ProcessResponse)
    assert_type(await client.version(), VersionResponse)
    assert_type(await client.copy("a", "b"), StatusResponse)
    assert_type(await client.delete("m"), StatusResponse)
    assert_type(await client.blob_exists("sha256:0"), bool)
    assert_type(await client.create_blob(Path("model.gguf")), str)
    assert_type(await client.create_blob("model.gguf"), str)


async def lifecycle() -> None:
    async with AsyncClient() as client:
        assert_type(client, AsyncClient)
    assert_type(await client.aclose(), None)
    assert_type(await client.close(), None)
    assert_type(client.base_url, str)
