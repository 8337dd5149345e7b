"""Multi-host routing: the transport interface over several hosts'
transports, used by ``MultiHostClient``.

Each request goes to the healthy host with the fewest requests in flight,
counting a host without the request's model loaded as ``cold_penalty``
requests busier (loaded models are learnt from ``/api/ps`` and from the
requests themselves). A host that refuses connections is taken out and
probed back with exponential backoff; a request that failed before its first
response byte fails over to another host. The model comes from the caller,
never from re-reading the body.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterable, Mapping
from typing import Final

import msgspec

from ._config import Timeout
from ._endpoints import PS
from ._errors import (
    ConnectError,
    ConnectTimeout,
    OllamaError,
    PoolTimeout,
    RemoteProtocolError,
    ServerBusyError,
)
from ._transport import Response, Transport, read_body

__all__ = ["HostState", "MultiTransport"]

# Failures that prove the request never reached the host (or the host never
# answered it): the request can go elsewhere.
_UNREACHABLE: Final = (ConnectError, ConnectTimeout)


def _normalise(name: str) -> str:
    name = name.lower()
    return name if ":" in name.rpartition("/")[2] else f"{name}:latest"


class HostState:
    """What the client knows of one host (read-only for callers)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.url = transport.base_url
        self.in_flight = 0
        """Requests sent and not yet finished."""
        self.loaded: set[str] = set()
        """Models believed loaded (normalised names)."""
        self.failures = 0
        """Consecutive failures to reach the host."""
        self.down_until = 0.0
        """Loop time before which the host is not tried (0: healthy)."""

    def __repr__(self) -> str:
        state = "down" if self.failures else "up"
        return f"<HostState {self.url} {state} in_flight={self.in_flight}>"


class _TrackedResponse:
    """A response that counts as in flight on its host until released."""

    __slots__ = ("_done", "_host", "_response", "headers", "status")

    def __init__(self, response: Response, host: HostState) -> None:
        self._response = response
        self._host = host
        self._done = False
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def readany(self) -> bytes:
        return await self._response.readany()

    def at_eof(self) -> bool:
        return self._response.at_eof()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._host.in_flight -= 1

    def release(self) -> None:
        self._finish()
        self._response.release()

    def close(self) -> None:
        self._finish()
        self._response.close()

    def map_failure(self, exc: BaseException) -> OllamaError:
        return self._response.map_failure(exc)


class MultiTransport:
    """The transport interface over several hosts' transports."""

    def __init__(
        self,
        hosts: list[HostState],
        *,
        timeout: Timeout,
        refresh_interval: float,
        min_backoff: float,
        max_backoff: float,
        cold_penalty: int,
    ) -> None:
        self.hosts = hosts
        self._cold_penalty = cold_penalty
        self.base_url = ", ".join(h.url for h in hosts)
        self.timeout = timeout
        self._refresh_interval = refresh_interval
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._refreshed_at: float | None = None
        self._refreshing: asyncio.Future[None] | None = None
        self._turn = itertools.count()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        self.hosts[0].transport.check_open()

    # -- health ------------------------------------------------------------------

    def _mark_down(self, host: HostState) -> None:
        now = asyncio.get_running_loop().time()
        if host.down_until > now:
            return  # the requests in flight when it died count as one failure
        host.failures += 1
        backoff = min(self._max_backoff, self._min_backoff * 2 ** (host.failures - 1))
        host.down_until = now + backoff

    @staticmethod
    def _mark_up(host: HostState) -> None:
        host.failures = 0
        host.down_until = 0.0

    def _pick(self, model: str, tried: set[HostState]) -> HostState | None:
        now = asyncio.get_running_loop().time()
        fresh = [h for h in self.hosts if h not in tried]
        if not fresh:
            return None
        up = [h for h in fresh if h.down_until <= now]
        if not up:
            # Every untried host is backing off: probe the one due first
            # rather than fail without trying.
            return min(fresh, key=lambda h: h.down_until)
        penalty = self._cold_penalty if model else 0

        def load(host: HostState) -> int:
            # A host without the model must load it first: worth waiting for
            # a few requests on a host that has it.
            return host.in_flight + (0 if model in host.loaded else penalty)

        least = min(load(h) for h in up)
        candidates = [h for h in up if load(h) == least]
        return candidates[next(self._turn) % len(candidates)]

    async def _refresh(self) -> None:
        """Learn which models each host has loaded (``/api/ps``)."""
        loop = asyncio.get_running_loop()
        if self._refreshed_at is not None and (
            loop.time() - self._refreshed_at < self._refresh_interval
        ):
            return
        if self._refreshing is not None:
            await asyncio.shield(self._refreshing)
            return
        self._refreshing = loop.create_future()
        try:
            short = Timeout(connect=2, first_byte=2, read=2, total=5)
            await asyncio.gather(
                *(
                    self._refresh_host(h, short)
                    for h in self.hosts
                    if h.down_until <= loop.time()
                )
            )
            self._refreshed_at = loop.time()
        finally:
            self._refreshing.set_result(None)
            self._refreshing = None

    async def _refresh_host(self, host: HostState, timeout: Timeout) -> None:
        try:
            response = await host.transport.send("GET", "/api/ps", timeout=timeout)
            data = await read_body(response, 16 * 1024 * 1024)
            reply = PS.decode(data)
        except _UNREACHABLE:
            self._mark_down(host)
            return
        except (
            OllamaError,
            msgspec.DecodeError,
            msgspec.ValidationError,
            UnicodeDecodeError,
        ):
            return  # an old or odd server: routing just loses its hint
        host.loaded = {_normalise(m.model or m.name) for m in reply.models}

    # -- requests ------------------------------------------------------------------

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
        self.check_open()
        model = _normalise(model) if model else ""
        if model and self._refresh_interval > 0:
            await self._refresh()
        tried: set[HostState] = set()
        last: OllamaError | None = None
        while (host := self._pick(model, tried)) is not None:
            tried.add(host)
            host.in_flight += 1
            try:
                response = await host.transport.send(
                    method,
                    path,
                    body,
                    timeout=timeout,
                    content_type=content_type,
                    stream=stream,
                    idempotent=idempotent,
                    model=model,
                    loads_model=loads_model,
                )
            except _UNREACHABLE as exc:
                host.in_flight -= 1
                self._mark_down(host)
                last = exc
                if isinstance(body, AsyncIterable):
                    raise  # an upload cannot be replayed
                continue
            except (ServerBusyError, RemoteProtocolError, PoolTimeout) as exc:
                host.in_flight -= 1
                if not idempotent or isinstance(body, AsyncIterable):
                    raise
                if isinstance(exc, RemoteProtocolError):
                    self._mark_down(host)
                last = exc
                continue
            except BaseException:
                host.in_flight -= 1
                raise
            self._mark_up(host)
            if model and loads_model:
                host.loaded.add(model)
            return _TrackedResponse(response, host)
        assert last is not None
        raise last

    async def aclose(self) -> None:
        self._closed = True
        await asyncio.gather(*(h.transport.aclose() for h in self.hosts))
