"""``MultiHostClient``: an ``AsyncClient`` over several Ollama servers,
sending each call through the multi-host router (``_routing``), plus the
calls that act on every host at once (``load``, ``unload``,
``pull_everywhere``)."""

from __future__ import annotations

import asyncio
import copy
import ssl as _ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from . import _args
from ._batch import progress_bar
from ._client import (
    DEFAULT_MAX_BODY_SIZE,
    USE_CLIENT_DEFAULT,
    AsyncClient,
    ClientSettings,
    TimeoutArg,
    client_settings,
)
from ._config import AdaptiveConcurrency, Limits, Telemetry, Timeout, resolve_host
from ._errors import OllamaError, RequestError
from ._lines import DEFAULT_MAX_LINE_SIZE
from ._retry import Retry
from ._routing import HostState, MultiTransport
from ._tls import TlsOptions, VerifyArg
from ._transport import BaseTransport, Session, Transport

__all__ = ["MultiHostClient"]

_SOURCE = "MultiHostClient's hosts"


@dataclass(frozen=True, kw_only=True)
class _FleetSettings(ClientSettings):
    """A :class:`MultiHostClient`'s configuration: what its pickle carries."""

    hosts: tuple[str, ...]
    refresh_interval: float
    min_backoff: float
    max_backoff: float
    cold_penalty: int
    concurrency: AdaptiveConcurrency | int | None


def _host_at(index: int, host: str) -> str:
    try:
        return resolve_host(host)
    except RequestError as exc:
        raise RequestError(f"{exc} (from hosts[{index}])") from None


class MultiHostClient(AsyncClient):
    """An :class:`AsyncClient` over several Ollama servers::

        hosts = ["http://gpu1:11434", "http://gpu2:11434", "http://gpu3:11434"]
        async with MultiHostClient(hosts) as client:
            replies = await asyncio.gather(*(client.chat("llama3.2", m) for m in batch))

    Every method of :class:`AsyncClient` works, and each call goes to one
    host. :meth:`load`, :meth:`unload` and :meth:`pull_everywhere` act on
    every host; for other per-host calls (``ps``, ``delete``, ...) use
    ``client.host(url)``.

    Args:
        hosts: base URLs or any form ``OLLAMA_HOST`` accepts.
        concurrency: how many requests run on one host at once. By default
            each host's limit adapts to what it takes
            (:class:`AdaptiveConcurrency`): it grows while the host answers
            and shrinks on 503, 429 and a rising time to first byte, and the
            requests beyond every host's limit wait in the client. An int
            fixes the limit; ``None`` sends everything at once (only the
            servers' queues and the connection pool hold requests back).
        refresh_interval: seconds between ``/api/ps`` polls that tell which
            models each host has loaded (0 disables the polls).
        min_backoff, max_backoff: seconds a failing host is left out, doubled
            per consecutive failure.
        cold_penalty: requests in flight on a host that has the model loaded
            that weigh as much as loading it on an idle host.

    ``limits`` applies to each host. With ``Timeout.pool`` set, a request
    that finds no room on any host for that long raises :class:`PoolTimeout`.
    Other arguments are as for :class:`AsyncClient` (``session=`` excepted:
    each host has its own connections).
    """

    _bound_url: str | None = None  # set on the views host() returns

    def __init__(
        self,
        hosts: Sequence[str],
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: Timeout | float | None = Timeout(),  # noqa: B008 - frozen value
        limits: Limits = Limits(),  # noqa: B008 - frozen value
        retry: Retry | None = Retry(),  # noqa: B008 - frozen value
        follow_redirects: bool = True,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        concurrency: AdaptiveConcurrency | int | None = AdaptiveConcurrency(),  # noqa: B008 - frozen value
        refresh_interval: float = 10.0,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        cold_penalty: int = 4,
        ssl: _ssl.SSLContext | None = None,
        verify: VerifyArg = True,
        dangerously_skip_tls_verify: bool = False,
        telemetry: Telemetry | bool = True,
    ) -> None:
        if isinstance(hosts, str) or not isinstance(hosts, Sequence) or not hosts:
            raise RequestError("hosts must be a non-empty list of base URLs")
        urls = tuple(dict.fromkeys(_host_at(i, h) for i, h in enumerate(hosts)))
        _args.instance_of(
            "concurrency", concurrency, (AdaptiveConcurrency, int, type(None))
        )
        if isinstance(concurrency, int):
            _args.positive_int("concurrency", concurrency)
        _args.seconds("refresh_interval", refresh_interval, optional=False, zero=True)
        _args.seconds("min_backoff", min_backoff, optional=False, zero=True)
        _args.seconds("max_backoff", max_backoff, optional=False, zero=True)
        _args.instance_of("cold_penalty", cold_penalty, int)
        _args.int_arg("cold_penalty", cold_penalty, 0, 1 << 20)
        one = client_settings(
            urls[0],
            headers=headers,
            auth=auth,
            timeout=timeout,
            limits=limits,
            follow_redirects=follow_redirects,
            max_line_size=max_line_size,
            max_body_size=max_body_size,
            retry=retry,
            tls=TlsOptions(
                ssl=ssl, verify=verify, skip_verify=dangerously_skip_tls_verify
            ),
            telemetry=telemetry,
        )
        shared = {f.name: getattr(one, f.name) for f in fields(one)}
        shared.update(base_url=", ".join(urls), source=_SOURCE)
        settings = _FleetSettings(
            **shared,
            hosts=urls,
            refresh_interval=refresh_interval,
            min_backoff=min_backoff,
            max_backoff=max_backoff,
            cold_penalty=cold_penalty,
            concurrency=concurrency,
        )
        self._setup(settings, settings.tls.context(settings.base_url))

    def _make_transport(
        self,
        settings: ClientSettings,
        context: _ssl.SSLContext | None,
        session: Session | None,
    ) -> BaseTransport:
        assert isinstance(settings, _FleetSettings) and session is None
        states = [
            HostState(
                Transport(
                    url,
                    headers=dict(settings.headers),
                    timeout=settings.timeout,
                    limits=settings.limits,
                    follow_redirects=settings.follow_redirects,
                    ssl=context,
                    source=_SOURCE,
                )
            )
            for url in settings.hosts
        ]
        self._multi = MultiTransport(
            states,
            timeout=settings.timeout,
            refresh_interval=settings.refresh_interval,
            min_backoff=settings.min_backoff,
            max_backoff=settings.max_backoff,
            cold_penalty=settings.cold_penalty,
            concurrency=settings.concurrency,
        )
        return self._multi

    def _apply_view(self, view: Mapping[str, Any]) -> None:
        super()._apply_view(view)
        bound = view.get("_bound_url")
        if bound is not None:  # a pickled host(url): bound again to that host
            self._transport = self._state(bound).transport

    @property
    def hosts(self) -> list[HostState]:
        """Each host's state: in-flight requests, concurrency limit, loaded
        models, health."""
        return list(self._multi.hosts)

    def _state(self, url: str) -> HostState:
        wanted = resolve_host(url)
        for state in self._multi.hosts:
            if state.url == wanted:
                return state
        raise RequestError(f"{url!r} is not one of this client's hosts")

    def host(self, url: str) -> AsyncClient:
        """A client bound to one of the hosts (sharing its connections), for
        per-host calls such as ``ps`` or ``delete``."""
        state = self._state(url)
        clone = copy.copy(self)
        clone._transport = state.transport
        clone._bound_url = state.url
        return clone

    # -- every host at once -----------------------------------------------------

    async def load(
        self,
        model: str,
        *,
        keep_alive: float | str | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        progress: bool | Mapping[str, Any] = False,
    ) -> None:
        """Load ``model`` on every host at once (warm the fleet), so that no
        call waits for a model load. ``progress`` shows a bar of hosts done.
        Every host is tried; failures are raised together afterwards as an
        :class:`ExceptionGroup` (use ``except*``), each noted with its host."""
        model = _args.non_empty_str("model", model)

        async def one(client: AsyncClient, bar: Any) -> None:
            await AsyncClient.load(
                client, model, keep_alive=keep_alive, timeout=timeout
            )

        await self._every_host(f"loading {model}", one, progress=progress, unit="host")

    async def unload(
        self, model: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> None:
        """Unload ``model`` from every host. Failures are raised together as
        an :class:`ExceptionGroup`, each noted with its host."""
        model = _args.non_empty_str("model", model)

        async def one(client: AsyncClient, bar: Any) -> None:
            await AsyncClient.unload(client, model, timeout=timeout)

        await self._every_host(f"unloading {model}", one, unit="host")

    async def pull_everywhere(
        self,
        model: str,
        *,
        insecure: bool = False,
        progress: bool | Mapping[str, Any] = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> None:
        """Pull ``model`` to every host at once. ``progress`` shows one bar
        per host, in bytes, with rate and time left (needs tqdm, from the
        ``progress`` extra). Every host is tried; failures are raised together
        afterwards as an :class:`ExceptionGroup`, each noted with its host."""
        model = _args.non_empty_str("model", model)
        _args.flag("insecure", insecure)
        _args.progress_arg(progress)

        async def one(client: AsyncClient, bar: Any) -> None:
            totals: dict[str, tuple[int, int]] = {}  # digest: (completed, total)
            stream = client.pull(model, insecure=insecure, stream=True, timeout=timeout)
            async with stream:
                async for part in stream:
                    if part.digest and part.total:
                        totals[part.digest] = (part.completed or 0, part.total)
                    if bar is not None:
                        bar.total = sum(t for _, t in totals.values()) or None
                        bar.n = sum(c for c, _ in totals.values())
                        bar.set_postfix_str(part.status or "", refresh=False)
                        bar.refresh()

        await self._every_host(
            f"pulling {model}", one, progress=progress, per_host=True
        )

    async def _every_host(
        self,
        what: str,
        call: Callable[[AsyncClient, Any], Awaitable[None]],
        *,
        progress: bool | Mapping[str, Any] = False,
        per_host: bool = False,
        unit: str = "B",
    ) -> None:
        """``call`` on every host at once. ``per_host``: one bar per host (in
        bytes), else one bar counting hosts done."""
        states = self._multi.hosts
        bars: list[Any] = []
        if per_host:
            bars = [
                progress_bar(
                    progress=progress,
                    desc=state.url,
                    position=i,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    leave=True,
                )
                for i, state in enumerate(states)
            ]
            overall = None
        else:
            overall = progress_bar(
                progress=progress, desc=what, total=len(states), unit=unit
            )

        async def run(i: int, state: HostState) -> None:
            try:
                await call(self.host(state.url), bars[i] if bars else None)
            except OllamaError as exc:
                exc.add_note(f"on host {state.url}")
                raise
            finally:
                if overall is not None:
                    overall.update(1)

        try:
            results = await asyncio.gather(
                *(run(i, s) for i, s in enumerate(states)), return_exceptions=True
            )
        finally:
            for bar in [*bars, overall]:
                if bar is not None:
                    bar.close()
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if not isinstance(failure, Exception):
                raise failure  # a cancellation or exit, not a host's failure
        if failures:
            raise ExceptionGroup(
                f"{what} failed on {len(failures)} of {len(states)} hosts",
                [f for f in failures if isinstance(f, Exception)],
            )

    def __repr__(self) -> str:
        state = "closed" if self.is_closed else "open"
        return f"<MultiHostClient {len(self._multi.hosts)} hosts ({state})>"
