"""pytest plugin (entry point ``pytest11``): the ``fake_ollama`` fixture.

Loaded by pytest in every project that installs ollama_async, so its import is
kept light: no aiohttp until the fixture runs. The fixture needs pytest-asyncio;
without it the fixture fails with a clear message instead of breaking pytest.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ollama_async.testing import FakeOllama

_HAS_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None

_HELP = "the fake_ollama fixture needs pytest-asyncio (pip install pytest-asyncio)"


if _HAS_PYTEST_ASYNCIO:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def fake_ollama() -> AsyncIterator[FakeOllama]:
        """A started `FakeOllama` on a free loopback port, stopped after the test.

        Configure it in the test (``fake_ollama.add_fault(...)``,
        ``fake_ollama.models``, ``fake_ollama.response_tokens = 5``); read
        ``fake_ollama.url`` for the client under test.
        """
        from ollama_async.testing import FakeOllama

        async with FakeOllama() as server:
            yield server

else:  # pragma: no cover - exercised in a subprocess test

    @pytest.fixture
    def fake_ollama() -> Any:
        """Unavailable: pytest-asyncio is not installed."""
        pytest.fail(_HELP)
