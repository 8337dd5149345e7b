"""Code written for the official ``ollama.AsyncClient`` runs unchanged with
``ollama_async`` swapped in, and sees the same results.

The same function runs once with each module against a fresh emulator; when
the official client is installed, both transcripts must be equal.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

from ollama_async.testing import FakeOllama


async def official_style(ollama: ModuleType, server: FakeOllama) -> list[Any]:
    """Typical official-client code; `ollama` is whichever module is tested."""
    seen: list[Any] = []
    host = server.url
    client = ollama.AsyncClient(host=host)
    hi = [{"role": "user", "content": "Why is the sky blue?"}]

    response = await client.chat(model="llama3.2", messages=hi, options={"seed": 7})
    seen += [response["message"]["content"], response.message.role, response.done]
    seen.append("thinking" in response["message"])

    parts = []
    async for part in await client.chat(model="llama3.2", messages=hi, stream=True):
        parts.append(part["message"]["content"])
    seen.append("".join(parts))

    message = ollama.Message(role="user", content="Tell me a joke")
    reply = await client.chat(
        "llama3.2", messages=[message], options=ollama.Options(temperature=0)
    )
    seen.append(reply.message.content)

    generated = await client.generate(
        model="llama3.2", prompt="Hi", options={"seed": 1}
    )
    seen += [generated.response, generated.done_reason, bool(generated.context)]
    async for part in await client.generate("llama3.2", "Hi", stream=True):
        seen.append(part.response)

    embedded = await client.embed(model="nomic-embed-text", input=["a", "b"])
    seen.append([round(x, 5) for x in embedded.embeddings[1][:4]])
    legacy = await client.embeddings(model="nomic-embed-text", prompt="a")
    seen.append(len(legacy["embedding"]))

    listed = await client.list()
    seen.append(sorted(m.model for m in listed.models))
    seen.append(sorted(m["model"] for m in listed["models"]))
    shown = await client.show("llama3.2")
    seen += [shown.details.family, shown.modelinfo is not None, shown.capabilities]

    seen.append((await client.pull("gemma3:1b")).status)
    async for progress in await client.pull("all-minilm", stream=True):
        seen.append((progress.status, progress.total, progress.completed))
    seen.append((await client.create(model="pirate", from_="llama3.2")).status)
    seen.append((await client.copy("pirate", "pirate2")).status)
    seen.append((await client.delete("pirate2")).status)

    await client.generate("llama3.2", "")
    seen.append([m.model for m in (await client.ps()).models])

    try:
        await client.show("no-such-model")
    except ollama.ResponseError as e:
        seen.append((e.status_code, e.error))
    await client.close()

    # Constructor keywords the official client hands to httpx.
    configured = ollama.AsyncClient(
        host=host,
        headers={"X-Team": "search"},
        auth=("alice", "s3cret"),
        verify=True,
        timeout=30,
        follow_redirects=True,
    )
    await configured.list()
    sent = server.requests[-1].headers
    seen += [sent["X-Team"], sent["Authorization"]]
    await configured.close()
    return seen


async def _transcript(module_name: str) -> list[Any]:
    seen, _ = await _run(module_name)
    return seen


async def _run(module_name: str) -> tuple[list[Any], list[Any]]:
    """What the code saw, and the requests the emulator got (method, path,
    JSON body)."""
    module = importlib.import_module(module_name)
    async with FakeOllama() as server:
        seen = await official_style(module, server)
        return seen, [(r.method, r.path, r.json) for r in server.requests]


async def test_official_code_runs_on_ollama_async() -> None:
    seen = await _transcript("ollama_async")
    assert seen[0] and seen[1] == "assistant" and seen[2] is True
    assert (404, "model 'no-such-model:latest' not found") in seen
    assert seen[-2:] == ["search", "Basic YWxpY2U6czNjcmV0"]


async def test_same_transcript_as_the_official_client() -> None:
    pytest.importorskip("ollama")
    ours, our_requests = await _run("ollama_async")
    theirs, their_requests = await _run("ollama")
    assert ours == theirs
    # The same requests, bodies included (tests/test_wire_parity.py has the
    # argument combinations and the differences we mean).
    assert our_requests == their_requests
