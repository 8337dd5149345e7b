"""``run_batch`` and ``Batch``: many calls of one async function with bounded
concurrency, results handed out as they complete (or in input order).

The batch is pull-driven: input is read and calls are started only inside
``__anext__``, so nothing runs ahead of the consumer by more than ``window``
items, whatever the size of the input. Completion is signalled by task done
callbacks on a small state object that does not reference the ``Batch``, so a
batch dropped after ``break`` is finalized at once and cancels its calls.

Imports only the standard library and msgspec at module level; tqdm is imported
when a progress bar is asked for. Knows nothing of HTTP or of ``AsyncClient``.
"""

from __future__ import annotations

import asyncio
import importlib
import types
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sized,
)
from typing import TYPE_CHECKING, Any, Generic, NoReturn, Self, TypeAlias, TypeVar

import msgspec

from . import _args

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Batch", "BatchResult", "Items", "progress_bar", "run_batch"]

ReqT = TypeVar("ReqT")
RespT = TypeVar("RespT")

Items: TypeAlias = Iterable[ReqT] | AsyncIterable[ReqT]
"""What a batch reads its items from."""

_EXTRA_HINT = "pip install 'ollama-async[progress]'"


class BatchResult(msgspec.Struct, Generic[ReqT, RespT], frozen=True):
    """The outcome of one item of a batch: its response or its exception."""

    index: int
    """Position of the item in the input, from 0."""
    request: ReqT
    """The input item itself."""
    response: RespT | None = None
    """What the call returned; ``None`` if it failed."""
    error: BaseException | None = None
    """What the call raised; ``None`` if it succeeded."""

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error is None

    def result(self) -> RespT:
        """The response, or raise the error (like ``Future.result()``)."""
        if self.error is not None:
            raise self.error
        return self.response  # type: ignore[return-value] # None is a valid RespT


async def _call(fn: Callable[[ReqT], Awaitable[RespT]], item: ReqT) -> RespT:
    # Inside the task, so an error raised before the awaitable exists (a bad
    # argument) is that item's result, and any awaitable works (a Stream too).
    return await fn(item)


class _State(Generic[ReqT, RespT]):
    """What the tasks' done callbacks touch. Holds no reference to the Batch."""

    __slots__ = (
        "buffer",
        "dying",
        "next_index",
        "ordered",
        "ready",
        "running",
        "stop_at",
        "stop_on_error",
        "waiter",
    )

    def __init__(self, *, ordered: bool, stop_on_error: bool) -> None:
        self.ordered = ordered
        self.stop_on_error = stop_on_error
        self.running: dict[asyncio.Task[RespT], tuple[int, ReqT]] = {}
        self.dying: set[asyncio.Task[RespT]] = set()
        self.ready: deque[BatchResult[ReqT, RespT]] = deque()  # unordered
        self.buffer: dict[int, BatchResult[ReqT, RespT]] = {}  # ordered
        self.next_index = 0  # ordered: the index to hand out next
        self.stop_at: int | None = None  # stop_on_error: the failing index
        self.waiter: asyncio.Future[None] | None = None

    def on_done(self, task: asyncio.Task[RespT]) -> None:
        entry = self.running.pop(task, None)
        if entry is None:  # cancelled by us: nobody wants its result
            self.dying.discard(task)
            self.wake()
            return
        index, request = entry
        try:
            result: BatchResult[ReqT, RespT] = BatchResult(
                index, request, task.result()
            )
        except BaseException as exc:  # retrieved here, so never "unretrieved"
            result = BatchResult(index, request, None, exc)
            if self.stop_on_error:
                self.stop(index)
        if self.stop_at is None or index <= self.stop_at:
            if self.ordered:
                self.buffer[index] = result
            else:
                self.ready.append(result)
        self.wake()

    def stop(self, index: int) -> None:
        """Stop at a failure: in order, later items are cancelled and earlier
        ones finish; unordered, everything still running is cancelled."""
        if self.stop_at is not None and self.stop_at <= index:
            return
        self.stop_at = index
        limit = index if self.ordered else -1
        self.cancel(lambda i: i > limit)
        for i in [i for i in self.buffer if i > index]:
            del self.buffer[i]

    def cancel(self, which: Callable[[int], bool] = lambda i: True) -> None:
        """Cancel running tasks whose index ``which`` selects (synchronous)."""
        for task, (index, _) in list(self.running.items()):
            if which(index):
                del self.running[task]
                self.dying.add(task)
                task.cancel()

    def pop(self) -> BatchResult[ReqT, RespT] | None:
        if self.ordered:
            result = self.buffer.pop(self.next_index, None)
            if result is not None:
                self.next_index += 1
            return result
        return self.ready.popleft() if self.ready else None

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None


class Batch(AsyncIterator[BatchResult[ReqT, RespT]], Generic[ReqT, RespT]):
    """Results of a batch, as an async iterator and async context manager.

    Made by :func:`run_batch` and :meth:`AsyncClient.batch`; nothing starts
    until it is iterated. Leave it with ``async with`` (or call :meth:`aclose`)
    so that a ``break`` cancels the calls still running at once::

        async with run_batch(items, fn, concurrency=8) as batch:
            async for result in batch:
                if not result.ok:
                    break

    An exception or a cancellation inside ``async for`` closes it too. After
    closing it yields nothing more.
    """

    def __init__(
        self,
        items: Items[ReqT],
        fn: Callable[[ReqT], Awaitable[RespT]],
        *,
        concurrency: int = 16,
        ordered: bool = False,
        window: int | None = None,
        stop_on_error: bool = False,
        progress: bool | Mapping[str, Any] = False,
        total: int | None = None,
    ) -> None:
        _args.positive_int("concurrency", concurrency)
        _args.flag("ordered", ordered)
        _args.flag("stop_on_error", stop_on_error)
        _args.progress_arg(progress)
        _args.count_arg("total", total)
        _args.callback("fn", fn)
        if window is None:
            window = 2 * concurrency if ordered else concurrency
        _args.positive_int("window", window)
        if total is None and isinstance(items, Sized):
            total = len(items)
        self._fn = fn
        self._concurrency = concurrency
        self._window = window
        self._sync: Iterator[ReqT] | None = None
        self._async: AsyncIterator[ReqT] | None = None
        _args.items_arg("items", items)
        if isinstance(items, AsyncIterable):
            self._async = aiter(items)
        else:
            self._sync = iter(items)
        self._bar = progress_bar(progress=progress, total=total, unit="req")
        self._state: _State[ReqT, RespT] = _State(
            ordered=ordered, stop_on_error=stop_on_error
        )
        self._started = 0
        self._yielded = 0
        self._exhausted = False
        self._pulling = False
        self._input_error: BaseException | None = None
        self._closed = False

    # -- iteration -------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BatchResult[ReqT, RespT]:
        state = self._state
        try:
            while not self._closed:
                await self._fill()
                result = state.pop()
                if result is not None:
                    if state.stop_at == result.index:
                        self._fail(result)
                    self._yielded += 1
                    if self._bar is not None:
                        self._bar.update(1)
                    return result
                if not state.running and self._idle():
                    break
                await state.wait()
        except BaseException:
            # An error, a failure with stop_on_error, or the consumer's task
            # being cancelled: cancel what runs and wait until it has ended.
            await self.aclose()
            raise
        await self.aclose()
        raise StopAsyncIteration

    def _idle(self) -> bool:
        """With nothing running or ready: whether the batch is over. Raises
        an error of the input once the results before it are out."""
        if self._input_error is not None:
            error, self._input_error = self._input_error, None
            raise error
        return self._exhausted or self._state.stop_at is not None

    def _fail(self, result: BatchResult[ReqT, RespT]) -> NoReturn:
        error = result.error
        assert error is not None
        error.add_note(f"batch item {result.index}: {result.request!r:.200}")
        raise error

    async def _fill(self) -> None:
        """Start calls while there is room: at most ``concurrency`` running and
        ``window`` started but not yet handed out."""
        state = self._state
        running = state.running
        limit = self._yielded + self._window
        create_task = asyncio.get_running_loop().create_task
        while (
            len(running) < self._concurrency
            and self._started < limit
            and not self._exhausted
            and state.stop_at is None
        ):
            try:
                if self._sync is not None:
                    item = next(self._sync)
                else:
                    assert self._async is not None
                    self._pulling = True
                    try:
                        item = await anext(self._async)
                    finally:
                        self._pulling = False
            except (StopIteration, StopAsyncIteration):
                self._exhausted = True
                return
            except Exception as exc:
                # The input broke: no more items, but the calls running now
                # still finish and are handed out before this error is raised.
                self._exhausted = True
                self._input_error = exc
                return
            if self._closed:  # closed by another task while we awaited input
                return
            task = create_task(_call(self._fn, item))
            running[task] = (self._started, item)
            task.add_done_callback(state.on_done)
            self._started += 1

    # -- closing ---------------------------------------------------------------

    async def aclose(self) -> None:
        """Cancel the calls still running and wait until they have ended (their
        connections closed); close a generator given as input. Idempotent."""
        state = self._state
        first = not self._closed
        self._closed = True
        state.cancel()
        state.wake()  # another task may be waiting in __anext__
        if state.dying:
            await asyncio.wait(list(state.dying))
        if first:
            state.buffer.clear()
            state.ready.clear()
            if self._bar is not None:
                self._bar.close()
            if not self._exhausted:
                self._exhausted = True
                if isinstance(self._sync, types.GeneratorType):
                    self._sync.close()
                elif isinstance(self._async, types.AsyncGeneratorType) and not (
                    self._pulling
                ):
                    await self._async.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # A batch dropped without being closed (`break` out of a bare
        # `async for`) cancels its calls now rather than letting them run on.
        state = getattr(self, "_state", None)
        if state is not None and state.running:
            try:
                state.cancel()
            except RuntimeError:  # the loop is already closed
                pass

    # -- introspection ---------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the batch was closed (it yields nothing more)."""
        return self._closed

    @property
    def running(self) -> int:
        """How many calls are running now."""
        return len(self._state.running)

    @property
    def started(self) -> int:
        """How many items have been read from the input and started."""
        return self._started

    @property
    def yielded(self) -> int:
        """How many results have been handed out."""
        return self._yielded

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.running} running"
        return f"<Batch {self._yielded}/{self._started} done ({state})>"


def run_batch(
    items: Iterable[ReqT] | AsyncIterable[ReqT],
    fn: Callable[[ReqT], Awaitable[RespT]],
    *,
    concurrency: int = 16,
    ordered: bool = False,
    window: int | None = None,
    stop_on_error: bool = False,
    progress: bool | Mapping[str, Any] = False,
    total: int | None = None,
) -> Batch[ReqT, RespT]:
    """Call ``fn(item)`` for every item, at most ``concurrency`` at a time.

    ::

        async with run_batch(texts, summarize, concurrency=8) as batch:
            async for result in batch:
                print(result.index, result.response if result.ok else result.error)

    ``items`` (an iterable or async iterable) is read lazily, as room frees up:
    at most ``window`` items are started but not yet handed out, so a million
    inputs take no more memory than ``window`` of them.

    Args:
        concurrency: most calls running at once.
        ordered: hand results out in input order instead of as they complete.
            A slow item then holds back the ones after it: the batch runs at
            most ``window`` items past the oldest one not yet handed out.
        window: most items started but not yet handed out; defaults to
            ``concurrency``, or ``2 * concurrency`` when ``ordered``.
        stop_on_error: stop at the first failure and raise its exception
            (noted with the item's index) from the ``async for``, after the
            results that come before it (in the order results are handed out);
            calls still running after it are cancelled. Otherwise a failure is
            a result with ``.error`` set and the batch goes on.
        progress: show a ``tqdm.auto`` progress bar (a mapping is passed to
            ``tqdm`` as keyword arguments, e.g. ``{"desc": "prompts"}``); needs
            the ``progress`` extra.
        total: number of items for the progress bar; defaults to ``len(items)``
            when ``items`` has one.

    Raises:
        ImportError: ``progress`` without tqdm installed.
        ValueError: ``concurrency`` or ``window`` not a positive int.
    """
    return Batch(
        items,
        fn,
        concurrency=concurrency,
        ordered=ordered,
        window=window,
        stop_on_error=stop_on_error,
        progress=progress,
        total=total,
    )


def progress_bar(*, progress: bool | Mapping[str, Any], **defaults: Any) -> Any:
    """A ``tqdm.auto`` bar when ``progress`` asks for one (a mapping is passed
    to ``tqdm`` over ``defaults``), else None. tqdm is imported only here."""
    if not isinstance(progress, Mapping) and not progress:
        return None
    try:
        tqdm = importlib.import_module("tqdm.auto").tqdm
    except ImportError as exc:
        raise ImportError(
            f"progress=True needs tqdm, from the 'progress' extra: {_EXTRA_HINT}"
        ) from exc
    options = dict(defaults)
    if isinstance(progress, Mapping):
        options.update(progress)
    return tqdm(**options)
