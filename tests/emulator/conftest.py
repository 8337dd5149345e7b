"""Fixtures for the emulator's conformance tests.

They talk to FakeOllama through a bare aiohttp.ClientSession, never through our
client, so that a mistake shared by both cannot go unnoticed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from ollama_async.testing import FakeOllama


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def lines(self) -> list[Any]:
        assert self.body.endswith(b"\n"), self.body[-80:]
        return [json.loads(line) for line in self.body.split(b"\n")[:-1]]


@pytest.fixture
async def server() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(response_tokens=6) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def call(server: FakeOllama, http: aiohttp.ClientSession) -> Any:
    """``await call(method, path, json=..., data=..., headers=...)`` -> Reply."""

    async def do(method: str, path: str, **kwargs: Any) -> Reply:
        async with http.request(
            method, server.url + path, allow_redirects=False, **kwargs
        ) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    return do


def error(reply: Reply) -> str:
    """The error message of a JSON error reply, checking its framing."""
    assert reply.content_type == "application/json; charset=utf-8"
    assert not reply.body.endswith(b"\n")
    body = reply.json
    assert list(body) == ["error"], body
    return str(body["error"])
