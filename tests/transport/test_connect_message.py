"""A refused connection says what the official client says, word for word
(code written for it may match on the text), then the address and where it
came from: the host argument, ``OLLAMA_HOST``, or the default. Real refused
connections on loopback: a port nothing listens on."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

import ollama_async._config
from ollama_async import AsyncClient, ConnectError, MultiHostClient, Timeout

# ollama/_client.py, CONNECTION_ERROR_MESSAGE, as the official client raises it.
OFFICIAL = (
    "Failed to connect to Ollama. Please check that Ollama is downloaded, "
    "running and accessible. https://ollama.com/download"
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_sentence_is_the_official_clients() -> None:
    official = pytest.importorskip("ollama._client")
    assert official.CONNECTION_ERROR_MESSAGE == OFFICIAL


async def _refused(make: Callable[[], AsyncClient]) -> str:
    async with make() as client:
        with pytest.raises(ConnectError) as info:
            await client.version()
        with pytest.raises(ConnectionError):  # the official client's type
            await client.chat("m", stream=True)
    assert info.value.__cause__ is None and info.value.__context__ is None
    return str(info.value)


def _client(host: str | None = None) -> AsyncClient:
    return AsyncClient(host, retry=None, timeout=Timeout(connect=5))


async def test_from_the_host_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:1")  # not the one used
    port = _closed_port()
    message = await _refused(lambda: _client(f"127.0.0.1:{port}"))
    assert message.startswith(OFFICIAL + " ")
    assert f"address http://127.0.0.1:{port}, from the host argument" in message


async def test_from_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    message = await _refused(_client)
    assert message.startswith(OFFICIAL + " ")
    assert f"address http://127.0.0.1:{port}, from OLLAMA_HOST" in message


async def test_from_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # The default address itself may have an Ollama behind it: move it.
    port = _closed_port()
    monkeypatch.setattr(
        ollama_async._config, "DEFAULT_HOST", f"http://127.0.0.1:{port}"
    )
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    message = await _refused(_client)
    assert OFFICIAL in message
    assert (
        f"address http://127.0.0.1:{port}, from the default (neither host nor "
        "OLLAMA_HOST is set)" in message
    )
    message = await _refused(lambda: _client(""))
    assert "from the default (host is empty)" in message


async def test_from_a_multi_host_clients_hosts() -> None:
    port = _closed_port()

    def make() -> AsyncClient:
        return MultiHostClient([f"127.0.0.1:{port}"], retry=None, refresh_interval=0)

    message = await _refused(make)
    assert OFFICIAL in message
    assert f"address http://127.0.0.1:{port}, from MultiHostClient's hosts" in message


async def test_the_reason_follows() -> None:
    port = _closed_port()
    message = await _refused(lambda: _client(f"127.0.0.1:{port}"))
    # The OS's words after the address, inside the parentheses we opened.
    tail = message.removeprefix(OFFICIAL + " ")
    assert tail.startswith("(address ") and tail.endswith(")")
    assert ": " in tail
