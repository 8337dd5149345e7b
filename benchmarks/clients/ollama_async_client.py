"""ollama_async, through its public API only, as the README shows it.

Nothing here reaches below `AsyncClient`, `Limits` and the endpoint methods,
so the adapter keeps measuring whatever transport the client uses.
"""

from __future__ import annotations

import time

from benchmarks.clients._common import MESSAGES, MODEL
from ollama_async import AsyncClient, Limits


class Bench:
    async def start(self, url: str, connections: int) -> None:
        self.client = AsyncClient(url, limits=Limits(max_connections=connections))

    async def stream(self, n: int) -> tuple[int, str]:
        count = 0
        parts = []
        async with self.client.chat(
            MODEL, messages=MESSAGES, stream=True, options={"num_predict": n}
        ) as stream:
            async for part in stream:
                count += 1
                parts.append(part.message.content)
        return count, "".join(parts)

    async def chat(self, n: int) -> str:
        resp = await self.client.chat(
            MODEL, messages=MESSAGES, options={"num_predict": n}
        )
        return resp.message.content

    async def embed(self, inputs: list[str]) -> list[list[float]]:
        resp = await self.client.embed(MODEL, input=inputs)
        return resp.embeddings

    async def first_chunk(self, n: int) -> float:
        t0 = time.perf_counter()
        first = 0.0
        async with self.client.chat(
            MODEL, messages=MESSAGES, stream=True, options={"num_predict": n}
        ) as stream:
            async for _ in stream:
                if not first:
                    first = time.perf_counter() - t0
        return first

    async def create_blob(self, path: str) -> str:
        return await self.client.create_blob(path)

    async def close(self) -> None:
        await self.client.aclose()
