"""The exception tree. Everything the package raises on purpose derives from
:class:`OllamaError`; no aiohttp or msgspec exception escapes the public API.

::

    OllamaError
    ├── RequestError        (also ValueError)   bad arguments, raised before sending
    ├── UsageError          (also RuntimeError) closed client, stream read twice
    ├── MaxToolRoundsError                      a tool loop hit its round limit
    ├── ResponseError                           the server said no (official name)
    │   ├── StatusError                         HTTP status >= 400
    │   │   ├── BadRequestError       400
    │   │   ├── AuthenticationError   401
    │   │   ├── PermissionDeniedError 403
    │   │   ├── NotFoundError         404
    │   │   ├── RateLimitError        429
    │   │   └── ServerError           5xx
    │   │       └── ServerBusyError   503
    │   └── StreamError                         {"error": ...} line after a 200
    │       └── IncompleteStreamError           clean end without the final line
    ├── TransportError                          nothing usable came back
    │   ├── ConnectError      (also ConnectionError)
    │   ├── RemoteProtocolError                 connection broke mid-response
    │   └── TimeoutError      (also builtins.TimeoutError)
    │       ├── ConnectTimeout                  no connection within `connect`
    │       ├── PoolTimeout                     no free connection within `pool`
    │       ├── ReadTimeout                     no data within `read`
    │       │   └── FirstByteTimeout            no response within `first_byte`
    │       └── TotalTimeout                    the whole call exceeded `total`
    └── DecodeError         (also ValueError)   a body or line not as the endpoint sends
        ├── LineTooLongError                    a stream line over the cap
        └── StructuredOutputError               an answer that is not the JSON asked for

``ResponseError`` and ``RequestError`` keep the attributes of the official client
(``.error``, ``.status_code``), so ``except ResponseError`` code keeps working.
"""

from __future__ import annotations

import builtins
import json
from typing import Any

import msgspec

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConnectError",
    "ConnectTimeout",
    "DecodeError",
    "FirstByteTimeout",
    "IncompleteStreamError",
    "InsecureTLSWarning",
    "LineTooLongError",
    "MaxToolRoundsError",
    "NotFoundError",
    "OllamaError",
    "PermissionDeniedError",
    "PoolTimeout",
    "RateLimitError",
    "ReadTimeout",
    "RemoteProtocolError",
    "RequestError",
    "ResponseError",
    "ServerBusyError",
    "ServerError",
    "StatusError",
    "StreamError",
    "StructuredOutputError",
    "TimeoutError",
    "TotalTimeout",
    "TransportError",
    "UsageError",
]

_EXCERPT = 200


class _ErrorObject(msgspec.Struct):
    # Any, checked below: a field of another type must not cost the other.
    error: Any = None
    signin_url: Any = None


_decode_error_object = msgspec.json.Decoder(_ErrorObject).decode


def error_fields(data: bytes) -> tuple[str | None, str | None]:
    """``(error, signin_url)`` of an Ollama error object (an error body, or an
    ``{"error": ...}`` stream line), each None when absent or not a string,
    both when ``data`` is not a JSON object. Never raises."""
    try:
        obj = _decode_error_object(data)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None, None
    error, signin_url = obj.error, obj.signin_url
    return (
        error if isinstance(error, str) else None,
        signin_url if isinstance(signin_url, str) else None,
    )


def error_message(data: bytes) -> str | None:
    """The ``error`` of an Ollama error object, or None when ``data`` is not
    one."""
    return error_fields(data)[0]


def excerpt(data: bytes | str, limit: int = _EXCERPT) -> str:
    """A short, printable piece of a payload for error messages."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if len(text) > limit:
        return f"{text[:limit]!r}... ({len(text)} chars)"
    return repr(text)


def _error_message(error: str) -> str:
    """The ``error`` of a JSON error body, else ``error`` itself: the official
    ``ResponseError(body, status)`` accepts a raw body, and code that builds
    one (mocks, replays) relies on it."""
    if isinstance(error, str) and error.startswith("{"):
        try:
            message = json.loads(error).get("error")
        except (ValueError, AttributeError):
            return error
        if isinstance(message, str):
            return message
    return error


class OllamaError(Exception):
    """Base class of every exception raised by ``ollama_async``."""


class RequestError(OllamaError, ValueError):
    """An argument is invalid; nothing was sent.

    ``.error`` holds the message, as in the official client.
    """

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class InsecureTLSWarning(UserWarning):
    """A client was made with TLS certificate checks turned off
    (``verify=False`` or ``dangerously_skip_tls_verify=True``). A warning, not
    a log line, so that it can be silenced on purpose::

        warnings.filterwarnings("ignore", category=InsecureTLSWarning)
    """


class UsageError(OllamaError, RuntimeError):
    """The API was used in a way it does not support (closed client, stream
    iterated twice)."""


class ResponseError(OllamaError):
    """The server answered with an error.

    ``.error`` is the server's message and ``.status_code`` the HTTP status, or
    ``-1`` when the error arrived as a line inside a 200 stream (as in the
    official client).
    """

    hint: str | None = None
    """What to do about it, when the client can tell (how to pull a missing
    model, a host that should not end in ``/api``); shown after the message."""

    def __init__(self, error: str, status_code: int = -1) -> None:
        error = _error_message(error)
        super().__init__(error)
        self.error = error
        self.status_code = status_code

    def __str__(self) -> str:
        text = self.error
        if self.status_code != -1:
            text = f"{text} (status code: {self.status_code})"
        return text if self.hint is None else f"{text}; {self.hint}"


class StatusError(ResponseError):
    """The server answered with an HTTP status >= 400.

    ``.body`` is the raw body (bounded), ``.retry_after`` the parsed
    ``Retry-After`` header in seconds, when present.
    """

    def __init__(
        self,
        error: str,
        status_code: int,
        *,
        body: bytes = b"",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(error, status_code)
        self.body = body
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        """Alias of ``status_code``."""
        return self.status_code


class BadRequestError(StatusError):
    """400: the server rejected the request."""


class AuthenticationError(StatusError):
    """401: sign-in or an API key is needed (cloud models, ollama.com).

    ``.signin_url`` is the page where this machine's key can be connected to
    an ollama.com account, when the server's JSON body names one (Ollama
    sends ``{"error": "unauthorized", "signin_url": ...}`` on cloud and
    account routes); else None.
    """

    def __init__(
        self,
        error: str,
        status_code: int,
        *,
        body: bytes = b"",
        retry_after: float | None = None,
        signin_url: str | None = None,
    ) -> None:
        super().__init__(error, status_code, body=body, retry_after=retry_after)
        self.signin_url = signin_url


class PermissionDeniedError(StatusError):
    """403: forbidden, e.g. cloud disabled or a non-local ``Host`` header."""


class NotFoundError(StatusError):
    """404: unknown model, blob or route."""


class RateLimitError(StatusError):
    """429: rate limited (relayed from ollama.com)."""


class ServerError(StatusError):
    """5xx: the server failed."""


class ServerBusyError(ServerError):
    """503: the server's queue is full; retrying later usually works."""


class StreamError(ResponseError):
    """An ``{"error": ...}`` line arrived after the stream had started."""


class IncompleteStreamError(StreamError):
    """The stream ended cleanly but without its final line (``done: true`` or
    ``status: success``), so the answer is truncated."""


class TransportError(OllamaError):
    """The HTTP exchange itself failed; see ``__cause__`` for details."""


class ConnectError(TransportError, ConnectionError):
    """Could not connect to the server.

    ``.refused`` says nothing listened at the address (connection refused)
    and ``.loopback`` that the address is this machine's: a local server that
    is not running, which waiting does not fix unless it is starting
    (:attr:`Retry.wait_for_local_server`). ``.retryable`` is False when no
    retry can help (a TLS mismatch, an untrusted certificate).
    """

    def __init__(
        self,
        *args: object,
        refused: bool = False,
        loopback: bool = False,
        retryable: bool = True,
    ) -> None:
        super().__init__(*args)
        self.refused = refused
        self.loopback = loopback
        self.retryable = retryable


class RemoteProtocolError(TransportError):
    """The connection broke or the server violated HTTP mid-response."""


class TimeoutError(TransportError, builtins.TimeoutError):
    """A configured timeout expired."""


class ConnectTimeout(TimeoutError):
    """No connection within the ``connect`` timeout."""


class PoolTimeout(TimeoutError):
    """Every connection of the pool stayed busy for the ``pool`` timeout."""


class ReadTimeout(TimeoutError):
    """The server went silent for longer than the ``read`` timeout (or, as
    :class:`FirstByteTimeout`, sent no response within ``first_byte``)."""


class FirstByteTimeout(ReadTimeout):
    """No response headers within the ``first_byte`` timeout (a model that
    takes too long to load, or a server that accepts and never answers)."""


class TotalTimeout(TimeoutError):
    """The whole call took longer than the ``total`` timeout."""


class DecodeError(OllamaError, ValueError):
    """A body or stream line could not be decoded into the expected type.

    ``.excerpt`` holds a bounded, printable piece of the offending data.
    """

    def __init__(self, message: str, *, data: bytes | str = b"") -> None:
        self.excerpt = excerpt(data) if data else ""
        super().__init__(f"{message}: {self.excerpt}" if self.excerpt else message)


class LineTooLongError(DecodeError):
    """A stream line exceeded ``max_line_size``."""


class StructuredOutputError(DecodeError):
    """The model's answer is not valid JSON, or does not fit the type asked for
    (``parse``). ``.truncated`` is true when the answer was cut short
    (``done_reason == "length"`` or the JSON ends early)."""

    def __init__(self, message: str, *, data: bytes | str, truncated: bool) -> None:
        super().__init__(message, data=data)
        self.truncated = truncated


class MaxToolRoundsError(OllamaError):
    """A tool loop reached ``max_rounds`` while the model still asked for tools.

    ``.messages`` is the conversation so far and ``.response`` the last answer
    (with its unanswered ``tool_calls``), so the caller can continue it.
    """

    def __init__(self, message: str, *, messages: list[Any], response: Any) -> None:
        super().__init__(message)
        self.messages = messages
        self.response = response
