"""Rows of a table as Ollama calls, and their answers as columns: the engine
behind :func:`process_rows` and ``ollama_async.ray``.

A row is a mapping of column names to values (one record of a DataFrame, an
Arrow table or a Parquet file). :class:`RowJob` says what to do with every
row: the task (chat, generate, embed), the model and the settings of the
job. :func:`process_row` makes one call from one row and returns the row
with the answer's columns added; it never raises for a row that fails, it
fills the error column instead. :func:`process_rows` runs many rows on its
own event loop, for engines that call plain functions on partitions (Dask,
Spark).

The column names follow ``ray.data.llm`` (``prompt``, ``messages``,
``sampling_params``; ``generated_text``, ``num_input_tokens``,
``num_generated_tokens``, ``time_taken_llm``, ``embeddings``,
``__inference_error__``), so that a pipeline written for it runs here.

Uses the clients through their public methods; imports no Ray, pandas or
pyarrow (values from them are turned into builtins by duck typing).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import pickle
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Literal, TypeAlias

import msgspec

from . import _args
from ._client import AsyncClient
from ._errors import RequestError
from ._multihost import MultiHostClient

__all__ = [
    "ERROR_COLUMN",
    "RowFn",
    "RowJob",
    "Task",
    "make_client",
    "process_row",
    "process_rows",
]

Task: TypeAlias = Literal["chat", "generate", "embed"]
"""What a job asks of every row."""

RowFn: TypeAlias = Callable[[dict[str, Any]], Mapping[str, Any]]
"""A ``preprocess`` or ``postprocess`` function: a row in, columns out."""

ERROR_COLUMN: Final = "__inference_error__"
"""The column that holds ``"ExceptionType: message"`` for a failed row and
``""`` for the others (``ray.data.llm``'s name)."""

_TASKS: Final = ("chat", "generate", "embed")
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})

# ray.data.llm's sampling_params are vLLM's; these two have other names in
# Ollama's options. The rest (temperature, top_p, top_k, seed, stop, min_p,
# presence_penalty, frequency_penalty) are spelled the same.
_SAMPLING_NAMES: Final = {
    "max_tokens": "num_predict",
    "repetition_penalty": "repeat_penalty",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class RowJob:
    """What to do with every row of a batch job: a frozen value that pickles,
    so a Dask or Spark closure can capture it.

    ::

        job = RowJob(task="chat", model="llama3.2", options={"temperature": 0})

    A row may override ``model`` and ``system`` with columns of those names,
    and add options with an ``options`` or ``sampling_params`` column (see
    :func:`process_row` for every column read and written).
    """

    task: Task = "chat"
    """``"chat"``, ``"generate"`` or ``"embed"``."""
    model: str = ""
    """The model, unless the row has a ``model`` column."""
    system: str | None = None
    """System prompt: the first message of a chat, ``system`` of a generate."""
    options: Mapping[str, Any] | None = None
    """Model options (``temperature``, ``num_predict``, ...) for every row."""
    format: Any = None
    """``"json"``, a JSON schema dict, or a type (msgspec Struct, dataclass,
    TypedDict, pydantic model): the answer is parsed into the ``parsed``
    column, as plain dicts and lists."""
    think: bool | Literal["low", "medium", "high", "max"] | None = None
    """Thinking, for models that think; the text goes in a ``thinking`` column."""
    keep_alive: float | str | None = None
    """How long the model stays loaded after the call."""
    dimensions: int | None = None
    """Embed only: the length of the vectors, for models that can shorten them."""
    _sent_format: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.task not in _TASKS:
            raise RequestError(
                f"task must be one of {', '.join(_TASKS)}, got {self.task!r}"
            )
        if self.model:
            _args.model_arg(self.model)
        else:
            _args.check_str("model", self.model)
        _args.check_str("system", self.system)
        _args.options_arg(self.options)
        _args.think_arg(self.think)
        _args.keep_alive_arg(self.keep_alive)
        _args.int_arg("dimensions", self.dimensions, 0, 1 << 20)
        if self.task == "embed" and self.format is not None:
            raise RequestError("format does not apply to task='embed'")
        # The schema of a type is made once here, not once per row.
        sent = _args.format_arg(self.format)
        object.__setattr__(
            self, "_sent_format", None if sent is msgspec.UNSET else sent
        )

    def output_columns(self) -> tuple[str, ...]:
        """The columns :func:`process_row` adds to each row, in order: for
        ``chat`` and ``generate`` ``generated_text``, ``num_input_tokens``,
        ``num_generated_tokens``, ``thinking`` (with ``think``), ``parsed``
        (with ``format``), ``done_reason``; for ``embed`` ``embeddings`` and
        ``num_input_tokens``; then ``time_taken_llm`` and
        ``__inference_error__``."""
        if self.task == "embed":
            columns: tuple[str, ...] = ("embeddings", "num_input_tokens")
        else:
            columns = ("generated_text", "num_input_tokens", "num_generated_tokens")
            if self.think:
                columns += ("thinking",)
            if self.format is not None:
                columns += ("parsed",)
            columns += ("done_reason",)
        return (*columns, "time_taken_llm", ERROR_COLUMN)


async def process_row(
    client: AsyncClient,
    row: Mapping[str, Any],
    job: RowJob,
    *,
    preprocess: RowFn | None = None,
    postprocess: RowFn | None = None,
) -> dict[str, Any]:
    """One call for one row; the row comes back with the answer's columns.

    Columns read (a missing column and a null value are the same):

    - ``model``: overrides ``job.model``.
    - chat: ``messages`` (a list of message dicts), or ``prompt`` (sent as
      one user message); ``system`` overrides ``job.system`` and goes first.
    - generate: ``prompt``; ``system``.
    - embed: ``input`` or ``prompt``, one text.
    - ``options``, or ``sampling_params`` with vLLM's names (``max_tokens``
      is sent as ``num_predict``): merged over ``job.options``.

    Columns added: those of :meth:`RowJob.output_columns`. ``time_taken_llm`` is the
    call's wall time in seconds, retries included; ``num_input_tokens`` and
    ``num_generated_tokens`` are the server's ``prompt_eval_count`` and
    ``eval_count``.

    Whatever fails for this row (a missing column, a refused request, every
    retry spent, an answer that does not parse, ``preprocess`` or
    ``postprocess`` raising) is written to ``__inference_error__`` as
    ``"ExceptionType: message"``, with the other added columns ``None``
    (an answer that does not parse keeps its text and counts). Such a row
    skips ``postprocess``. The others get ``__inference_error__ = ""``.

    Args:
        preprocess: called with the row; the columns it returns are added
            to the row before the call (``ray.data.llm``'s ``preprocess``).
        postprocess: called with the answered row; what it returns is the
            output row (plus ``__inference_error__``).
    """
    out = dict(row)
    columns = dict.fromkeys(job.output_columns())
    try:
        if preprocess is not None:
            out.update(preprocess(dict(out)))
        started = time.perf_counter()
        answer = await _call(client, out, job)
        columns["time_taken_llm"] = time.perf_counter() - started
    except Exception as exc:
        columns[ERROR_COLUMN] = _describe(exc)
        out.update(columns)
        return out
    _fill(columns, answer, job)
    out.update(columns)
    try:
        if job.format is not None:
            out["parsed"] = _parsed(answer, job)
        if postprocess is not None:
            out = dict(postprocess(out))
    except Exception as exc:
        out[ERROR_COLUMN] = _describe(exc)
        return out
    out[ERROR_COLUMN] = ""
    return out


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _call(client: AsyncClient, row: Mapping[str, Any], job: RowJob) -> Any:
    model = _column(row, "model") or job.model
    options = _options(row, job)
    if job.task == "embed":
        text = _column(row, "input")
        if text is None:
            text = _column(row, "prompt")
        if not isinstance(text, str):
            raise RequestError(
                "an embed row needs one text in an 'input' or 'prompt' column"
            )
        return await client.embed(
            model,
            text,
            options=options,
            keep_alive=job.keep_alive,
            dimensions=job.dimensions,
        )
    system = _column(row, "system") or job.system
    if job.task == "generate":
        prompt = _column(row, "prompt")
        if prompt is None:
            raise RequestError("a generate row needs a 'prompt' column")
        return await client.generate(
            model,
            prompt,
            system=system,
            options=options,
            format=job._sent_format,
            think=job.think,
            keep_alive=job.keep_alive,
        )
    messages = _column(row, "messages")
    if messages is None:
        prompt = _column(row, "prompt")
        if prompt is None:
            raise RequestError("a chat row needs a 'messages' or 'prompt' column")
        messages = [{"role": "user", "content": prompt}]
    elif not isinstance(messages, list):
        raise RequestError("messages must be a list of messages")
    if system is not None:
        messages = [{"role": "system", "content": system}, *messages]
    return await client.chat(
        model,
        messages,
        options=options,
        format=job._sent_format,
        think=job.think,
        keep_alive=job.keep_alive,
    )


def _column(row: Mapping[str, Any], name: str) -> Any:
    return _builtins(row.get(name))


def _builtins(value: Any) -> Any:
    """Plain lists, dicts and scalars from what pandas and NumPy hand out
    (arrays of messages, ``numpy.int64`` option values)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return {key: _builtins(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_builtins(item) for item in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, bytes | bytearray):
        return _builtins(tolist())
    return value


def _options(row: Mapping[str, Any], job: RowJob) -> dict[str, Any] | None:
    sampling = _column(row, "sampling_params")
    extra = _column(row, "options")
    if sampling is None and extra is None:
        return None if job.options is None else dict(job.options)
    merged = dict(job.options or {})
    for what, given in (("sampling_params", sampling), ("options", extra)):
        if given is None:
            continue
        if not isinstance(given, dict):
            raise RequestError(f"{what} must be a mapping, got {type(given).__name__}")
        names: Mapping[str, str] = _SAMPLING_NAMES if given is sampling else {}
        merged.update(
            (names.get(key, key), value)
            for key, value in given.items()
            if value is not None
        )
    return merged


def _fill(columns: dict[str, Any], answer: Any, job: RowJob) -> None:
    if job.task == "embed":
        columns["embeddings"] = answer.embeddings[0] if answer.embeddings else None
        columns["num_input_tokens"] = answer.prompt_eval_count
        return
    if job.task == "chat":
        text, thinking = answer.message.content, answer.message.thinking
    else:
        text, thinking = answer.response, answer.thinking
    columns["generated_text"] = text
    columns["num_input_tokens"] = answer.prompt_eval_count
    columns["num_generated_tokens"] = answer.eval_count
    if job.think:
        columns["thinking"] = thinking
    columns["done_reason"] = answer.done_reason


def _parsed(answer: Any, job: RowJob) -> Any:
    """The answer parsed into ``job.format`` when it is a type, as builtins
    that Arrow and pandas can store."""
    kind = job.format
    if isinstance(kind, str | Mapping) or _hollow_struct(kind):
        kind = Any
    value = answer.parse(kind)
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic
        return dump(mode="json")
    return msgspec.to_builtins(value)


def _hollow_struct(kind: Any) -> bool:
    """Whether ``kind`` is a Struct class that lost its fields on the way to
    this process: cloudpickle rebuilds a class defined in ``__main__`` (a
    notebook, the driver script) in a way msgspec's metaclass does not see
    (msgspec issue #394). Its instances would decode as ``{}``; the answer,
    already held to the type's schema by the server, is taken as plain JSON
    instead."""
    return (
        isinstance(kind, type)
        and issubclass(kind, msgspec.Struct)
        and not kind.__struct_fields__
        and bool(getattr(kind, "__annotations__", None))
    )


# -- many rows, on an event loop of their own -----------------------------------


def make_client(
    client: AsyncClient | None = None, hosts: str | Sequence[str] | None = None
) -> AsyncClient:
    """A new client for one event loop: a copy of ``client`` (its
    configuration; it opens its own connections), a client for ``hosts``
    (a :class:`MultiHostClient` when there are several), or ``AsyncClient()``."""
    if client is not None:
        if hosts is not None:
            raise RequestError("give client or hosts, not both")
        _args.instance_of("client", client, AsyncClient)
        try:
            copy: AsyncClient = pickle.loads(pickle.dumps(client))
        except TypeError as exc:  # a session or SSLContext of this process
            raise RequestError(f"client: {exc}") from None
        return copy
    if hosts is None or isinstance(hosts, str):
        return AsyncClient(hosts)
    if len(hosts) == 1:
        return AsyncClient(hosts[0])
    return MultiHostClient(hosts)


def process_rows(
    rows: Iterable[Mapping[str, Any]],
    job: RowJob,
    *,
    client: AsyncClient | None = None,
    hosts: str | Sequence[str] | None = None,
    concurrency: int = 16,
    preprocess: RowFn | None = None,
    postprocess: RowFn | None = None,
    progress: bool | Mapping[str, Any] = False,
) -> list[dict[str, Any]]:
    """Run ``job`` on every row, ``concurrency`` calls at a time; the rows
    come back in input order, each with the answer's columns (see
    :func:`process_row`). A failed row is a row with ``__inference_error__``
    set, never an exception.

    ::

        rows = [{"prompt": "Why is the sky blue?"}, {"prompt": "Name a colour."}]
        answers = process_rows(rows, RowJob(model="llama3.2"), concurrency=8)

    A plain function with its own event loop, for engines that call one per
    partition: a Dask ``map_partitions``, a Spark pandas UDF, a thread pool.
    Called from a thread whose loop is running (a notebook), it runs its
    loop in a worker thread and waits for it.

    Args:
        client: an :class:`AsyncClient` or :class:`MultiHostClient` whose
            configuration to use (retry policy, timeouts, headers). Each call
            works on a copy with its own connections and closes it, so one
            client can be captured by closures running in many threads or
            processes.
        hosts: instead of ``client``: one base URL, or several for a
            :class:`MultiHostClient` with failover. Neither: ``OLLAMA_HOST``.
        concurrency: most calls in flight at once.
        progress: a ``tqdm`` progress bar, as for :func:`run_batch`.
    """
    _args.instance_of("job", job, RowJob)
    _args.positive_int("concurrency", concurrency)
    _args.callback("preprocess", preprocess)
    _args.callback("postprocess", postprocess)
    _args.items_arg("rows", rows)
    work = partial(
        _process_all,
        rows,
        job,
        make_client(client, hosts),
        concurrency=concurrency,
        preprocess=preprocess,
        postprocess=postprocess,
        progress=progress,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work())
    # A loop runs in this thread, and asyncio.run() cannot nest: run ours in
    # another thread and block this one until it is done.
    with concurrent.futures.ThreadPoolExecutor(1, "process_rows") as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


async def _process_all(
    rows: Iterable[Mapping[str, Any]],
    job: RowJob,
    client: AsyncClient,
    *,
    concurrency: int,
    preprocess: RowFn | None,
    postprocess: RowFn | None,
    progress: bool | Mapping[str, Any],
) -> list[dict[str, Any]]:
    one = partial(process_row, job=job, preprocess=preprocess, postprocess=postprocess)
    done: dict[int, dict[str, Any]] = {}
    async with (
        client,
        client.batch(rows, one, concurrency=concurrency, progress=progress) as batch,
    ):
        async for result in batch:
            done[result.index] = result.result()
    return [done[index] for index in range(len(done))]
