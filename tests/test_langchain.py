"""LangChain's ChatOllama (langchain-ollama) against the emulator, unchanged.

ChatOllama talks to ``/api/chat`` through the official ``ollama`` client, sync
and async: invoke, stream, and a tool call through ``bind_tools``. The sync
calls run in a thread, since the emulator serves on this test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_ollama import ChatOllama

from ollama_async.testing import FakeOllama


@tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.fixture
async def llm(fake_ollama: FakeOllama) -> AsyncIterator[ChatOllama]:
    model = ChatOllama(model="llama3.2", base_url=fake_ollama.url)
    yield model
    # Its two HTTP clients are ChatOllama's own: close them (ResourceWarning).
    model._client.close()
    await model._async_client.close()


async def test_invoke(llm: ChatOllama, fake_ollama: FakeOllama) -> None:
    sync = await asyncio.to_thread(llm.invoke, "Hello")
    answer = await llm.ainvoke("Hello")
    assert isinstance(answer, AIMessage)
    assert answer.content == sync.content
    assert isinstance(answer.content, str) and len(answer.content.split()) == 24
    assert answer.response_metadata["done_reason"] == "stop"
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 24
    assert [r.path for r in fake_ollama.requests] == ["/api/chat", "/api/chat"]


async def test_stream(llm: ChatOllama, fake_ollama: FakeOllama) -> None:
    chunks = [chunk async for chunk in llm.astream("Hello")]
    text = "".join(str(chunk.content) for chunk in chunks)
    assert len([c for c in chunks if c.content]) == 24  # one chunk a token
    assert text == (await llm.ainvoke("Hello")).content
    sync = await asyncio.to_thread(lambda: [c.content for c in llm.stream("Hello")])
    assert "".join(map(str, sync)) == text
    assert fake_ollama.completed_streams == 3


async def test_tool_call_with_bind_tools(llm: ChatOllama) -> None:
    with_tools = llm.bind_tools([add, get_weather])
    question = HumanMessage("What is the weather in Oslo? Use get_weather.")
    answer = await with_tools.ainvoke([question])
    assert isinstance(answer, AIMessage)
    (call,) = answer.tool_calls
    assert call["name"] == "get_weather"
    assert isinstance(call["args"]["city"], str)
    result = get_weather.invoke(call)
    assert isinstance(result, ToolMessage)
    final = await with_tools.ainvoke([question, answer, result])
    assert final.tool_calls == []
    assert final.content


async def test_json_format(fake_ollama: FakeOllama) -> None:
    model = ChatOllama(model="llama3.2", base_url=fake_ollama.url, format="json")
    try:
        answer = await model.ainvoke('A person as JSON with "name" and "age".')
    finally:
        await model._async_client.close()
        model._client.close()
    person = json.loads(str(answer.content))
    assert list(person) == ["name", "age"]
    assert isinstance(person["age"], int)
