"""What a request handler may read and change of the server serving it.

``FakeOllama`` (``_server``) implements this protocol; handlers and the
``Exchange`` see the server only through it, so that no handler module imports
the server module that routes to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._registry import FakeModel, Loaded, ModelRegistry
    from ._slots import Ticket
    from ._users import CloudSource, FakeUser

__all__ = ["ServerState"]


class ServerState(Protocol):
    """The emulator's state and the hooks a handler reports its progress to."""

    response_tokens: int
    tokens_per_second: float | None
    first_token_delay: float
    burst: bool
    version: str
    models: ModelRegistry
    remote: ModelRegistry
    blobs: dict[str, int]
    loaded: dict[str, Loaded]

    @property
    def user(self) -> FakeUser | None: ...
    @user.setter
    def user(self, user: FakeUser | str | None) -> None: ...
    @property
    def cloud_disabled_by(self) -> CloudSource | None: ...

    def ps_entries(self) -> list[dict[str, Any]]: ...
    async def _load(
        self, model: FakeModel, num_ctx: int | None, *, ticket: Ticket | None
    ) -> int: ...
    def _keep(self, model: FakeModel, keep_alive: float | None) -> None: ...
    def _next_calls(self, model: FakeModel) -> list[dict[str, Any]] | None: ...
    def _next_reply(self, model: FakeModel) -> str | None: ...
    def _stream_opened(self) -> None: ...
    def _stream_closed(self) -> None: ...
    def _stream_completed(self) -> None: ...
    def _stream_aborted(self) -> None: ...
    def _client_disconnected(self) -> None: ...
