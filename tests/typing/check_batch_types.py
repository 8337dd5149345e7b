"""Static checks of the batch helper's types; run by ``tests/test_batch.py`` as
``mypy --strict tests/typing/check_batch_types.py``. Never executed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, assert_type

from ollama_async import (
    AsyncClient,
    Batch,
    BatchResult,
    ChatResponse,
    EmbedResponse,
    run_batch,
)


async def double(x: int) -> float:
    return x * 2.0


async def embed_one(client: AsyncClient, text: str) -> EmbedResponse:
    return await client.embed("m", text)


async def numbers() -> AsyncIterator[int]:
    yield 1


async def batch_forms(client: AsyncClient) -> None:
    # run_batch: the item and response types come from the input and fn.
    batch = run_batch(range(3), double)
    assert_type(batch, Batch[int, float])
    async with batch as entered:
        assert_type(entered, Batch[int, float])
        async for result in entered:
            assert_type(result, BatchResult[int, float])
            assert_type(result.index, int)
            assert_type(result.request, int)
            assert_type(result.response, float | None)
            assert_type(result.error, BaseException | None)
            assert_type(result.ok, bool)
            assert_type(result.result(), float)
    assert_type(run_batch(numbers(), double), Batch[int, float])

    # client.batch: chat keyword mappings by default, or fn(client, item).
    requests = [{"model": "m", "messages": [{"role": "user", "content": "Hi"}]}]
    chats = client.batch(requests, concurrency=4)
    assert_type(chats, Batch[Mapping[str, Any], ChatResponse])
    async for chat in chats:
        assert_type(chat.result(), ChatResponse)
    assert_type(client.batch(["a", "b"], embed_one), Batch[str, EmbedResponse])

    # Misuse is an error.
    run_batch(range(3), double, concurrency="8")  # type: ignore[arg-type]
    client.batch(["a"], double)  # type: ignore[arg-type]
