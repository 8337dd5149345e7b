"""The one place where what went wrong on the wire becomes our exception tree:

- HTTP statuses: 4xx/5xx (:func:`status_error`, with ``Retry-After`` and a
  401's ``signin_url``), a status outside 100-599 (:func:`check_status`), a
  redirect left unfollowed (:func:`unfollowed_redirect`);
- aiohttp's, asyncio's and the OS's failures (:func:`map_exception`), and the
  timeouts only the transport can tell apart (:func:`pool_timeout`,
  :func:`first_byte_timeout`, :func:`head_timeout`).

The other modules of the package raise what these functions return, outside
``except`` blocks: aiohttp's exceptions hold the request's headers (the API
key among them), so they are never chained. Imports nothing of the package
but ``_errors``.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import math
import ssl
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import aiohttp

from .._errors import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectTimeout,
    FirstByteTimeout,
    NotFoundError,
    OllamaError,
    PermissionDeniedError,
    PoolTimeout,
    RateLimitError,
    ReadTimeout,
    RemoteProtocolError,
    ServerBusyError,
    ServerError,
    StatusError,
    TotalTimeout,
    TransportError,
    error_fields,
)

if TYPE_CHECKING:
    from .._config import Timeout

__all__ = [
    "CONNECTION_ERROR_MESSAGE",
    "MAX_REDIRECTS",
    "check_status",
    "first_byte_timeout",
    "head_timeout",
    "map_exception",
    "no_room_timeout",
    "parse_retry_after",
    "pool_timeout",
    "status_error",
    "unfollowed_redirect",
]

MAX_REDIRECTS: Final = 5
"""Redirects followed before :class:`RemoteProtocolError`."""

CONNECTION_ERROR_MESSAGE: Final = (
    "Failed to connect to Ollama. Please check that Ollama is downloaded, "
    "running and accessible. https://ollama.com/download"
)
"""The official client's text for a refused connection (``ollama/_client.py``),
word for word: code written for it may match on it."""

_STATUS_ERRORS: Final[dict[int, type[StatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    503: ServerBusyError,
}


# -- statuses --------------------------------------------------------------------


def status_error(status: int, body: bytes, retry_after: str | None) -> StatusError:
    """The exception for an HTTP error status: the JSON ``error`` message when
    there is one, else the body's text, else the status's reason. A 401's
    JSON ``signin_url`` becomes :attr:`AuthenticationError.signin_url`."""
    message, signin_url = error_fields(body)
    if message is None:
        message = body.decode("utf-8", "replace").strip()
    if not message:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = f"HTTP {status}"
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else StatusError)
    seconds = parse_retry_after(retry_after)
    if cls is AuthenticationError:
        return AuthenticationError(
            message, status, body=body, retry_after=seconds, signin_url=signin_url
        )
    return cls(message, status, body=body, retry_after=seconds)


def check_status(status: int, origin: object) -> None:
    """Refuse a status outside 100-599, as soon as the head is read."""
    if not 100 <= status <= 599:
        raise RemoteProtocolError(
            f"Ollama at {origin} answered with HTTP status {status}, outside 100-599"
        )


def unfollowed_redirect(
    base_url: str, status: int, location: str, *, follow_redirects: bool
) -> RemoteProtocolError:
    """A 3xx that was not followed (redirects disabled, or a streamed
    upload's, which cannot be replayed)."""
    return RemoteProtocolError(
        f"Ollama at {base_url} answered {status} (redirect to "
        f"{location[:200]!r}), which was not followed"
        + ("" if follow_redirects else " (follow_redirects=False)")
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delay-seconds or an HTTP date in
    any of RFC 9110's three forms. Anything else is ignored (None)."""
    if value is None:
        return None
    value = value.strip()
    try:
        # RFC 9110 says whole seconds; proxies send fractions and negatives too.
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" (and the asctime form) parse as naive: they mean UTC.
        when = when.replace(tzinfo=datetime.UTC)
    seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return max(seconds, 0.0)


# -- transport failures ------------------------------------------------------------


def map_exception(
    exc: BaseException,
    base_url: str,
    source: str | None = None,
    timeout: Timeout | None = None,
) -> OllamaError:
    """Our exception for one raised by aiohttp, asyncio or the OS during a
    call. The result is raised *without* chaining ``exc``: aiohttp's errors
    hold the request's headers. ``source`` says where ``base_url`` came from
    (``OLLAMA_HOST``, the host argument, ...), for a failed connection;
    ``timeout``, the limits in force, so that a timeout names its value."""
    if isinstance(exc, OllamaError):
        return exc
    origin = f", from {source}" if source else ""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout(
            f"timed out connecting to Ollama at {base_url}{origin} within "
            f"{_limit(timeout, 'connect')} (Timeout.connect)"
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return ReadTimeout(
            f"Ollama at {base_url} sent nothing for {_limit(timeout, 'read')} "
            "(Timeout.read); a model that pauses longer between chunks needs "
            "a larger one"
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TotalTimeout(
            f"the call to Ollama at {base_url} took longer than "
            f"{_limit(timeout, 'total')} (Timeout.total)"
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ConnectError(
            f"TLS certificate of Ollama at {base_url}{origin} not trusted: "
            f"{exc.certificate_error}",
            retryable=False,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ssl.SSLError) and _plain_http_answer(os_error):
            plain = "http://" + base_url.removeprefix("https://")
            return ConnectError(
                f"{CONNECTION_ERROR_MESSAGE} (address {base_url}{origin}: the "
                f"server answered in plain HTTP, not TLS; use {plain})",
                retryable=False,
            )
        reason = os_error.strerror or str(os_error) or type(exc).__name__
        refused = isinstance(os_error, ConnectionRefusedError)
        hint = ""
        loopback = refused and _is_loopback(base_url)
        if loopback:
            hint = (
                "; nothing listens there: is Ollama running (`ollama serve`)? "
                "To wait for a server that is starting, use "
                "Retry(wait_for_local_server=True)"
            )
        return ConnectError(
            f"{CONNECTION_ERROR_MESSAGE} (address {base_url}{origin}: {reason}{hint})",
            refused=refused,
            loopback=loopback,
        )
    if isinstance(exc, aiohttp.TooManyRedirects):
        return RemoteProtocolError(
            f"more than {MAX_REDIRECTS} redirects from Ollama at {base_url}"
        )
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        # A Location header that is not a URL, or not an http(s) one.
        target = exc.args[0] if exc.args else ""
        return RemoteProtocolError(
            f"Ollama at {base_url} redirected to an invalid target "
            f"({type(exc).__name__}: {target!s:.200})"
        )
    if isinstance(exc, UnicodeError) and not isinstance(exc, UnicodeDecodeError):
        # getaddrinfo() cannot IDNA-encode the host name (an empty label, one
        # longer than 63 characters), the base URL's or a redirect target's.
        origin = f", from {source}" if source else ""
        return ConnectError(
            f"{CONNECTION_ERROR_MESSAGE} (address {base_url}{origin}: a host "
            f"name that is not valid: {exc})"
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        return RemoteProtocolError(
            f"Ollama at {base_url} sent a malformed response "
            f"({type(exc).__name__}: {_reason(exc)})"
        )
    if isinstance(
        exc,
        aiohttp.ClientPayloadError
        | aiohttp.ClientConnectionError
        | ConnectionError
        | OSError,
    ):
        return RemoteProtocolError(
            f"the connection to Ollama at {base_url} broke mid-response "
            f"({type(exc).__name__}: {_reason(exc)})"
        )
    return TransportError(
        f"HTTP error talking to Ollama at {base_url} ({type(exc).__name__})"
    )


def _limit(timeout: Timeout | None, name: str) -> str:
    """``name=<seconds> s`` of the limit in force, or its name alone."""
    value = getattr(timeout, name, None) if timeout is not None else None
    return (
        f"{name}={value:g} s" if isinstance(value, int | float) else f"the {name} limit"
    )


def _plain_http_answer(error: ssl.SSLError) -> bool:
    """Whether a TLS handshake failed because the server spoke plain HTTP
    (OpenSSL reads its "HTTP/1.1 400" as a record of a wrong version)."""
    return getattr(error, "reason", None) in {
        "WRONG_VERSION_NUMBER",
        "HTTP_REQUEST",
        "RECORD_LAYER_FAILURE",
    } or "WRONG_VERSION_NUMBER" in str(error)


def _is_loopback(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(exc: BaseException) -> str:
    """A short reason, never a request's details (aiohttp puts the URL and
    headers in some exceptions' ``repr``)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.message[:200] if exc.message else f"status {exc.status}"
    return (str(exc) or "no details")[:200]


def pool_timeout(base_url: str, pool: float) -> PoolTimeout:
    """Every pooled connection stayed busy for ``pool`` seconds."""
    return PoolTimeout(
        f"no free connection to Ollama at {base_url} within "
        f"pool={pool:g} s (Timeout.pool); raise "
        "Limits.max_connections or the pool timeout"
    )


def no_room_timeout(hosts: str, pool: float) -> PoolTimeout:
    """Every host stayed at its adaptive concurrency limit for ``pool`` s."""
    return PoolTimeout(
        f"no room for this request on any of {hosts} within pool={pool:g} s "
        "(Timeout.pool): every host was at its concurrency limit; raise "
        "the pool timeout, or AdaptiveConcurrency.minimum"
    )


def first_byte_timeout(origin: object, first_byte: float) -> FirstByteTimeout:
    """No response head within ``first_byte`` on one of our connections."""
    return FirstByteTimeout(
        f"no response head from Ollama at {origin} within "
        f"first_byte={first_byte:g} s (Timeout.first_byte); a model "
        "that takes longer to load needs a larger one"
    )


def head_timeout(base_url: str, limit: float) -> FirstByteTimeout:
    """No response head within ``limit`` through a caller's session, where
    the deadline covers connecting (and the pool's wait) too."""
    return FirstByteTimeout(
        f"no response head from Ollama at {base_url} within "
        f"{limit:g} s (Timeout.first_byte + connect + pool)"
    )
