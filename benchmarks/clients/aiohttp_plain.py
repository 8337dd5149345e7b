"""For scale: what a careful user writes with aiohttp + msgspec directly.

`ClientSession` defaults, `resp.content.iter_any()`, a bytes split on b"\\n",
the floor's Structs. No SDK layers; shows what aiohttp itself costs over the
floor.
"""

from __future__ import annotations

import time

import aiohttp
import msgspec

from benchmarks.clients._common import MESSAGES, MODEL
from benchmarks.clients.floor import (
    ChatChunk,
    ChatRequest,
    EmbedRequest,
    EmbedResponse,
    Options,
)

_chunk = msgspec.json.Decoder(ChatChunk).decode
_embed = msgspec.json.Decoder(EmbedResponse).decode
_encode = msgspec.json.Encoder().encode
_HEADERS = {"Content-Type": "application/json"}


class Bench:
    async def start(self, url: str, connections: int) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections)
        )
        self.chat_url = url + "/api/chat"
        self.embed_url = url + "/api/embed"

    def _body(self, n: int, stream: bool) -> bytes:
        return _encode(ChatRequest(MODEL, MESSAGES, stream, Options(num_predict=n)))

    async def stream(self, n: int) -> tuple[int, str]:
        count = 0
        parts = []
        async with self.session.post(
            self.chat_url, data=self._body(n, True), headers=_HEADERS
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(resp.status)
            buf = b""
            async for data in resp.content.iter_any():
                lines = (buf + data).split(b"\n")
                buf = lines.pop()
                for line in lines:
                    part = _chunk(line)
                    count += 1
                    parts.append(part.message.content)
            if buf.strip():
                part = _chunk(buf)
                count += 1
                parts.append(part.message.content)
        return count, "".join(parts)

    async def chat(self, n: int) -> str:
        async with self.session.post(
            self.chat_url, data=self._body(n, False), headers=_HEADERS
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(resp.status)
            return _chunk(await resp.read()).message.content

    async def embed(self, inputs: list[str]) -> list[list[float]]:
        body = _encode(EmbedRequest(MODEL, inputs))
        async with self.session.post(self.embed_url, data=body, headers=_HEADERS) as r:
            if r.status != 200:
                raise RuntimeError(r.status)
            return _embed(await r.read()).embeddings

    async def first_chunk(self, n: int) -> float:
        t0 = time.perf_counter()
        first = 0.0
        async with self.session.post(
            self.chat_url, data=self._body(n, True), headers=_HEADERS
        ) as resp:
            buf = b""
            async for data in resp.content.iter_any():
                lines = (buf + data).split(b"\n")
                buf = lines.pop()
                for line in lines:
                    _chunk(line)
                    if not first:
                        first = time.perf_counter() - t0
        return first

    async def close(self) -> None:
        await self.session.close()
