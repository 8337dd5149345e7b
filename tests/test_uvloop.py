"""The client on uvloop (as under uvicorn), where create_connection takes
fewer arguments than asyncio's: hosts by IP and by name, streams, calls."""

from __future__ import annotations

import pytest

from ollama_async import AsyncClient
from ollama_async.testing import FakeOllama

uvloop = pytest.importorskip("uvloop")


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_the_client_runs_on_uvloop(name: str) -> None:
    async def main() -> tuple[str, int]:
        async with FakeOllama() as server:
            url = server.url.replace("127.0.0.1", name)
            async with AsyncClient(url) as client:
                hi = [{"role": "user", "content": "hi"}]
                whole = await client.chat("llama3.2", hi)
                async with client.chat("llama3.2", hi, stream=True) as stream:
                    parts = [p async for p in stream]
                return whole.message.content, len(parts)

    content, chunks = uvloop.run(main())
    assert content and chunks > 2
