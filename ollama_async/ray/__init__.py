"""Ollama calls over a Ray Dataset, on a pool of async actors.

::

    import ray
    from ollama_async.ray import OllamaProcessorConfig, build_ollama_processor

    config = OllamaProcessorConfig(
        model="llama3.2",
        hosts=["http://gpu1:11434", "http://gpu2:11434"],
        concurrency=4,  # actors
        max_concurrent_requests=16,  # per actor
    )
    processor = build_ollama_processor(
        config,
        preprocess=lambda row: {"prompt": f"Summarise: {row['text']}"},
        postprocess=lambda row: {"id": row["id"], "summary": row["generated_text"]},
    )
    ds = processor(ray.data.read_parquet("s3://bucket/docs/"))

The names follow ``ray.data.llm``: a config, ``build_*_processor(config,
preprocess=..., postprocess=...)`` and the same columns. Rows are mapped to
calls, and answers to columns, by :func:`ollama_async.process_row`; a row
that fails gets ``__inference_error__`` and never fails its block.

Needs the ``ray`` extra: ``pip install 'ollama-async[ray]'``. Imports Ray and
the public API of ``ollama_async``, nothing private.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

try:
    import ray.data
except ImportError as exc:  # pragma: no cover - the test environment has Ray
    raise ImportError(
        "ollama_async.ray needs Ray Data: pip install 'ollama-async[ray]'"
    ) from exc

from ollama_async import (
    AsyncClient,
    MultiHostClient,
    RequestError,
    Retry,
    RowJob,
    Timeout,
    process_row,
)

__all__ = [
    "OllamaProcessor",
    "OllamaProcessorConfig",
    "OllamaUDF",
    "build_ollama_processor",
]

RowFn = Callable[[dict[str, Any]], Mapping[str, Any]]

# Ray 2.60 moved the actor's max_concurrency into the strategy (passing it
# to map_batches is deprecated there); older Rays take only the latter.
_POOL_TAKES_CALLS = (
    "max_concurrent_calls_per_actor"
    in inspect.signature(ray.data.ActorPoolStrategy).parameters
)


@dataclass(frozen=True, kw_only=True)
class OllamaProcessorConfig:
    """How a processor calls Ollama and how Ray runs it.

    What to ask (as :class:`ollama_async.RowJob`): ``task``, ``model``,
    ``system``, ``options``, ``format``, ``think``, ``keep_alive``,
    ``dimensions``. Where: ``hosts``. How Ray runs it: ``batch_size``,
    ``concurrency`` (actors), ``max_concurrent_batches`` and ``num_cpus``
    per actor. Each actor sends at most ``max_concurrent_requests`` at a
    time, through one client made when the actor starts.
    """

    model: str = ""
    """The model, unless a row has a ``model`` column."""
    task: Literal["chat", "generate", "embed"] = "chat"
    """``"chat"`` (``messages`` or ``prompt`` column), ``"generate"``
    (``prompt``) or ``"embed"`` (``input`` or ``prompt``)."""
    hosts: str | Sequence[str] | None = None
    """One base URL, or several for a :class:`ollama_async.MultiHostClient`
    (each request to the least busy host, failover when one is down).
    ``None``: ``OLLAMA_HOST`` as the actors see it."""
    system: str | None = None
    """System prompt for every row (a ``system`` column overrides it)."""
    options: Mapping[str, Any] | None = None
    """Model options for every row; ``options`` and ``sampling_params``
    columns add to them."""
    format: Any = None
    """``"json"``, a JSON schema dict or a type; the answer is parsed into a
    ``parsed`` column."""
    think: bool | Literal["low", "medium", "high", "max"] | None = None
    """Thinking, for models that think (a ``thinking`` column)."""
    keep_alive: float | str | None = None
    """How long the model stays loaded after each call."""
    dimensions: int | None = None
    """Embed only: the length of the vectors."""
    batch_size: int = 32
    """Rows per batch handed to an actor."""
    concurrency: int | tuple[int, int] = 1
    """Actors: ``n`` for a fixed pool, ``(m, n)`` to scale between ``m`` and
    ``n``."""
    max_concurrent_batches: int = 4
    """Ray tasks an actor runs at once (its ``max_concurrency``), so that
    one batch's slowest rows do not leave the actor idle."""
    max_concurrent_requests: int = 16
    """Calls in flight per actor, across all its batches. Aim for the
    hosts' parallel slots (``OLLAMA_NUM_PARALLEL`` x hosts) divided by the
    actors, plus a few so no slot waits."""
    num_cpus: float | None = None
    """CPUs reserved per actor (Ray's default when ``None``). An actor
    mostly waits on the network: ``0.25`` lets four share a core."""
    headers: Mapping[str, str] | None = None
    """Headers of every request (``Authorization`` for a proxy or ollama.com;
    ``OLLAMA_API_KEY`` in the actors' environment works too)."""
    timeout: Timeout | float | None = field(default_factory=Timeout)
    """The client's timeouts."""
    retry: Retry | None = field(default_factory=Retry)
    """The client's retry policy (``None``: no retries)."""
    client_kwargs: Mapping[str, Any] | None = None
    """Other arguments of the client (``limits``, ``verify``, ...)."""
    job: RowJob = field(init=False, repr=False, compare=False)
    """The row job these settings make."""

    def __post_init__(self) -> None:
        job = RowJob(
            task=self.task,
            model=self.model,
            system=self.system,
            options=self.options,
            format=self.format,
            think=self.think,
            keep_alive=self.keep_alive,
            dimensions=self.dimensions,
        )
        object.__setattr__(self, "job", job)
        for name in ("batch_size", "max_concurrent_batches", "max_concurrent_requests"):
            _positive(name, getattr(self, name))
        sizes = self.concurrency
        if isinstance(sizes, tuple):
            if len(sizes) != 2:
                raise RequestError(f"concurrency must be n or (m, n), got {sizes!r}")
            _positive("concurrency", sizes[0])
            _positive("concurrency", sizes[1])
            if sizes[0] > sizes[1]:
                raise RequestError(f"concurrency (m, n) needs m <= n, got {sizes!r}")
        else:
            _positive("concurrency", sizes)
        if self.num_cpus is not None and (
            isinstance(self.num_cpus, bool)
            or not isinstance(self.num_cpus, int | float)
            or self.num_cpus < 0
        ):
            raise RequestError(f"num_cpus must be >= 0, got {self.num_cpus!r}")
        if not isinstance(self.hosts, str | None) and (
            not isinstance(self.hosts, Sequence) or not self.hosts
        ):
            raise RequestError("hosts must be a base URL or a non-empty list of them")

    def make_client(self) -> AsyncClient:
        """A new client as configured: a :class:`ollama_async.MultiHostClient`
        for several hosts, else an :class:`ollama_async.AsyncClient`."""
        kwargs: dict[str, Any] = {
            "headers": self.headers,
            "timeout": self.timeout,
            "retry": self.retry,
            **(self.client_kwargs or {}),
        }
        hosts = self.hosts
        if isinstance(hosts, str) or hosts is None:
            return AsyncClient(hosts, **kwargs)
        if len(hosts) == 1:
            return AsyncClient(hosts[0], **kwargs)
        return MultiHostClient(list(hosts), **kwargs)


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(f"{name} must be a positive int, got {value!r}")


class OllamaUDF:
    """The callable class behind the processor, for ``Dataset.map_batches``::

        ds = ds.map_batches(
            OllamaUDF,
            fn_constructor_kwargs={"config": config},
            batch_size=32,
            compute=ray.data.ActorPoolStrategy(
                size=4, max_concurrent_calls_per_actor=4
            ),
        )

    Each actor makes one client, and runs every batch on the event loop Ray
    gives async callables: the rows of all the batches the actor holds share
    ``config.max_concurrent_requests`` calls in flight. Takes batches as
    Arrow tables, pandas DataFrames or dicts of columns; returns a dict of
    columns: the input columns and those of :func:`ollama_async.process_row`
    (or what ``postprocess`` returns). The client is closed when Ray ends
    the actor.
    """

    def __init__(
        self,
        config: OllamaProcessorConfig,
        preprocess: RowFn | None = None,
        postprocess: RowFn | None = None,
    ) -> None:
        if not isinstance(config, OllamaProcessorConfig):
            raise RequestError(
                f"config must be an OllamaProcessorConfig, got {type(config).__name__}"
            )
        self._client = config.make_client()
        self._limit = asyncio.Semaphore(config.max_concurrent_requests)
        self._window = config.max_concurrent_requests
        self._row = partial(
            process_row, job=config.job, preprocess=preprocess, postprocess=postprocess
        )
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, batch: Any) -> AsyncIterator[dict[str, list[Any]]]:
        self._loop = asyncio.get_running_loop()
        rows = _rows_of(batch)
        answered: list[dict[str, Any]] = [{}] * len(rows)
        async with self._client.batch(rows, self._one, concurrency=self._window) as b:
            async for result in b:
                answered[result.index] = result.result()
        yield _columns_of(answered)

    async def _one(self, client: AsyncClient, row: dict[str, Any]) -> dict[str, Any]:
        async with self._limit:
            return await self._row(client, row)

    async def aclose(self) -> None:
        """Close the client (Ray's end of the actor does it too)."""
        await self._client.aclose()

    def __del__(self) -> None:
        # Ray Data drops the callable when the actor ends gracefully, from a
        # thread other than the loop's: close the connections on their loop.
        loop: asyncio.AbstractEventLoop | None = getattr(self, "_loop", None)
        client: AsyncClient | None = getattr(self, "_client", None)
        if loop is None or client is None or client.is_closed:
            return
        if not loop.is_running() or _running_loop() is not None:
            return  # nothing to close it on, or a loop here that must not block
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(10)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _rows_of(batch: Any) -> list[dict[str, Any]]:
    """The rows of a batch in any of Ray's formats, as dicts."""
    if hasattr(batch, "to_pylist"):  # pyarrow.Table: builtins all the way down
        rows: list[dict[str, Any]] = batch.to_pylist()
        return rows
    if hasattr(batch, "to_dict") and not isinstance(batch, Mapping):  # pandas
        return [dict(row) for row in batch.to_dict("records")]
    columns = {name: list(values) for name, values in batch.items()}
    count = len(next(iter(columns.values()), []))
    return [{name: values[i] for name, values in columns.items()} for i in range(count)]


def _columns_of(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as columns; a column some rows lack is ``None`` in those."""
    names = dict.fromkeys(name for row in rows for name in row)
    return {name: [row.get(name) for row in rows] for name in names}


class OllamaProcessor:
    """Ollama over a Dataset: ``processor(ds)`` returns the answered
    Dataset (lazily, as Ray Data does). Made by :func:`build_ollama_processor`."""

    def __init__(
        self,
        config: OllamaProcessorConfig,
        preprocess: RowFn | None = None,
        postprocess: RowFn | None = None,
    ) -> None:
        self.config = config
        self.preprocess = preprocess
        self.postprocess = postprocess

    def map_batches_kwargs(self) -> dict[str, Any]:
        """The arguments of ``Dataset.map_batches`` the processor uses
        (with :class:`OllamaUDF` as the function)."""
        config = self.config
        kwargs: dict[str, Any] = {
            "fn_constructor_kwargs": {
                "config": config,
                "preprocess": self.preprocess,
                "postprocess": self.postprocess,
            },
            "batch_size": config.batch_size,
            "batch_format": "pyarrow",
            "zero_copy_batch": True,
        }
        low, high = (
            config.concurrency
            if isinstance(config.concurrency, tuple)
            else (config.concurrency, config.concurrency)
        )
        calls = config.max_concurrent_batches
        if _POOL_TAKES_CALLS:
            kwargs["compute"] = ray.data.ActorPoolStrategy(
                min_size=low, max_size=high, max_concurrent_calls_per_actor=calls
            )
        else:  # pragma: no cover - Ray before 2.60: a Ray Core actor option
            kwargs["compute"] = ray.data.ActorPoolStrategy(min_size=low, max_size=high)
            kwargs["max_concurrency"] = calls
        if config.num_cpus is not None:
            kwargs["num_cpus"] = config.num_cpus
        return kwargs

    def __call__(self, dataset: ray.data.Dataset) -> ray.data.Dataset:
        return dataset.map_batches(OllamaUDF, **self.map_batches_kwargs())

    def __repr__(self) -> str:
        return f"<OllamaProcessor {self.config!r}>"


def build_ollama_processor(
    config: OllamaProcessorConfig,
    preprocess: RowFn | None = None,
    postprocess: RowFn | None = None,
) -> OllamaProcessor:
    """A processor for ``config``, as ``ray.data.llm.build_processor`` makes
    one: ``processor(ds)`` maps every row to one call.

    Args:
        preprocess: called with each row; the columns it returns are added
            to the row before the call (e.g. a ``prompt`` made from a
            ``text`` column).
        postprocess: called with each answered row; what it returns is the
            output row. Rows that failed skip it and keep every column.
    """
    return OllamaProcessor(config, preprocess, postprocess)
