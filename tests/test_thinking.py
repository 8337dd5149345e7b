"""Thinking and log probabilities against the emulator's thinking model:
``think`` as a bool or a level on the wire, thinking and content apart in a
stream and both kept by the fold, and typed logprobs that round-trip."""

from __future__ import annotations

from typing import Any

import pytest

from ollama_async import AsyncClient, BadRequestError, ChatResponse, RequestError
from ollama_async.testing import FakeOllama
from ollama_async.types import Logprob, TokenLogprob

THINKER = "qwen3:8b"
ASK = [{"role": "user", "content": "Is 17 prime?"}]


@pytest.mark.parametrize("think", [True, False, "low", "medium", "high", "max"])
async def test_think_is_sent_as_given(
    client: AsyncClient, fake_ollama: FakeOllama, think: Any
) -> None:
    reply = await client.chat(THINKER, ASK, think=think)
    assert fake_ollama.requests[-1].json["think"] == think
    assert bool(reply.message.thinking) is bool(think)
    assert reply.message.content


async def test_think_absent_is_not_sent_and_the_model_thinks(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    reply = await client.generate(THINKER, "Is 17 prime?")
    assert "think" not in fake_ollama.requests[-1].json
    assert reply.thinking and reply.response


async def test_a_level_thinks_longer(client: AsyncClient) -> None:
    low = await client.chat(THINKER, ASK, think="low")
    high = await client.chat(THINKER, ASK, think="high")
    assert len(high.message.thinking or "") > len(low.message.thinking or "")


async def test_a_bad_level_raises_before_sending(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    with pytest.raises(RequestError, match="think"):
        await client.chat(THINKER, ASK, think="extreme")  # type: ignore[arg-type]
    assert fake_ollama.requests == []


async def test_a_model_that_cannot_think_says_so(client: AsyncClient) -> None:
    with pytest.raises(BadRequestError, match="does not support thinking"):
        await client.chat("llama3.2", ASK, think=True)


async def test_chat_stream_keeps_thinking_and_content_apart(
    client: AsyncClient,
) -> None:
    chunks: list[ChatResponse] = []
    async with client.chat(THINKER, ASK, think=True, stream=True) as stream:
        async for chunk in stream:
            chunks.append(chunk)
    thinking = [c for c in chunks if c.message.thinking]
    content = [c for c in chunks if c.message.content]
    assert thinking and content
    assert not any(c.message.thinking and c.message.content for c in chunks)
    assert chunks.index(thinking[-1]) < chunks.index(content[0])  # thinks first

    whole = await client.chat(THINKER, ASK, think=True)
    assert "".join(c.message.thinking or "" for c in thinking) == whole.message.thinking
    assert "".join(c.message.content for c in content) == whole.message.content


async def test_collect_keeps_both(client: AsyncClient) -> None:
    whole = await client.generate(THINKER, "Is 17 prime?", think="medium")
    async with client.generate(
        THINKER, "Is 17 prime?", think="medium", stream=True
    ) as stream:
        folded = await stream.collect()
    assert folded.thinking == whole.thinking != ""
    assert folded.response == whole.response != ""
    async with client.chat(THINKER, ASK, think=True, stream=True) as chat_stream:
        chat = await chat_stream.collect()
    assert chat.message.thinking and chat.message.content


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_logprobs_are_typed(
    client: AsyncClient, fake_ollama: FakeOllama, stream: bool
) -> None:
    if stream:
        async with client.chat(
            "llama3.2", ASK, logprobs=True, top_logprobs=3, stream=True
        ) as s:
            reply = await s.collect()
    else:
        reply = await client.chat("llama3.2", ASK, logprobs=True, top_logprobs=3)
    sent = fake_ollama.requests[-1].json
    assert sent["logprobs"] is True and sent["top_logprobs"] == 3
    assert reply.logprobs
    assert "".join(lp.token for lp in reply.logprobs) == reply.message.content
    for lp in reply.logprobs:
        assert isinstance(lp, Logprob)
        assert isinstance(lp.logprob, float) and lp.logprob <= 0
        assert lp.top_logprobs is not None and len(lp.top_logprobs) == 3
        assert all(isinstance(t, TokenLogprob) for t in lp.top_logprobs)
        assert lp["token"] == lp.token  # the official dict-style access


async def test_logprobs_round_trip_between_stream_and_whole(
    client: AsyncClient,
) -> None:
    whole = await client.generate(
        THINKER, "Hi", think=True, logprobs=True, top_logprobs=1
    )
    async with client.generate(
        THINKER, "Hi", think=True, logprobs=True, top_logprobs=1, stream=True
    ) as stream:
        folded = await stream.collect()
    assert folded.logprobs == whole.logprobs
    assert folded.logprobs and folded.logprobs[0].top_logprobs


@pytest.mark.parametrize("top", [-1, 21])
async def test_top_logprobs_range_is_checked_before_sending(
    client: AsyncClient, fake_ollama: FakeOllama, top: int
) -> None:
    with pytest.raises(RequestError, match="top_logprobs"):
        await client.generate("llama3.2", "Hi", logprobs=True, top_logprobs=top)
    assert fake_ollama.requests == []
