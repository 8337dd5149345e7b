"""The reference: the loop a careful user writes by hand with aiohttp + msgspec.

The denominator of every ratio. One `ClientSession` with a
`TCPConnector(limit=concurrency)` (so its pool is sized like every other
client's), `async with session.post(...)`, `resp.content.iter_any()`, a bytes
split on b"\\n", one prebuilt msgspec Decoder for the floor's Structs. Public
aiohttp API only, session defaults otherwise; no SDK layers (no retries, no
error mapping), and nothing tuned with aiohttp internals.

For blobs (S7): hash the file with `hashlib.sha256` over 1 MiB reads (in a
thread, as any asyncio user would), then `session.post(url, data=open(path,
"rb"))`, which aiohttp streams from the file with a Content-Length.
"""

from __future__ import annotations

import asyncio
import hashlib
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
        self.url = url
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

    async def create_blob(self, path: str) -> str:
        digest = "sha256:" + await asyncio.to_thread(_sha256, path)
        with open(path, "rb") as file:
            async with self.session.post(
                f"{self.url}/api/blobs/{digest}", data=file
            ) as resp:
                if resp.status != 201:
                    raise RuntimeError(resp.status)
                await resp.read()
        return digest

    async def close(self) -> None:
        await self.session.close()


def _sha256(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as file:
        while piece := file.read(1 << 20):
            sha.update(piece)
    return sha.hexdigest()
