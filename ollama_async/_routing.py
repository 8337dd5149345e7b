"""Multi-host routing: the transport interface over several hosts'
transports, used by ``MultiHostClient``.

Each request goes to the healthy host with the fewest requests in flight,
counting a host without the request's model loaded as ``cold_penalty``
requests busier (loaded models are learnt from ``/api/ps`` and from the
requests themselves). A host that refuses connections is taken out and
probed back with exponential backoff; a request that failed before its first
response byte fails over to another host. The model comes from the caller,
never from re-reading the body.

With :class:`AdaptiveConcurrency`, each host also has an allowance of
requests at once that grows while it answers and shrinks on 503s, 429s and a
growing time to first byte (AIMD); requests beyond every host's allowance
wait here, first come first served, rather than in the servers' queues.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterable, Mapping
from typing import Final

import msgspec

from ._config import AdaptiveConcurrency, Timeout
from ._endpoints import PS
from ._errors import (
    ConnectError,
    ConnectTimeout,
    OllamaError,
    PoolTimeout,
    RateLimitError,
    RemoteProtocolError,
    ServerBusyError,
    StatusError,
)
from ._telemetry import CURRENT_CALL
from ._transport import Response, Transport, no_room_timeout, read_body

__all__ = ["HostState", "MultiTransport"]

# Failures that prove the request never reached the host (or the host never
# answered it): the request can go elsewhere.
_UNREACHABLE: Final = (ConnectError, ConnectTimeout)
# Answers that say "not now" without having done anything: overload.
_OVERLOADED: Final = (ServerBusyError, RateLimitError)
# The first-byte time of one answer moves the host's recent average this much.
_LATENCY_WEIGHT: Final = 0.3
# A host's usual first-byte time is the fastest single answer of this many
# recent seconds. A baseline that crept up per answer instead (as the lowest
# average, drifting) climbed to the queued level within a minute of sharing a
# host with other clients, and the latency signal went quiet; a fast answer
# comes often enough, as every cut drains some queue, and a window still
# follows a host that became slower for good.
_BASELINE_WINDOW: Final = 60.0
# After a 503 or 429, a host gets nothing new from this client for about the
# time a slot there takes to free (its usual first-byte time), within these
# bounds, unless the answer said how long (Retry-After). Without a pause, each
# fast 503 released room that a waiting request took at once, and a client
# whose allowance was already cut sent a burst of requests into a full queue.
_PAUSE_MIN: Final = 0.05
_PAUSE_MAX: Final = 2.0
# Seconds of extra first-byte time that count as a queue at all: below this,
# ratios of tiny times (an idle emulator) are noise.
_LATENCY_SLACK: Final = 0.05


def _normalise(name: str) -> str:
    name = name.lower()
    return name if ":" in name.rpartition("/")[2] else f"{name}:latest"


def _fastest_recent(
    window: deque[tuple[float, float]], sample: float, now: float
) -> float:
    """Add ``sample`` to the sliding window, and return its minimum."""
    while window and window[-1][1] >= sample:
        window.pop()  # never the minimum again: ``sample`` is newer and faster
    window.append((now, sample))
    while window[0][0] < now - _BASELINE_WINDOW:
        window.popleft()
    return window[0][1]


def _record_failover(host: HostState, exc: OllamaError) -> None:
    """Tell the traced call being sent, if any, that ``host`` failed it and
    another host is tried (or, with none left, the error is raised)."""
    record = CURRENT_CALL.get()
    if record is not None:
        record.failed_over(host.url, exc)


class HostState:
    """What the client knows of one host (read-only for callers)."""

    def __init__(self, transport: Transport, *, allowance: float = 0.0) -> None:
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
        self.allowance = allowance
        """Requests at once this host is given now (adaptive concurrency;
        0 when the client does not limit it)."""
        self.overloads = 0
        """503 and 429 answers received from this host."""
        self.decreases = 0
        """Times the allowance was cut (by a 503, a 429 or latency)."""
        self.latency: float | None = None
        """Recent average time to first byte, in seconds."""
        self.usual_latency: float | None = None
        """The fastest first byte of the last minute: what the host takes
        when not queueing."""
        self._last_decrease = -1.0
        self.paused_until = 0.0
        """Loop time before which nothing new is sent to it, after an
        overload (adaptive concurrency)."""
        # (loop time, first-byte time), times increasing: the window's
        # minimum is the first, in O(1) amortised per answer.
        self._fastest: deque[tuple[float, float]] = deque()

    @property
    def limit(self) -> int | None:
        """Requests at once this host is given now (None: no limit)."""
        return max(1, int(self.allowance)) if self.allowance else None

    def __repr__(self) -> str:
        state = "down" if self.failures else "up"
        limit = f" limit={self.limit}" if self.allowance else ""
        return f"<HostState {self.url} {state} in_flight={self.in_flight}{limit}>"


class _TrackedResponse:
    """A response that counts as in flight on its host until released."""

    __slots__ = (
        "_done",
        "_host",
        "_response",
        "_router",
        "base_url",
        "headers",
        "status",
    )

    def __init__(
        self, response: Response, host: HostState, router: MultiTransport
    ) -> None:
        self._response = response
        self._host = host
        self._router = router
        self._done = False
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.base_url = host.url

    async def readany(self) -> bytes:
        return await self._response.readany()

    def at_eof(self) -> bool:
        return self._response.at_eof()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._router.release(self._host)

    def release(self) -> None:
        self._finish()
        self._response.release()

    def close(self) -> None:
        self._finish()
        self._response.close()

    def map_failure(self, exc: BaseException) -> OllamaError:
        return self._response.map_failure(exc)


class _Full:
    """``_pick``'s answer when untried hosts are up but all at their limit."""


_FULL: Final = _Full()


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
        concurrency: AdaptiveConcurrency | int | None,
    ) -> None:
        self.hosts = hosts
        self._cold_penalty = cold_penalty
        self.base_url = ", ".join(h.url for h in hosts)
        self.timeout = timeout
        self._refresh_interval = refresh_interval
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._adaptive = (
            concurrency if isinstance(concurrency, AdaptiveConcurrency) else None
        )
        if isinstance(concurrency, AdaptiveConcurrency):
            start = float(concurrency.initial)
        else:
            start = float(concurrency or 0)
        for host in hosts:
            host.allowance = start
        self._refreshed_at: float | None = None
        self._refreshing: asyncio.Future[None] | None = None
        self._turn = itertools.count()
        # Requests waiting for room on some host, first come first served.
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._waiting = 0  # requests in _wait_for_room, woken or not
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

    # -- adaptive concurrency ----------------------------------------------------

    def _answered(self, host: HostState, first_byte: float, sent_at: float) -> None:
        """A response head arrived ``first_byte`` seconds after sending."""
        policy = self._adaptive
        if policy is None:
            return
        average = host.latency
        average = (
            first_byte
            if average is None
            else (average + _LATENCY_WEIGHT * (first_byte - average))
        )
        usual = host.usual_latency
        host.latency = average
        host.usual_latency = _fastest_recent(
            host._fastest, first_byte, sent_at + first_byte
        )
        tolerance = policy.latency_tolerance
        if (
            tolerance is not None
            and usual is not None
            and average > usual * tolerance
            and average - usual > _LATENCY_SLACK
        ):
            self._decrease(host, sent_at)  # its queue grows: back off
            return
        limit = host.limit
        assert limit is not None
        if host.in_flight < limit or host.allowance >= policy.maximum:
            return  # an allowance it does not use proves nothing
        if host.decreases:
            grown = host.allowance + 1 / host.allowance  # about +1 per round
        else:
            grown = host.allowance + 1  # never overloaded yet: double per round
        host.allowance = min(float(policy.maximum), grown)
        if host.limit != limit:
            self._wake()

    def _pause(self, host: HostState, exc: StatusError) -> None:
        """``host`` answered 503 or 429: send it nothing new for a while."""
        if self._adaptive is None:
            return
        loop = asyncio.get_running_loop()
        wait = exc.retry_after or host.usual_latency or _PAUSE_MIN
        until = loop.time() + min(max(wait, _PAUSE_MIN), _PAUSE_MAX)
        if until > host.paused_until:
            host.paused_until = until
            loop.call_at(until, self._resume, host, until)

    def _resume(self, host: HostState, until: float) -> None:
        """A pause ended: wake as many waiters as there is room on ``host``
        (a release wakes one; here several may fit at once)."""
        if host.paused_until != until:
            return  # paused again since; that pause's timer wakes them
        limit = host.limit or 1
        for _ in range(max(1, limit - host.in_flight)):
            self._wake()

    def _decrease(self, host: HostState, sent_at: float) -> None:
        policy = self._adaptive
        if policy is None or sent_at < host._last_decrease:
            return  # sent before the last cut: the same overload, counted once
        host.allowance = max(float(policy.minimum), host.allowance * policy.decrease)
        host._last_decrease = asyncio.get_running_loop().time()
        host.decreases += 1

    def release(self, host: HostState) -> None:
        """A request on ``host`` finished: its room goes to the next waiter."""
        host.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _wait_for_room(self, pool: float | None, *, again: bool) -> None:
        """Wait until a request ends somewhere. ``again``: this request was
        woken before and lost the room, so it keeps its place at the front."""
        waiter = asyncio.get_running_loop().create_future()
        if again:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        self._waiting += 1
        try:
            async with asyncio.timeout(pool):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # woken just as it gave up: pass the room on
            else:
                waiter.cancel()  # _wake skips it; no O(n) removal
            if isinstance(exc, TimeoutError) and pool is not None:
                raise no_room_timeout(self.base_url, pool) from None
            raise
        finally:
            self._waiting -= 1

    @staticmethod
    def _has_room(host: HostState, now: float) -> bool:
        limit = host.limit
        if limit is None:
            return True
        return host.in_flight < limit and host.paused_until <= now

    def _pick(self, model: str, tried: set[HostState]) -> HostState | _Full | None:
        now = asyncio.get_running_loop().time()
        fresh = [h for h in self.hosts if h not in tried]
        if not fresh:
            return None
        up = [h for h in fresh if h.down_until <= now]
        if not up:
            # Every untried host is backing off: probe the one due first
            # rather than fail without trying.
            return min(fresh, key=lambda h: h.down_until)
        open_ = [h for h in up if self._has_room(h, now)]
        if not open_:
            return _FULL
        penalty = self._cold_penalty if model else 0

        def load(host: HostState) -> int:
            # A host without the model must load it first: worth waiting for
            # a few requests on a host that has it.
            return host.in_flight + (0 if model in host.loaded else penalty)

        least = min(load(h) for h in open_)
        candidates = [h for h in open_ if load(h) == least]
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
        loop = asyncio.get_running_loop()
        waited = False
        while (host := self._pick(model, tried)) is not None:
            if isinstance(host, _Full) or (self._waiting and not waited):
                # Every host this request may still go to is at its limit, or
                # others wait already: first come, first served.
                if not isinstance(host, _Full):
                    self._wake()  # the room there is the first waiter's
                await self._wait_for_room((timeout or self.timeout).pool, again=waited)
                waited = True
                continue
            tried.add(host)
            host.in_flight += 1
            sent_at = loop.time()
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
                self.release(host)
                self._mark_down(host)
                last = exc
                if isinstance(body, AsyncIterable):
                    raise  # an upload cannot be replayed
                _record_failover(host, exc)
                continue
            except (*_OVERLOADED, RemoteProtocolError, PoolTimeout) as exc:
                self.release(host)
                if isinstance(exc, _OVERLOADED):
                    host.overloads += 1
                    self._decrease(host, sent_at)
                    self._pause(host, exc)
                if not idempotent or isinstance(body, AsyncIterable):
                    raise
                if isinstance(exc, RemoteProtocolError):
                    self._mark_down(host)
                last = exc
                _record_failover(host, exc)
                continue
            except BaseException:
                self.release(host)
                raise
            self._mark_up(host)
            self._answered(host, loop.time() - sent_at, sent_at)
            if model and loads_model:
                host.loaded.add(model)
            return _TrackedResponse(response, host, self)
        assert last is not None
        raise last

    async def aclose(self) -> None:
        self._closed = True
        await asyncio.gather(*(h.transport.aclose() for h in self.hosts))
