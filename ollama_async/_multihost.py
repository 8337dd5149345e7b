"""``MultiHostClient``: an ``AsyncClient`` over several Ollama servers,
sending each call through the multi-host router (``_routing``)."""

from __future__ import annotations

import copy
import ssl as _ssl
from collections.abc import Mapping, Sequence

from ._client import DEFAULT_MAX_BODY_SIZE, AsyncClient
from ._config import Limits, Timeout, resolve_host
from ._errors import RequestError
from ._lines import DEFAULT_MAX_LINE_SIZE
from ._retry import Retry
from ._routing import HostState, MultiTransport
from ._tls import VerifyArg, tls_context
from ._transport import Transport, default_headers

__all__ = ["MultiHostClient"]


class MultiHostClient(AsyncClient):
    """An :class:`AsyncClient` over several Ollama servers::

        hosts = ["http://gpu1:11434", "http://gpu2:11434", "http://gpu3:11434"]
        async with MultiHostClient(hosts) as client:
            replies = await asyncio.gather(*(client.chat("llama3.2", m) for m in batch))

    Every method of :class:`AsyncClient` works. Model management calls
    (``pull``, ``create``, ``delete``, ...) go to one host like any other
    call: run them per host with ``client.host(url)``.

    Args:
        hosts: base URLs or any form ``OLLAMA_HOST`` accepts.
        refresh_interval: seconds between ``/api/ps`` polls that tell which
            models each host has loaded (0 disables the polls).
        min_backoff, max_backoff: seconds a failing host is left out, doubled
            per consecutive failure.
        cold_penalty: requests in flight on a host that has the model loaded
            that weigh as much as loading it on an idle host.

    ``limits`` applies to each host. Other arguments are as for
    :class:`AsyncClient`.
    """

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
        refresh_interval: float = 10.0,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        cold_penalty: int = 4,
        ssl: _ssl.SSLContext | None = None,
        verify: VerifyArg = True,
        dangerously_skip_tls_verify: bool = False,
    ) -> None:
        if isinstance(hosts, str) or not hosts:
            raise RequestError("hosts must be a non-empty list of base URLs")
        urls = list(dict.fromkeys(resolve_host(h) for h in hosts))
        context = tls_context(
            ssl=ssl,
            verify=verify,
            skip_verify=dangerously_skip_tls_verify,
            where=", ".join(urls),
        )
        super().__init__(
            urls[0],
            headers=headers,
            auth=auth,
            timeout=timeout,
            limits=limits,
            retry=retry,
            follow_redirects=follow_redirects,
            max_line_size=max_line_size,
            max_body_size=max_body_size,
            ssl=context,
        )
        merged = default_headers(headers, auth)
        states = [
            HostState(
                Transport(
                    url,
                    headers=merged,
                    timeout=Timeout.of(timeout),
                    limits=limits,
                    follow_redirects=follow_redirects,
                    ssl=context,
                    source="MultiHostClient's hosts",
                )
            )
            for url in urls
        ]
        self._multi = MultiTransport(
            states,
            timeout=Timeout.of(timeout),
            refresh_interval=refresh_interval,
            min_backoff=min_backoff,
            max_backoff=max_backoff,
            cold_penalty=cold_penalty,
        )
        self._transport = self._multi

    @property
    def hosts(self) -> list[HostState]:
        """Each host's state: in-flight requests, loaded models, health."""
        return list(self._multi.hosts)

    def host(self, url: str) -> AsyncClient:
        """A client bound to one of the hosts (sharing its connections), for
        per-host calls such as ``pull`` or ``ps``."""
        wanted = resolve_host(url)
        for state in self._multi.hosts:
            if state.url == wanted:
                clone = copy.copy(self)
                clone._transport = state.transport
                return clone
        raise RequestError(f"{url!r} is not one of this client's hosts")

    def __repr__(self) -> str:
        state = "closed" if self.is_closed else "open"
        return f"<MultiHostClient {len(self._multi.hosts)} hosts ({state})>"
