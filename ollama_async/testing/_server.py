"""`FakeOllama`: lifecycle, routing, request log, counters and model residency.

Routing is done here rather than by aiohttp's router so unknown paths, wrong
methods and trailing slashes answer exactly as Ollama's Gin router does. The
server runs with ``handler_cancellation=True`` so that a client closing its
connection cancels the handler at once: that is how `FakeOllama.disconnects`
sees it. Imports aiohttp, msgspec and the standard library, never the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from aiohttp import web
from multidict import CIMultiDictProxy, MultiMapping

from . import _account, _cors, _inference, _management, _openai, _web
from ._exchange import (
    Exchange,
    Handler,
    Reject,
    error_reply,
    json_reply,
    text_reply,
)
from ._faults import BUSY_MESSAGE, FAULT_HEADER, Fault, FaultBook, parse_fault_header
from ._hosts import is_local_host, is_loopback_bind
from ._registry import (
    FakeModel,
    Loaded,
    ModelRegistry,
    parse_name,
    presets,
    remote_presets,
)
from ._slots import Slots, Ticket
from ._users import CloudSource, FakeUser, as_user, check_cloud_source
from ._wire import expiry, try_json

_ROUTES: Final[dict[str, dict[str, Handler]]] = {
    **_inference.ROUTES,
    **_management.ROUTES,
    **_account.ROUTES,
    **_web.ROUTES,
    **_openai.ROUTES,
}
_BLOBS: Final = "/api/blobs/"
# Routes with one path parameter (Gin's ``/api/blobs/:digest``): prefix -> methods.
_PARAM_ROUTES: Final[dict[str, dict[str, Handler]]] = {
    _BLOBS: _management.BLOB_ROUTES,
    _account.USER_KEYS: _account.KEY_ROUTES,
    _openai.MODEL_PREFIX: _openai.MODEL_ROUTES,
}
# Gin lists a 405's Allow methods in the order their trees were first
# registered; Ollama's first routes are HEAD /, GET /, POST, DELETE.
_ALLOW_ORDER: Final = {"HEAD": 0, "GET": 1, "POST": 2, "DELETE": 3}
_QUEUED: Final = frozenset(
    {"/api/generate", "/api/chat", "/api/embed", "/api/embeddings"} | _openai.QUEUED
)
STATS_PATH: Final = "/_fake/stats"
"""``GET``: the counters as JSON (`FakeOllama.stats`), for other processes.
Under a prefix Ollama never uses; not recorded in `FakeOllama.requests`."""


@dataclass
class RecordedRequest:
    """One request as the emulator received it."""

    method: str
    path: str
    headers: CIMultiDictProxy[str]
    query: MultiMapping[str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        return try_json(self.body)


class FakeOllama:
    """An Ollama server emulator on a loopback port, for tests and demos.

    Example:
        >>> async def demo() -> None:
        ...     async with FakeOllama() as server:
        ...         print(server.url)  # http://127.0.0.1:PORT

    Args:
        host, port: where to listen; port 0 picks a free one.
        models: installed models (None: the presets).
        remote_models: extra models `pull` can fetch (names or FakeModel),
            besides the presets that are not installed.
        response_tokens: tokens per generate/chat answer (``num_predict`` caps it).
        tokens_per_second: generation speed (None: as fast as possible).
            Streamed chunks come ``1 / tokens_per_second`` apart; a
            non-streamed answer of N tokens comes after N / tokens_per_second.
        first_token_delay: seconds before the first chunk (and the headers).
        load_delay: seconds to load a model that is not loaded yet.
        num_parallel: how many generate/chat/embed requests run at once
            (None: unlimited), like ``OLLAMA_NUM_PARALLEL`` but for the whole
            server, where Ollama counts each loaded model's. The others wait
            in a queue, first come first served, before their first byte;
            a request runs until its answer is written or its client leaves.
            ``tokens_per_second`` paces each running request.
        max_queue: requests waiting for a slot beyond which requests get
            Ollama's 503 "server busy", like ``OLLAMA_MAX_QUEUE`` (None:
            unlimited; only matters with ``num_parallel``).
        max_concurrency: a cap with no queue: generate/chat/embed requests in
            flight (running or queued) beyond which requests get the same 503
            at once (None: unlimited).
        burst: write many NDJSON lines per socket write, for throughput.
        version: what ``/api/version`` reports.
        fault_seed: seed of the generator that decides ``Fault(probability=...)``.
        allow_any_host: answer requests whatever their ``Host`` header. By
            default, as Ollama does when bound to loopback, a request whose
            ``Host`` names neither this machine nor a private address gets
            403 with an empty body.
        user: the ollama.com account ``/api/me`` reports (a name is shorthand
            for ``FakeUser(name=...)``); None: signed out, so ``/api/me`` is a
            401 with a ``signin_url``. ``/api/signout`` sets it back to None.
        cloud_disabled_by: what turned cloud features off, as ``/api/status``
            reports it: ``"env"`` (``OLLAMA_NO_CLOUD``), ``"config"``
            (``server.json``) or ``"both"``; None: cloud on, source ``"none"``.

    ``user`` and ``cloud_disabled_by`` are also attributes, to change while
    serving: ``server.user = "alice"``, ``server.cloud_disabled_by = "env"``;
    so are the pacing arguments and limits.

    Load counters, for benchmarks (`reset_stats` clears them):

    - ``busy_rejections``: requests answered 503 "server busy" by
      ``max_queue`` or ``max_concurrency`` (not by an injected `Fault`).
    - ``peak_running``: the most generate/chat/embed requests running at
      once; ``running`` and ``queued`` are the counts now.

    A request that only loads or unloads a model (empty prompt, input or
    messages) takes no slot, as in Ollama, where a slot is the runner's and
    such a request never reaches the runner.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Iterable[FakeModel] | None = None,
        remote_models: Iterable[FakeModel | str] = (),
        response_tokens: int = 24,
        tokens_per_second: float | None = None,
        first_token_delay: float = 0.0,
        load_delay: float = 0.0,
        num_parallel: int | None = None,
        max_queue: int | None = None,
        max_concurrency: int | None = None,
        burst: bool = False,
        version: str = "0.33.0",
        fault_seed: int = 0,
        allow_any_host: bool = False,
        user: FakeUser | str | None = None,
        cloud_disabled_by: CloudSource | None = None,
    ) -> None:
        self.host = host
        # Like Ollama: bound to loopback, refuse requests naming another host.
        self._check_host = not allow_any_host and is_loopback_bind(host)
        self.port = port
        self.response_tokens = response_tokens
        self.tokens_per_second = tokens_per_second
        self.first_token_delay = first_token_delay
        self.load_delay = load_delay
        if num_parallel is not None and num_parallel < 1:
            raise ValueError(f"num_parallel must be at least 1, got {num_parallel}")
        if max_queue is not None and max_queue < 0:
            raise ValueError(f"max_queue must be at least 0, got {max_queue}")
        self.num_parallel = num_parallel
        self.max_queue = max_queue
        self.max_concurrency = max_concurrency
        self.burst = burst
        self.version = version
        self.user = user
        self.cloud_disabled_by = cloud_disabled_by
        self.models = ModelRegistry(presets() if models is None else models)
        self.remote = ModelRegistry(
            m for m in remote_presets() if m.key not in self.models
        )
        if models is not None:
            self.remote.update(
                {m.name: m for m in presets() if m.key not in self.models}
            )
        for extra in remote_models:
            self.remote.add(
                extra if isinstance(extra, FakeModel) else FakeModel(name=extra)
            )
        self.blobs: dict[str, int] = {}
        self.loaded: dict[str, Loaded] = {}
        self.requests: list[RecordedRequest] = []
        self._faults = FaultBook(fault_seed)
        self._scripted_calls: defaultdict[str, deque[list[dict[str, Any]]]] = (
            defaultdict(deque)
        )
        self._scripted_replies: defaultdict[str, deque[str]] = defaultdict(deque)
        self._runner: web.ServerRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._changed: asyncio.Event | None = None
        self._inflight = 0
        self._slots = Slots(self._notify)
        self.reset_stats()

    # --- account and cloud state --------------------------------------------------

    @property
    def user(self) -> FakeUser | None:
        """The ollama.com account the server is signed in as (None: signed out)."""
        return self._user

    @user.setter
    def user(self, user: FakeUser | str | None) -> None:
        self._user = as_user(user)

    @property
    def cloud_disabled_by(self) -> CloudSource | None:
        """``"env"``, ``"config"`` or ``"both"`` when cloud is off, else None."""
        return self._cloud_disabled_by

    @cloud_disabled_by.setter
    def cloud_disabled_by(self, source: CloudSource | None) -> None:
        self._cloud_disabled_by = check_cloud_source(source)

    # --- lifecycle -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        if self._runner is None:
            raise RuntimeError("FakeOllama is not started")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None:
            raise RuntimeError("FakeOllama is already started")
        self._stopping = False
        self._changed = asyncio.Event()
        loop = asyncio.get_running_loop()

        def make_request(
            message: Any, payload: Any, protocol: Any, writer: Any, task: Any
        ) -> web.BaseRequest:
            # aiohttp caps bodies at 1 MiB by default; Ollama has no cap (blob
            # uploads, base64 images), so neither do we.
            return web.BaseRequest(
                message,
                payload,
                protocol,
                writer,
                task,
                loop,
                client_max_size=sys.maxsize,
            )

        server = web.Server(
            self._dispatch,
            request_factory=make_request,
            handler_cancellation=True,
            access_log=None,
        )
        runner = web.ServerRunner(server, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving: cancel requests in flight and close every connection."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()

    async def __aenter__(self) -> FakeOllama:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- observability ----------------------------------------------------------

    def reset_stats(self) -> None:
        """Clear the request log, the stream counters and the load counters."""
        self.requests = []
        self.active_streams = 0
        self.completed_streams = 0
        self.disconnects = 0
        self.aborted_streams = 0
        self.busy_rejections = 0
        self._slots.peak = self._slots.running

    def stats(self) -> dict[str, Any]:
        """The counters, as ``GET /_fake/stats`` and ``--stats`` report them."""
        return {
            "requests": len(self.requests),
            "active_streams": self.active_streams,
            "completed_streams": self.completed_streams,
            "disconnects": self.disconnects,
            "aborted_streams": self.aborted_streams,
            "busy_rejections": self.busy_rejections,
            "running": self.running,
            "queued": self.queued,
            "peak_running": self.peak_running,
            "loaded_models": self.loaded_models,
        }

    @property
    def running(self) -> int:
        """Generate/chat/embed requests running now (holding a slot)."""
        return self._slots.running

    @property
    def queued(self) -> int:
        """Generate/chat/embed requests waiting for a slot now."""
        return self._slots.queued

    @property
    def peak_running(self) -> int:
        """The most requests `running` at once since start or `reset_stats`."""
        return self._slots.peak

    async def wait_for_disconnects(self, n: int, timeout: float = 5.0) -> None:
        """Wait until `disconnects` >= n; TimeoutError after ``timeout`` seconds."""
        await self.wait_until(lambda: self.disconnects >= n, timeout)

    async def wait_for_idle(self, timeout: float = 5.0) -> None:
        """Wait until no stream is active; TimeoutError after ``timeout`` seconds."""
        await self.wait_until(lambda: self.active_streams == 0, timeout)

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 5.0
    ) -> None:
        """Wait until ``predicate()`` holds; TimeoutError after ``timeout`` seconds.

        Rechecked on every counter change, and every 50 ms for time-based state
        such as keep-alive expiry.
        """
        async with asyncio.timeout(timeout):
            while not predicate():
                if self._changed is None:
                    self._changed = asyncio.Event()
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)

    @property
    def loaded_models(self) -> list[str]:
        """Names of the models in memory now (as ``/api/ps`` lists them)."""
        return [entry["name"] for entry in self.ps_entries()]

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _stream_opened(self) -> None:
        self.active_streams += 1
        self._notify()

    def _stream_closed(self) -> None:
        self.active_streams -= 1
        self._notify()

    def _stream_completed(self) -> None:
        self.completed_streams += 1
        self._notify()

    def _stream_aborted(self) -> None:
        self.aborted_streams += 1
        self._notify()

    def _client_disconnected(self) -> None:
        self.disconnects += 1
        self._notify()

    # --- faults and scripts ------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        """Inject ``fault`` into the requests it matches (first match wins)."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every global fault."""
        self._faults.clear()

    def script_tool_calls(self, model: str, calls: list[dict[str, Any]]) -> None:
        """Queue the tool calls the next chat request with tools to ``model`` gets.

        Each call is ``{"name": ..., "arguments": {...}}`` (or a wire ``tool_calls``
        element). Queued answers are consumed in order, one per request.
        """
        self._scripted_calls[_required_key(model)].append(calls)

    def script_reply(self, model: str, text: str) -> None:
        """Queue the text of the next generate/chat answer from ``model``."""
        self._scripted_replies[_required_key(model)].append(text)

    def add_blob(self, data: bytes) -> str:
        """Store a blob as if uploaded; returns its ``sha256:<hex>`` digest."""
        import hashlib

        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = len(data)
        return digest

    def _next_calls(self, model: FakeModel) -> list[dict[str, Any]] | None:
        queue = self._scripted_calls.get(model.key)
        return queue.popleft() if queue else None

    def _next_reply(self, model: FakeModel) -> str | None:
        queue = self._scripted_replies.get(model.key)
        return queue.popleft() if queue else model.reply

    # --- model residency --------------------------------------------------------

    async def _load(
        self, model: FakeModel, num_ctx: int | None, *, ticket: Ticket | None
    ) -> int:
        """Make ``model`` resident (sleeping ``load_delay`` if it was not); ns spent.

        This is where Ollama's scheduler queues a request, so a server over
        ``max_concurrency`` or ``max_queue`` answers 503 here, after the
        request's own checks. ``ticket``: the request's, when it will run the
        model, so it first waits for a slot (`_serve` gives it back); None for
        a request that only loads. The wait delays the first byte and counts
        in ``total_duration``, not in the load's nanoseconds.
        """
        if self.max_concurrency is not None and self._inflight > self.max_concurrency:
            raise self._busy()
        if ticket is not None and not await self._slots.take(
            ticket, self.num_parallel, self.max_queue
        ):
            raise self._busy()
        start = time.perf_counter_ns()
        self._expire()
        if model.key not in self.loaded:
            if self.load_delay:
                await asyncio.sleep(self.load_delay)
            ctx = min(num_ctx or 4096, model.context_length)
            self.loaded[model.key] = Loaded(model, expiry(300.0), ctx)
        return max(1, time.perf_counter_ns() - start)

    def _busy(self) -> Reject:
        self.busy_rejections += 1
        self._notify()
        return Reject(error_reply(503, BUSY_MESSAGE))

    def _keep(self, model: FakeModel, keep_alive: float | None) -> None:
        """After a request: keep the model for ``keep_alive`` seconds (0 unloads)."""
        entry = self.loaded.get(model.key)
        if entry is None:
            return
        seconds = 300.0 if keep_alive is None else keep_alive
        if seconds == 0:
            del self.loaded[model.key]
        else:
            entry.expires_at = expiry(seconds)

    def _expire(self) -> None:
        now = expiry(0.0)
        for key in [k for k, v in self.loaded.items() if v.expires_at <= now]:
            del self.loaded[key]

    def ps_entries(self) -> list[dict[str, Any]]:
        """``/api/ps`` models, latest expiry first."""
        self._expire()
        entries = sorted(self.loaded.values(), key=lambda v: v.expires_at, reverse=True)
        return [entry.ps_entry() for entry in entries]

    # --- dispatch ---------------------------------------------------------------

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        exchange: Exchange | None = None
        try:
            if request.path == STATS_PATH and request.method == "GET":
                return json_reply(self.stats())
            is_blob_post = request.method == "POST" and request.path.startswith(_BLOBS)
            body = b"" if is_blob_post else await request.read()
            record = RecordedRequest(
                request.method, request.path, request.headers, request.query, body
            )
            self.requests.append(record)
            # Ollama's first middleware is CORS, then the host check.
            origin = request.headers.get("Origin")
            cors: dict[str, str] = {}
            if origin and _cors.is_cross_origin(origin, request.host):
                if not _cors.allowed(origin):
                    return web.Response(status=403)
                if request.method == "OPTIONS":
                    return web.Response(
                        status=204, headers=_cors.preflight_headers(origin)
                    )
                cors = _cors.response_headers(origin)
            if self._check_host and not is_local_host(request.headers.get("Host")):
                # As Ollama on loopback: a DNS-rebinding guard, empty body.
                return _with(web.Response(status=403), cors)
            handler = self._route(request)
            if isinstance(handler, web.StreamResponse):
                return _with(handler, cors)
            exchange = Exchange(self, request, body, None)
            exchange.headers = cors
            response = await self._serve(exchange, handler)
            if is_blob_post and exchange.body:
                # Blob bodies are read by the handler, only when Ollama would.
                record.body = exchange.body
            return _with(response, cors)
        except asyncio.CancelledError:
            # aiohttp cancels the handler when the peer disconnects; stop() too.
            if not self._stopping:
                if exchange is None:
                    self._client_disconnected()
                else:
                    exchange.client_gone()
            raise
        finally:
            self._tasks.discard(task)

    def _route(self, request: web.BaseRequest) -> Handler | web.StreamResponse:
        path, method = request.path, request.method
        methods = _methods(path)
        if methods is None:
            # Gin redirects a trailing slash only when the bare path has a
            # route for this very method; otherwise it is a plain 404.
            bare = path[:-1]
            if path.endswith("/") and method in (_methods(bare) or ()):
                status = 301 if method == "GET" else 307
                return web.Response(status=status, headers={"Location": bare})
            return text_reply(404, "404 page not found")
        handler = methods.get(method)
        if handler is None:
            allow = ", ".join(sorted(methods, key=lambda m: _ALLOW_ORDER.get(m, 9)))
            return text_reply(405, "405 method not allowed", {"Allow": allow})
        return handler

    async def _serve(self, exchange: Exchange, handler: Handler) -> web.StreamResponse:
        path = exchange.request.path
        data = try_json(exchange.body)
        name = None
        if isinstance(data, dict):
            name = data.get("model") or data.get("name") or data.get("source")
        parsed = parse_name(name) if isinstance(name, str) else None
        header = exchange.request.headers.get(FAULT_HEADER)
        if header is not None:
            try:
                sent = parse_fault_header(header)
            except ValueError as exc:
                return error_reply(400, f"invalid {FAULT_HEADER} header: {exc}")
            exchange.fault = sent if self._faults.fires(sent) else None
        elif (
            parsed is not None
            and (model := self.models.find(name or ""))
            and model.fault
        ):
            exchange.fault = model.fault if self._faults.fires(model.fault) else None
        else:
            exchange.fault = self._faults.take(
                path, parsed.key if parsed else None, _key
            )
        queued = path in _QUEUED
        self._inflight += queued
        try:
            fault = exchange.fault
            if fault is not None and fault.stall_before:
                await asyncio.sleep(fault.stall_before)
            if fault is not None and fault.status is not None:
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                reply = error_reply(
                    fault.status, fault.status_message(), headers=headers
                )
                if path in _openai.ROUTES or path.startswith(_openai.MODEL_PREFIX):
                    return _openai.as_openai_error(reply)
                return reply
            try:
                return await handler(exchange)
            except Reject as reject:
                return reject.response
        finally:
            self._inflight -= queued
            self._slots.give_back(exchange.ticket, self.num_parallel)


def _with(response: web.StreamResponse, headers: dict[str, str]) -> web.StreamResponse:
    """``response`` with ``headers`` added, unless it is already sent (a
    stream, which got them from its `Exchange`)."""
    if headers and not response.prepared:
        response.headers.update(headers)
    return response


def _methods(path: str) -> dict[str, Handler] | None:
    """The handlers by method for ``path``, or None when no route matches it."""
    methods = _ROUTES.get(path)
    if methods is None:
        for prefix, routes in _PARAM_ROUTES.items():
            param = path[len(prefix) :] if path.startswith(prefix) else ""
            if param and "/" not in param:
                return routes
    return methods


def _key(name: str) -> str | None:
    parsed = parse_name(name)
    return parsed.key if parsed else None


def _required_key(name: str) -> str:
    key = _key(name)
    if key is None:
        raise ValueError(f"invalid model name: {name!r}")
    return key
