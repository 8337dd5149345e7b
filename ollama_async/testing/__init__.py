"""A faithful Ollama server emulator for tests, demos and benchmarks.

``FakeOllama`` serves Ollama's REST API on a loopback port from an in-memory model
registry, with deterministic output, pacing, fault injection and counters that
let a test see what its client did on the wire (disconnects included)::

    from ollama_async.testing import FakeOllama, Fault

    async with FakeOllama() as server:
        server.add_fault(Fault(path="/api/chat", error_after=3, times=1))
        ...  # point the code under test at server.url

Also runnable as ``python -m ollama_async.testing --port 11434`` (the same
runner as ``ollama-async serve-fake``: :func:`add_options` and :func:`serve`,
for a program of your own) and as the ``fake_ollama`` pytest fixture. This
package never imports the client side of ``ollama_async``, so the two cannot
share a mistake. Names are imported lazily so that loading the pytest plugin
does not import aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._faults import Fault
    from ._registry import FakeModel, ModelRegistry
    from ._serve import ServeError, add_options, serve
    from ._server import FakeOllama, RecordedRequest
    from ._users import FakeUser

__all__ = [
    "FakeModel",
    "FakeOllama",
    "FakeUser",
    "Fault",
    "ModelRegistry",
    "RecordedRequest",
    "ServeError",
    "add_options",
    "serve",
]

_HOMES = {
    "FakeModel": "._registry",
    "FakeOllama": "._server",
    "FakeUser": "._users",
    "Fault": "._faults",
    "ModelRegistry": "._registry",
    "RecordedRequest": "._server",
    "ServeError": "._serve",
    "add_options": "._serve",
    "serve": "._serve",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
