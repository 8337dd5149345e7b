"""Make aioresponses 0.7.9 work on aiohttp >= 3.14.

aiohttp 3.14 gave ``ClientResponse.__init__`` a required keyword
``stream_writer`` (the request's writer, read for ``output_size``).
aioresponses builds its fake responses with ``ClientResponse(method, url,
**kwargs)`` without it, so every mocked request fails with a ``TypeError``
(aioresponses issue #289; fixes #288/#292 were not released when this was
written).

:func:`install` replaces the ``ClientResponse`` name inside ``aioresponses.core``
with a subclass that supplies a stub writer, and only when the installed
aiohttp requires the argument; on older aiohttp it does nothing. The patch is
undone by the returned callable, so a fixture can scope it to one module.
Delete this file once a fixed aioresponses is released and required.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import aioresponses.core
from aiohttp import ClientResponse
from yarl import URL

__all__ = ["install", "needs_shim"]


class _StubStreamWriter:
    """Just enough of ``AbstractStreamWriter`` for a response whose request
    was "already sent": ``ClientResponse.__init__`` reads ``output_size``."""

    output_size = 0


class ShimClientResponse(ClientResponse):
    """A ``ClientResponse`` that does not need ``stream_writer``."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _StubStreamWriter())
        super().__init__(method, url, **kwargs)


def needs_shim() -> bool:
    """Whether ``ClientResponse.__init__`` requires ``stream_writer``."""
    parameter = inspect.signature(ClientResponse.__init__).parameters.get(
        "stream_writer"
    )
    return parameter is not None and parameter.default is inspect.Parameter.empty


def install() -> Callable[[], None]:
    """Patch aioresponses if this aiohttp needs it; return the undo function."""
    if not needs_shim():
        return lambda: None
    original = aioresponses.core.ClientResponse
    aioresponses.core.ClientResponse = ShimClientResponse  # type: ignore[misc]

    def uninstall() -> None:
        aioresponses.core.ClientResponse = original  # type: ignore[misc]

    return uninstall
