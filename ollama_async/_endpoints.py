"""The one table of Ollama's endpoints: for each, its method and path, the
request and response types, how a body decodes, which streamed line is the
last, how a stream folds into the non-streamed answer, whether a retry may
re-send it, and whether it loads the model it names.

Everything that differs between endpoints is a row here; the client,
retries, streams and multi-host routing read the rows and hold no
per-endpoint facts of their own. Pure: no IO.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import msgspec

from ._folds import fold_chat, fold_generate, fold_last
from .types import (
    ChatRequest,
    ChatResponse,
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbedRequest,
    EmbedResponse,
    GenerateRequest,
    GenerateResponse,
    ListResponse,
    ProcessResponse,
    ProgressResponse,
    PullRequest,
    PushRequest,
    ServerStatus,
    ShowRequest,
    ShowResponse,
    StatusResponse,
    UserResponse,
    VersionResponse,
    WebFetchRequest,
    WebFetchResponse,
    WebSearchRequest,
    WebSearchResponse,
)

__all__ = [
    "BLOB",
    "BLOB_UPLOAD",
    "CHAT",
    "COPY",
    "CREATE",
    "DELETE",
    "EMBED",
    "EMBEDDINGS",
    "ENDPOINTS",
    "GENERATE",
    "HEARTBEAT",
    "LIST",
    "ME",
    "PS",
    "PULL",
    "PUSH",
    "SHOW",
    "SIGNOUT",
    "STATUS",
    "VERSION",
    "WEB_FETCH",
    "WEB_SEARCH",
    "Endpoint",
]

RespT = TypeVar("RespT")


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[RespT]):
    """One route of the Ollama API and everything the client must know of it."""

    method: str
    path: str
    """May hold ``{}`` fields, filled by the caller (``/api/blobs/{digest}``)."""
    request: type[msgspec.Struct] | None
    """The body's type; None when nothing is sent."""
    decode: Callable[[bytes], RespT]
    """A whole body (or one streamed line) to the response value."""
    is_final: Callable[[RespT], bool] | None = None
    """For endpoints that stream: whether a line is the last one. A stream
    that ends before such a line is incomplete."""
    fold: Callable[[list[RespT]], RespT] | None = None
    """For endpoints that stream: the lines into what ``stream=False`` returns."""
    idempotent: bool = True
    """Whether sending it twice does no more than sending it once, so that
    the retry policy may re-send it after a broken response."""
    loads_model: bool = False
    """Whether the server loads the request's ``model`` to answer it; multi-host
    routing then counts the model as loaded on the host that answered."""

    @property
    def name(self) -> str:
        """The last path segment (``chat``), naming the endpoint in errors."""
        return self.path.rpartition("/")[2]


def _decoder(tp: type[RespT]) -> Callable[[bytes], RespT]:
    return msgspec.json.Decoder(tp).decode


def _ended(chunk: ChatResponse | GenerateResponse) -> bool:
    # Called once per streamed line, so kept to two attribute reads. Ollama
    # ends with `done: true`; MLX-backed servers may end with a `done_reason`
    # and no `done` (ollama/ollama-vscode#58, fixed in their client by #61).
    # Ollama sets done_reason only on its final line; a non-empty one is
    # required, in case a server sends "" on every line.
    return chunk.done or bool(chunk.done_reason)


def _succeeded(line: ProgressResponse) -> bool:
    return line.status == "success"


def _empty_success(body: bytes) -> StatusResponse:
    # copy and delete answer 200 with an empty body: success is the status.
    return StatusResponse(status="success")


def _nothing(body: bytes) -> None:
    # The status is the whole answer (signout's body is `null`, HEAD has none).
    return None


_decode_progress: Final = _decoder(ProgressResponse)

# Generation and chat: a stream ends with its `done: true` line, or a line
# with a `done_reason` and no `done` (see _ended).
GENERATE: Final = Endpoint(
    "POST",
    "/api/generate",
    GenerateRequest,
    _decoder(GenerateResponse),
    is_final=_ended,
    fold=fold_generate,
    loads_model=True,
)
CHAT: Final = Endpoint(
    "POST",
    "/api/chat",
    ChatRequest,
    _decoder(ChatResponse),
    is_final=_ended,
    fold=fold_chat,
    loads_model=True,
)
EMBED: Final = Endpoint(
    "POST", "/api/embed", EmbedRequest, _decoder(EmbedResponse), loads_model=True
)
EMBEDDINGS: Final = Endpoint(
    "POST",
    "/api/embeddings",
    EmbeddingsRequest,
    _decoder(EmbeddingsResponse),
    loads_model=True,
)

# Model transfers: a stream ends with `status: success`; stream=False returns
# that last line. A pull resumes where it stopped, so it may be re-sent.
PULL: Final = Endpoint(
    "POST",
    "/api/pull",
    PullRequest,
    _decode_progress,
    is_final=_succeeded,
    fold=fold_last,
)
PUSH: Final = Endpoint(
    "POST",
    "/api/push",
    PushRequest,
    _decode_progress,
    is_final=_succeeded,
    fold=fold_last,
    idempotent=False,
)
CREATE: Final = Endpoint(
    "POST",
    "/api/create",
    CreateRequest,
    _decode_progress,
    is_final=_succeeded,
    fold=fold_last,
    idempotent=False,
)

# Blobs: HEAD answers 200 or 404; POST uploads the file's bytes.
BLOB: Final = Endpoint("HEAD", "/api/blobs/{digest}", None, _empty_success)
BLOB_UPLOAD: Final = Endpoint(
    "POST", "/api/blobs/{digest}", None, _empty_success, idempotent=False
)

# `"models": null` decodes as [] (older servers send it for none).
LIST: Final = Endpoint("GET", "/api/tags", None, _decoder(ListResponse))
PS: Final = Endpoint("GET", "/api/ps", None, _decoder(ProcessResponse))
SHOW: Final = Endpoint("POST", "/api/show", ShowRequest, _decoder(ShowResponse))
COPY: Final = Endpoint(
    "POST", "/api/copy", CopyRequest, _empty_success, idempotent=False
)
DELETE: Final = Endpoint(
    "DELETE", "/api/delete", DeleteRequest, _empty_success, idempotent=False
)
VERSION: Final = Endpoint("GET", "/api/version", None, _decoder(VersionResponse))

# The server itself: liveness, cloud status, and the ollama.com account it is
# signed in as. Signing out twice answers 401 the second time: no re-sends.
HEARTBEAT: Final = Endpoint("HEAD", "/", None, _nothing)
STATUS: Final = Endpoint("GET", "/api/status", None, _decoder(ServerStatus))
ME: Final = Endpoint("POST", "/api/me", None, _decoder(UserResponse))
SIGNOUT: Final = Endpoint("POST", "/api/signout", None, _nothing, idempotent=False)

# ollama.com's web API (sent to AsyncClient.web_url, not the client's host).
WEB_SEARCH: Final = Endpoint(
    "POST", "/api/web_search", WebSearchRequest, _decoder(WebSearchResponse)
)
WEB_FETCH: Final = Endpoint(
    "POST", "/api/web_fetch", WebFetchRequest, _decoder(WebFetchResponse)
)

ENDPOINTS: Final[tuple[Endpoint[Any], ...]] = (
    GENERATE,
    CHAT,
    EMBED,
    EMBEDDINGS,
    PULL,
    PUSH,
    CREATE,
    BLOB,
    BLOB_UPLOAD,
    LIST,
    PS,
    SHOW,
    COPY,
    DELETE,
    VERSION,
    HEARTBEAT,
    STATUS,
    ME,
    SIGNOUT,
    WEB_SEARCH,
    WEB_FETCH,
)
"""Every row, e.g. for documentation and tests."""
