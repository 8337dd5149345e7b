"""The :class:`Transport`: requests to one Ollama base URL through an
``aiohttp.ClientSession``, made lazily on the running loop or the caller's
own (never closed here); redirects, the connection pool's waits and a
session left behind by an earlier loop.

Statuses and failures become our exceptions in ``_failures`` only; this
module decides when, and raises them outside ``except`` blocks.
"""

from __future__ import annotations

import asyncio
import functools
import ssl as _ssl
from collections.abc import AsyncIterable
from typing import Any, Final, TypeAlias

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .._config import Limits, Timeout
from .._errors import OllamaError, RemoteProtocolError, UsageError
from ._bodies import Response, SessionResponse, read_error_body
from ._failures import (
    MAX_REDIRECTS,
    check_status,
    head_timeout,
    map_exception,
    pool_timeout,
    status_error,
    unfollowed_redirect,
)
from ._headers import env_proxy
from ._hooks import (
    CheckedRequest,
    DeadlineProtocol,
    DeadlineResponse,
    StaleConnection,
    abandon,
    aiohttp_timeout,
    head_timeouts,
)

__all__ = ["Session", "Transport"]

Session: TypeAlias = aiohttp.ClientSession
"""A caller's session, for ``AsyncClient(session=...)``: the type is named
here so that no other module imports aiohttp."""

# aiohttp raises when the redirect count *reaches* its max_redirects: one more
# lets it follow MAX_REDIRECTS of them and refuse the next.
_AIOHTTP_MAX_REDIRECTS: Final = MAX_REDIRECTS + 1
_ACCEPT: Final = {True: "application/x-ndjson", False: "application/json"}


class Transport:
    """Requests to one Ollama base URL through an aiohttp session.

    Without ``session=``, the session is made on first use, on the running
    loop, so a client can be built at module level or in a notebook cell; a
    later loop (a second ``asyncio.run()``) gets a fresh one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str],
        timeout: Timeout,
        limits: Limits,
        follow_redirects: bool = True,
        ssl: _ssl.SSLContext | None = None,
        session: aiohttp.ClientSession | None = None,
        source: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.source = source
        """Where ``base_url`` came from (``OLLAMA_HOST``, the host argument),
        for the message of a failed connection."""
        self.timeout = timeout
        self.limits = limits
        self.follow_redirects = follow_redirects
        self._ssl: _ssl.SSLContext | bool = True if ssl is None else ssl
        self._proxy = env_proxy(base_url) if session is None else None
        self._headers = headers
        # One prepared headers mapping per (streamed, content type): aiohttp
        # copies it into each request.
        self._header_sets: dict[tuple[bool, str | None], CIMultiDict[str]] = {}
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        self._own = session is None
        self._session = session
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        if self._closed:
            raise UsageError(
                "this AsyncClient is closed; create a new one, or make every "
                "call inside its `async with` block"
            )
        if not self._own and self._session is not None and self._session.closed:
            raise UsageError("the aiohttp.ClientSession given to AsyncClient is closed")

    def session(self) -> aiohttp.ClientSession:
        """The session for the running loop, made on first use."""
        self.check_open()
        session = self._session
        if not self._own:
            assert session is not None
            return session
        loop = asyncio.get_running_loop()
        if session is not None and self._loop is loop:
            return session
        if session is not None:
            assert self._loop is not None
            if self._loop.is_running():
                # Its connections belong to a loop that is still serving them.
                raise UsageError(
                    "this AsyncClient is in use on another event loop (another "
                    "thread?); create one client per event loop"
                )
            abandon(session)
        limits = self.limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            limit_per_host=limits.max_connections_per_host or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=self._ssl,
        )
        # aiohttp takes no protocol class; its factory attribute is the seam.
        protocol = functools.partial(DeadlineProtocol, loop=loop)
        connector._factory = protocol  # type: ignore[assignment]
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp_timeout(self.timeout),
            request_class=CheckedRequest,
            response_class=DeadlineResponse,
        )
        # aiohttp re-sends GET/HEAD/DELETE once when a kept-alive connection
        # turns out closed; our Retry policy is the one place that decides.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session, self._loop = session, loop
        return session

    def _request_headers(
        self, content_type: str | None, *, stream: bool
    ) -> CIMultiDict[str]:
        key = (stream, content_type)
        headers = self._header_sets.get(key)
        if headers is None:
            headers = CIMultiDict(self._headers)
            headers.setdefault("Accept", _ACCEPT[stream])
            if content_type is not None:
                headers["Content-Type"] = content_type
            self._header_sets[key] = headers
        return headers

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = URL(self.base_url + path, encoded=True)
            if len(self._urls) < 64:  # blob paths vary; keep the cache small
                self._urls[path] = url
        return url

    async def send(
        self,
        method: str,
        path: str,
        body: bytes | AsyncIterable[bytes] | None = None,
        *,
        timeout: Timeout | None = None,
        content_type: str | None = None,
        stream: bool = False,
        idempotent: bool = True,
        model: str = "",
        loads_model: bool = False,
    ) -> Response:
        """Send a request; return the response once its head arrived with a
        status below 400 (after redirects). ``idempotent`` is the retry
        policy's business, not the transport's: nothing is re-sent here.
        ``model`` and ``loads_model`` are routing hints, unused by one host."""
        session = self.session()
        t = timeout or self.timeout
        client_timeout = self._timeouts.get(t)
        if client_timeout is None:
            client_timeout = self._timeouts[t] = aiohttp_timeout(t)
        if body is not None and content_type is None:
            content_type = "application/json"
        headers = self._request_headers(content_type, stream=stream)
        url = self._url(path)
        # A streamed upload cannot be replayed to follow a 307/308.
        redirects = self.follow_redirects and (body is None or isinstance(body, bytes))
        error: OllamaError | None = None
        task = asyncio.current_task()
        head_timeouts[task] = (t.first_byte, t.read)
        try:
            if self._own:
                response = await self._request(
                    session,
                    method,
                    url,
                    body,
                    headers,
                    client_timeout,
                    redirects=redirects,
                )
            else:
                response = await self._foreign_request(
                    session, method, url, body, headers, t, redirects=redirects
                )
        except asyncio.CancelledError:
            self._pass_on_wakeup()
            if not self._closed_under(task):
                raise
            # aiohttp cancels the calls waiting for a pooled connection when
            # its session closes; the task itself was not cancelled.
            error = UsageError(
                "the AsyncClient was closed while this call waited for a connection"
            )
        except Exception as exc:
            error = self._error(exc, t)
        finally:
            del head_timeouts[task]
        if error is not None:
            raise error  # outside the except block: no chained aiohttp error
        status = response.status
        if status >= 300:
            await self._raise_for_status(response, status)
        return SessionResponse(response, self.base_url, self.source, t)

    def _closed_under(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether a CancelledError in ``task`` came from our session closing
        rather than from someone cancelling the task."""
        if task is None or task.cancelling():
            return False
        return self._closed or (self._session is not None and self._session.closed)

    def _pass_on_wakeup(self) -> None:
        """Wake the next call waiting for a connection, if a slot is free.

        aiohttp hands a freed slot to one waiting call; when that call is
        cancelled or times out before it runs, the slot is not passed on, and
        the other waiters sleep until some later release (with no pool
        timeout: forever). Waking one more is harmless: a waiter that finds
        no slot waits again."""
        session = self._session
        connector = session.connector if session is not None else None
        if connector is not None and connector._waiters:
            connector._release_waiter()

    def _error(self, exc: Exception, t: Timeout) -> OllamaError:
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            self._pass_on_wakeup()  # it may have timed out just as it was woken
            if t.pool is not None and self._pool_full():
                return pool_timeout(self.base_url, t.pool)
        return map_exception(exc, self.base_url, self.source, t)

    def _pool_full(self) -> bool:
        session = self._session
        connector = session.connector if session is not None else None
        if connector is None or not connector.limit:
            return False
        return len(connector._acquired) >= connector.limit

    async def _request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        body: bytes | AsyncIterable[bytes] | None,
        headers: CIMultiDict[str],
        timeout: aiohttp.ClientTimeout,
        *,
        redirects: bool,
    ) -> aiohttp.ClientResponse:
        while True:
            try:
                return await session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=redirects,
                    max_redirects=_AIOHTTP_MAX_REDIRECTS,
                    proxy=self._proxy,
                )
            except StaleConnection:
                continue  # nothing went out on it: not a re-send

    async def _foreign_request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        body: bytes | AsyncIterable[bytes] | None,
        headers: CIMultiDict[str],
        t: Timeout,
        *,
        redirects: bool,
    ) -> aiohttp.ClientResponse:
        """A request through a caller's session, which builds plain aiohttp
        responses: the head's deadline covers connecting too (and the wait
        for a pooled connection when ``pool`` is set), and the checks our
        response class makes while reading the head are made here."""
        timeout = aiohttp_timeout(t, sock_read=t.first_byte)
        parts = (t.first_byte, t.connect, t.pool)
        limit = None if t.first_byte is None else sum(p or 0 for p in parts)
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                response = await session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=redirects,
                    max_redirects=_AIOHTTP_MAX_REDIRECTS,
                )
        except TimeoutError:
            if not deadline.expired():
                raise
            assert limit is not None  # the deadline expired
            raise head_timeout(self.base_url, limit) from None
        try:
            check_status(response.status, self.base_url)
        except RemoteProtocolError:
            response.close()
            raise
        if t.read != t.first_byte:
            # The head is in: from now on `read` bounds the silences.
            connection = response.connection
            protocol = connection.protocol if connection is not None else None
            if protocol is not None:
                protocol.read_timeout = t.read
                if not response.content.is_eof():
                    protocol.start_timeout()
        return response

    async def _raise_for_status(
        self, response: aiohttp.ClientResponse, status: int
    ) -> None:
        if status < 400:
            # A redirect not followed (disabled, or an upload's).
            response.close()
            raise unfollowed_redirect(
                self.base_url,
                status,
                response.headers.get("Location", ""),
                follow_redirects=self.follow_redirects,
            )
        data = await read_error_body(SessionResponse(response, self.base_url))
        error = status_error(status, data, response.headers.get("Retry-After"))
        if status == 404 and self.base_url.endswith("/api"):
            origin = f" (from {self.source})" if self.source else ""
            error.hint = (
                f"the host {self.base_url}{origin} ends in /api, "
                "but the client adds /api/... itself: use "
                f"{self.base_url.removesuffix('/api')}"
            )
        raise error

    async def aclose(self) -> None:
        """Close the session we made (a caller's stays open). Idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is None or not self._own:
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        loop = self._loop
        if loop is current:
            await session.close()
        elif loop is not None and loop.is_running():
            # Its thread closes it.
            asyncio.run_coroutine_threadsafe(session.close(), loop)
        else:
            abandon(session)
