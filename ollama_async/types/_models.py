"""Model management: tags (list), show, create, copy, delete, pull, push, ps,
version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import UNSET, UnsetType, field

from ._base import Model
from ._common import Message, ModelDetails, OrNull

__all__ = [
    "CopyRequest",
    "CreateRequest",
    "DeleteRequest",
    "ListModel",
    "ListResponse",
    "ProcessModel",
    "ProcessResponse",
    "ProgressResponse",
    "PullRequest",
    "PushRequest",
    "ShowRequest",
    "ShowResponse",
    "StatusResponse",
    "Tensor",
    "VersionResponse",
]


class ListModel(Model, kw_only=True, gc=False):
    """An installed model, as listed by ``GET /api/tags``."""

    model: str = ""
    """Full name with tag, e.g. ``llama3.2:latest``."""
    name: str = ""
    modified_at: datetime | None = None
    digest: str | None = None
    """64 hex characters, without a ``sha256:`` prefix."""
    size: int | None = None
    """Bytes on disk."""
    details: ModelDetails | None = None
    capabilities: list[str] | None = None
    remote_model: str | None = None
    remote_host: str | None = None


class ListResponse(Model, kw_only=True, gc=False):
    """Reply of ``list()``."""

    models: OrNull[list[ListModel]] = []
    """``[]`` when absent or ``null`` (older servers send ``null`` for none)."""

    Model = ListModel

    def __post_init__(self) -> None:
        self.models = self.models or []  # null, see OrNull


class Tensor(Model, kw_only=True, gc=False):
    """A tensor of a GGUF model (``show``)."""

    name: str = ""
    type: str = ""
    shape: OrNull[list[int]] = []
    """Dimensions; ``[]`` when absent or ``null`` (Go's nil slice)."""

    def __post_init__(self) -> None:
        self.shape = self.shape or []  # null, see OrNull


class ShowResponse(Model, kw_only=True, gc=False):
    """Reply of ``show()``."""

    modified_at: datetime | None = None
    template: str | None = None
    system: str | None = None
    modelfile: str | None = None
    license: str | None = None
    details: ModelDetails | None = None
    modelinfo: dict[str, Any] | None = field(default=None, name="model_info")
    """GGUF metadata such as ``general.architecture`` (``model_info`` on the
    wire, as in the official client)."""
    projector_info: dict[str, Any] | None = None
    tensors: list[Tensor] | None = None
    parameters: str | None = None
    """Newline-separated Modelfile parameters."""
    capabilities: list[str] | None = None
    messages: list[Message] | None = None
    renderer: str | None = None
    parser: str | None = None
    requires: str | None = None
    remote_model: str | None = None
    remote_host: str | None = None

    @property
    def model_info(self) -> dict[str, Any] | None:
        """``modelinfo`` under its wire name."""
        return self.modelinfo


class ProcessModel(Model, kw_only=True, gc=False):
    """A loaded model, as listed by ``GET /api/ps``."""

    model: str = ""
    name: str = ""
    digest: str | None = None
    expires_at: datetime | None = None
    """When the model will be unloaded (far future for "forever")."""
    size: int | None = None
    """Bytes of memory in use."""
    size_vram: int | None = None
    """Bytes of that memory on the GPU."""
    details: ModelDetails | None = None
    context_length: int | None = None


class ProcessResponse(Model, kw_only=True, gc=False):
    """Reply of ``ps()``."""

    models: OrNull[list[ProcessModel]] = []
    """``[]`` when absent or ``null`` (Go's nil slice: nothing loaded)."""

    Model = ProcessModel

    def __post_init__(self) -> None:
        self.models = self.models or []  # null, see OrNull


class StatusResponse(Model, kw_only=True, gc=False):
    """Reply of ``copy()`` and ``delete()``."""

    status: str | None = None


class ProgressResponse(Model, kw_only=True, gc=False):
    """A progress line of ``pull``/``push``/``create``; the last one has
    ``status == "success"``."""

    status: str
    completed: int | None = None
    """Bytes transferred so far."""
    total: int | None = None
    """Bytes in the layer."""
    digest: str | None = None
    """``sha256:…`` of the layer being transferred."""


class VersionResponse(Model, kw_only=True, gc=False):
    """Reply of ``version()``."""

    version: str


class ShowRequest(Model, kw_only=True):
    """Body of ``POST /api/show``."""

    model: str
    verbose: bool | UnsetType = UNSET
    system: str | UnsetType = UNSET
    """Shown in place of the model's system prompt (``system`` and the
    Modelfile's ``SYSTEM``); an empty string changes nothing."""
    options: dict[str, Any] | UnsetType = UNSET
    """Merged over the model's parameters in ``modelfile`` only: ``parameters``
    still lists the stored ones. Any keys and values are accepted."""


class CreateRequest(Model, kw_only=True):
    """Body of ``POST /api/create``."""

    model: str
    stream: bool
    from_: str | UnsetType = field(default=UNSET, name="from")
    files: dict[str, str] | UnsetType = UNSET
    adapters: dict[str, str] | UnsetType = UNSET
    template: str | UnsetType = UNSET
    license: str | list[str] | UnsetType = UNSET
    system: str | UnsetType = UNSET
    parameters: dict[str, Any] | UnsetType = UNSET
    messages: list[Message] | UnsetType = UNSET
    quantize: str | UnsetType = UNSET
    remote_host: str | UnsetType = UNSET
    """URL of the Ollama server that runs ``from`` (a remote model)."""
    draft_files: dict[str, str] | UnsetType = UNSET
    """A draft model for speculative decoding: file name -> blob digest."""
    draft_quantize: str | UnsetType = UNSET
    """Quantization of the draft model; needs ``draft_files``."""
    renderer: str | UnsetType = UNSET
    """Name of the built-in renderer that turns requests into the prompt."""
    parser: str | UnsetType = UNSET
    """Name of the built-in parser of the model's output."""
    requires: str | UnsetType = UNSET
    """The oldest Ollama version that can run the model."""
    info: dict[str, Any] | UnsetType = UNSET
    """Overrides of the model's reported details: ``capabilities`` (a list),
    ``model_family``, ``base_name``, ``quantization_level``,
    ``parameter_size`` (strings), ``context_length``, ``embedding_length``
    (non-negative ints)."""


class CopyRequest(Model, kw_only=True):
    """Body of ``POST /api/copy``."""

    source: str
    destination: str


class DeleteRequest(Model, kw_only=True):
    """Body of ``DELETE /api/delete``."""

    model: str


class PullRequest(Model, kw_only=True):
    """Body of ``POST /api/pull``."""

    model: str
    stream: bool
    insecure: bool | UnsetType = UNSET


class PushRequest(Model, kw_only=True):
    """Body of ``POST /api/push``."""

    model: str
    stream: bool
    insecure: bool | UnsetType = UNSET
