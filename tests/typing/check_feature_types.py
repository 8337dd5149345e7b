"""Static types of the issue-5 API (structured outputs, tools, web), checked by
``mypy --strict`` from tests/test_tools.py; never run."""

from __future__ import annotations

from typing import Any, assert_type

import msgspec

from ollama_async import (
    AsyncClient,
    ChatResponse,
    GenerateResponse,
    Message,
    ToolLoopResult,
    ToolResult,
    WebFetchResponse,
    WebSearchResponse,
    tool_definition,
)


class Poem(msgspec.Struct):
    title: str


def add(a: int, b: int = 1) -> int:
    """Add."""
    return a + b


async def structured(client: AsyncClient) -> None:
    reply = await client.chat("m", [{"role": "user", "content": "x"}], format=Poem)
    assert_type(reply.parse(Poem), Poem)
    assert_type(reply.parse(), Any)
    assert_type(reply.message.parse(Poem), Poem)
    async with client.chat("m", format=Poem, stream=True) as stream:
        assert_type((await stream.collect()).parse(Poem), Poem)
    generated = await client.generate("m", "x", format={"type": "object"})
    assert_type(generated, GenerateResponse)
    assert_type(generated.parse(Poem), Poem)
    await client.generate("m", "x", format="json")


async def tools(client: AsyncClient) -> None:
    reply = await client.chat("m", [Message(role="user")], tools=[add])
    assert_type(reply, ChatResponse)
    assert_type(tool_definition(add), dict[str, Any])

    def on_chunk(chunk: ChatResponse) -> None: ...

    result = await client.chat_with_tools(
        "m", [{"role": "user", "content": "x"}], tools=[add], on_chunk=on_chunk
    )
    assert_type(result, ToolLoopResult)
    assert_type(result.tool_results, list[ToolResult])
    assert_type(result.messages, list[Message])
    assert_type(result.parse(Poem), Poem)


async def web(client: AsyncClient) -> None:
    assert_type(await client.web_search("q", 2), WebSearchResponse)
    assert_type(await client.web_fetch("https://x", api_key="k"), WebFetchResponse)
