"""ollama.com's ``/api/web_search`` and ``/api/web_fetch``."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from ._base import Model

__all__ = [
    "WebFetchRequest",
    "WebFetchResponse",
    "WebSearchRequest",
    "WebSearchResponse",
    "WebSearchResult",
]


class WebSearchRequest(Model, kw_only=True):
    """Body of ``POST https://ollama.com/api/web_search``."""

    query: str
    max_results: int | UnsetType = UNSET


class WebSearchResult(Model, kw_only=True):
    """One search hit."""

    title: str = ""
    url: str = ""
    content: str = ""
    """Text extracted from the page."""


class WebSearchResponse(Model, kw_only=True):
    """The answer of :meth:`AsyncClient.web_search`."""

    results: list[WebSearchResult] = []


class WebFetchRequest(Model, kw_only=True):
    """Body of ``POST https://ollama.com/api/web_fetch``."""

    url: str


class WebFetchResponse(Model, kw_only=True):
    """The answer of :meth:`AsyncClient.web_fetch`: a page as text."""

    title: str = ""
    content: str = ""
    links: list[str] = []
    """Links found on the page."""
