"""``/api/embed`` and the legacy ``/api/embeddings``."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from ._base import Model
from ._common import OrNull

__all__ = ["EmbedRequest", "EmbedResponse", "EmbeddingsRequest", "EmbeddingsResponse"]


class EmbedRequest(Model, kw_only=True):
    """Body of ``POST /api/embed``."""

    model: str
    input: str | list[str] | UnsetType = UNSET
    truncate: bool | UnsetType = UNSET
    dimensions: int | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET
    keep_alive: float | str | UnsetType = UNSET


class EmbedResponse(Model, kw_only=True, gc=False):
    """Reply of ``embed``: one L2-normalised vector per input, in order."""

    model: str = ""
    created_at: str | None = None
    """Not sent by Ollama: always None, declared so dumps match the official client."""
    done: bool | None = None
    """Not sent by Ollama: always None, declared so dumps match the official client."""
    done_reason: str | None = None
    """Not sent by Ollama: always None, declared so dumps match the official client."""
    total_duration: int | None = None
    """Nanoseconds for the whole request."""
    load_duration: int | None = None
    """Nanoseconds spent loading the model."""
    prompt_eval_count: int | None = None
    """Number of input tokens."""
    prompt_eval_duration: int | None = None
    """Not sent by Ollama: always None, declared so dumps match the official client."""
    eval_count: int | None = None
    """Not sent by Ollama: always None, declared so dumps match the official client."""
    eval_duration: int | None = None
    """Not sent by Ollama: always None, declared so dumps match the official client."""
    embeddings: OrNull[list[list[float]]]
    """One vector per input, in order; ``[]`` when the server sent ``null``
    (the official client rejects that)."""

    def __post_init__(self) -> None:
        self.embeddings = self.embeddings or []  # null, see OrNull


class EmbeddingsRequest(Model, kw_only=True):
    """Body of the legacy ``POST /api/embeddings``."""

    model: str
    prompt: str | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET
    keep_alive: float | str | UnsetType = UNSET


class EmbeddingsResponse(Model, kw_only=True, gc=False):
    """Reply of the legacy ``embeddings``: one vector, not normalised."""

    embedding: OrNull[list[float]]
    """``[]`` when the server sent ``null`` (the official client rejects that)."""

    def __post_init__(self) -> None:
        self.embedding = self.embedding or []  # null, see OrNull
