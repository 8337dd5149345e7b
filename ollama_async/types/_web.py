"""ollama.com's ``/api/web_search`` and ``/api/web_fetch``."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from ._base import Model
from ._common import OrNull

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
    """One search hit. Text fields that ollama.com leaves out or sends as
    ``null`` are ``""`` (the official client has None), so they are always
    strings."""

    content: OrNull[str] = ""
    """Text extracted from the page; ``""`` when absent or ``null``."""
    title: OrNull[str] = ""
    """The page's title; ``""`` when absent or ``null``."""
    url: OrNull[str] = ""
    """The page's address; ``""`` when absent or ``null``."""

    def __post_init__(self) -> None:
        # null, see OrNull
        self.content = self.content or ""
        self.title = self.title or ""
        self.url = self.url or ""


class WebSearchResponse(Model, kw_only=True):
    """The answer of :meth:`AsyncClient.web_search`."""

    results: OrNull[list[WebSearchResult]] = []
    """The hits, best first; ``[]`` when absent or ``null`` (the official
    client rejects ``null``)."""

    def __post_init__(self) -> None:
        self.results = self.results or []  # null, see OrNull


class WebFetchRequest(Model, kw_only=True):
    """Body of ``POST https://ollama.com/api/web_fetch``."""

    url: str


class WebFetchResponse(Model, kw_only=True):
    """The answer of :meth:`AsyncClient.web_fetch`: a page as text. Fields
    that ollama.com leaves out or sends as ``null`` are ``""`` or ``[]`` (the
    official client has None), so they always have their type."""

    title: OrNull[str] = ""
    """The page's title; ``""`` when absent or ``null``."""
    content: OrNull[str] = ""
    """The page as text; ``""`` when absent or ``null``."""
    links: OrNull[list[str]] = []
    """Links found on the page; ``[]`` when absent or ``null``."""

    def __post_init__(self) -> None:
        # null, see OrNull
        self.title = self.title or ""
        self.content = self.content or ""
        self.links = self.links or []
