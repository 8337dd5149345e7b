"""The official `ollama` client (httpx + pydantic), as its users call it.

`Bench(raised_pool=False)` keeps httpx's default pool (100 connections, 20
kept alive); `raised_pool=True` passes `httpx.Limits` sized to the scenario's
concurrency through the client's kwargs, which it forwards to httpx.
`create_blob` is the client's own (hash, then upload in 32 KiB pieces read
through anyio; it sends no HEAD first).
"""

from __future__ import annotations

import time

import httpx
import ollama

from benchmarks.clients._common import MESSAGES, MODEL


class Bench:
    def __init__(self, raised_pool: bool = False) -> None:
        self.raised_pool = raised_pool

    async def start(self, url: str, connections: int) -> None:
        kwargs = {}
        if self.raised_pool:
            kwargs["limits"] = httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            )
        self.client = ollama.AsyncClient(host=url, **kwargs)

    async def stream(self, n: int) -> tuple[int, str]:
        count = 0
        parts = []
        async for part in await self.client.chat(
            MODEL, messages=MESSAGES, stream=True, options={"num_predict": n}
        ):
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
        return resp.embeddings  # type: ignore[return-value]  # Sequence, not list

    async def first_chunk(self, n: int) -> float:
        t0 = time.perf_counter()
        first = 0.0
        async for _ in await self.client.chat(
            MODEL, messages=MESSAGES, stream=True, options={"num_predict": n}
        ):
            if not first:
                first = time.perf_counter() - t0
        return first

    async def create_blob(self, path: str) -> str:
        return await self.client.create_blob(path)

    async def close(self) -> None:
        await self.client.close()
