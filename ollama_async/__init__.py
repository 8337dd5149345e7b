"""ollama_async: an asyncio-native, streaming-first client for the Ollama API.

::

    from ollama_async import AsyncClient

    async with AsyncClient() as client:
        async with client.chat("llama3.2", messages=[...], stream=True) as stream:
            async for part in stream:
                print(part.message.content, end="")
"""

import logging as _logging

from ._batch import Batch, BatchResult, run_batch
from ._client import (
    AsyncClient,
    ChatKwargs,
    CreateKwargs,
    GenerateKwargs,
    TransferKwargs,
)
from ._config import AdaptiveConcurrency, Limits, Telemetry, Timeout
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectTimeout,
    DecodeError,
    FirstByteTimeout,
    IncompleteStreamError,
    InsecureTLSWarning,
    LineTooLongError,
    MaxToolRoundsError,
    NotFoundError,
    OllamaError,
    PermissionDeniedError,
    PoolTimeout,
    RateLimitError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    ResponseError,
    ServerBusyError,
    ServerError,
    StatusError,
    StreamError,
    StructuredOutputError,
    TimeoutError,
    TotalTimeout,
    TransportError,
    UsageError,
)
from ._multihost import MultiHostClient
from ._retry import Retry
from ._routing import HostState
from ._rows import RowJob, process_row, process_rows
from ._stream import Stream
from ._tooldefs import tool_definition
from ._toolloop import ToolLoopResult, ToolResult
from ._version import __version__
from .types import (
    ChatResponse,
    EmbeddingsResponse,
    EmbedResponse,
    GenerateResponse,
    Image,
    ListResponse,
    Message,
    MessageDict,
    Options,
    OptionsDict,
    ProcessResponse,
    ProgressResponse,
    ServerStatus,
    ShowResponse,
    StatusResponse,
    Tool,
    ToolCall,
    UserResponse,
    VersionResponse,
    WebFetchResponse,
    WebSearchResponse,
    WebSearchResult,
)

# A library prints nothing unless its user configures logging: without this,
# Python's last-resort handler writes our WARNING records to stderr.
_logging.getLogger("ollama_async").addHandler(_logging.NullHandler())

__all__ = [
    "AdaptiveConcurrency",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchResult",
    "ChatKwargs",
    "ChatResponse",
    "ConnectError",
    "ConnectTimeout",
    "CreateKwargs",
    "DecodeError",
    "EmbedResponse",
    "EmbeddingsResponse",
    "FirstByteTimeout",
    "GenerateKwargs",
    "GenerateResponse",
    "HostState",
    "Image",
    "IncompleteStreamError",
    "InsecureTLSWarning",
    "Limits",
    "LineTooLongError",
    "ListResponse",
    "MaxToolRoundsError",
    "Message",
    "MessageDict",
    "MultiHostClient",
    "NotFoundError",
    "OllamaError",
    "Options",
    "OptionsDict",
    "PermissionDeniedError",
    "PoolTimeout",
    "ProcessResponse",
    "ProgressResponse",
    "RateLimitError",
    "ReadTimeout",
    "RemoteProtocolError",
    "RequestError",
    "ResponseError",
    "Retry",
    "RowJob",
    "ServerBusyError",
    "ServerError",
    "ServerStatus",
    "ShowResponse",
    "StatusError",
    "StatusResponse",
    "Stream",
    "StreamError",
    "StructuredOutputError",
    "Telemetry",
    "Timeout",
    "TimeoutError",
    "Tool",
    "ToolCall",
    "ToolLoopResult",
    "ToolResult",
    "TotalTimeout",
    "TransferKwargs",
    "TransportError",
    "UsageError",
    "UserResponse",
    "VersionResponse",
    "WebFetchResponse",
    "WebSearchResponse",
    "WebSearchResult",
    "__version__",
    "process_row",
    "process_rows",
    "run_batch",
    "tool_definition",
]
