"""Typed requests and responses of the Ollama API, as msgspec Structs.

Responses decode leniently (unknown fields ignored, omitted fields defaulted)
and support the official client's dict-style access. Requests omit unset
fields, keeping "not sent" apart from ``False``. ``OptionsDict`` and
``MessageDict`` type the dict literals of ``options=`` and ``messages=`` for
type checkers.
"""

from ._account import CloudStatus, ServerStatus, UserResponse
from ._base import UNSET, Model, UnsetType
from ._common import (
    DebugInfo,
    Image,
    Logprob,
    Message,
    MessageDict,
    ModelDetails,
    Options,
    OptionsDict,
    TokenLogprob,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolFunction,
    ToolParameters,
    ToolProperty,
)
from ._embed import EmbeddingsRequest, EmbeddingsResponse, EmbedRequest, EmbedResponse
from ._generate import (
    ChatRequest,
    ChatResponse,
    GenerateRequest,
    GenerateResponse,
    ThinkLevel,
)
from ._models import (
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    ListModel,
    ListResponse,
    ProcessModel,
    ProcessResponse,
    ProgressResponse,
    PullRequest,
    PushRequest,
    ShowRequest,
    ShowResponse,
    StatusResponse,
    Tensor,
    VersionResponse,
)
from ._web import (
    WebFetchRequest,
    WebFetchResponse,
    WebSearchRequest,
    WebSearchResponse,
    WebSearchResult,
)

__all__ = [
    "UNSET",
    "ChatRequest",
    "ChatResponse",
    "CloudStatus",
    "CopyRequest",
    "CreateRequest",
    "DebugInfo",
    "DeleteRequest",
    "EmbedRequest",
    "EmbedResponse",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "GenerateRequest",
    "GenerateResponse",
    "Image",
    "ListModel",
    "ListResponse",
    "Logprob",
    "Message",
    "MessageDict",
    "Model",
    "ModelDetails",
    "Options",
    "OptionsDict",
    "ProcessModel",
    "ProcessResponse",
    "ProgressResponse",
    "PullRequest",
    "PushRequest",
    "ServerStatus",
    "ShowRequest",
    "ShowResponse",
    "StatusResponse",
    "Tensor",
    "ThinkLevel",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "ToolParameters",
    "ToolProperty",
    "UnsetType",
    "UserResponse",
    "VersionResponse",
    "WebFetchRequest",
    "WebFetchResponse",
    "WebSearchRequest",
    "WebSearchResponse",
    "WebSearchResult",
]
