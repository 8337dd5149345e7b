"""``Stream``: one streamed response, async-iterable, awaitable and an async
context manager. Knows nothing of HTTP beyond the duck-typed response it is
handed (``readany()``, ``at_eof()``, ``close()``, ``release()``).

The hot path is ``__anext__``: while complete lines are buffered it hands them
out without awaiting anything, so the event loop is entered once per network
read, not once per chunk. Telemetry adds nothing to it: a traced stream's
record hears of the opening, the first chunk (through a decoder that puts
the plain one back), the final line and the end.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, Generic, NoReturn, Protocol, Self, TypeVar

import msgspec

from ._errors import (
    DecodeError,
    IncompleteStreamError,
    OllamaError,
    StreamError,
    UsageError,
    error_message,
)
from ._lines import LineSplitter
from ._telemetry import CallRecord, Instruments

__all__ = ["Call", "Stream", "raise_for_line"]

T = TypeVar("T")

# After the final line, how long to wait for the end of the body so the
# connection can go back to the pool instead of being closed.
_DRAIN_GRACE = 1.0

_EMPTY: list[bytes] = []


def raise_for_line(line: bytes, exc: Exception, what: str) -> None:
    """Raise the right error for a line that did not decode as ``what``:
    :class:`StreamError` for an ``{"error": ...}`` line, else
    :class:`DecodeError` with an excerpt. Returns for a blank line."""
    error = error_message(line)
    if error is not None:
        raise StreamError(error)
    if line.strip():
        raise DecodeError(f"invalid {what} ({exc})", data=line) from exc


class _Response(Protocol):
    async def readany(self) -> bytes: ...
    def at_eof(self) -> bool: ...
    def close(self) -> None: ...
    def release(self) -> Any: ...
    def map_failure(self, exc: BaseException) -> OllamaError: ...

    @property
    def base_url(self) -> str: ...


class Call(Coroutine[Any, Any, T]):
    """What a call made with ``stream=False`` returns: its coroutine, as a
    coroutine (``await``, ``asyncio.create_task`` and ``gather`` take it),
    that says what to do when it is iterated by mistake."""

    __slots__ = ("_coroutine",)

    def __init__(self, coroutine: Coroutine[Any, Any, T]) -> None:
        self._coroutine = coroutine

    def __await__(self) -> Generator[Any, None, T]:
        return self._coroutine.__await__()

    def send(self, value: Any) -> Any:
        return self._coroutine.send(value)

    def throw(self, *args: Any) -> Any:
        return self._coroutine.throw(*args)

    def close(self) -> None:
        self._coroutine.close()

    def __aiter__(self) -> NoReturn:
        self._coroutine.close()  # never sent: no "never awaited" warning
        raise UsageError(
            "this call was made with stream=False, so it returns one whole "
            "response to await, not chunks: pass stream=True to iterate over "
            "the answer as it comes, or `await` it"
        )

    def __repr__(self) -> str:
        name = getattr(self._coroutine, "__qualname__", "call")
        return f"<Call {name}>"


async def _never_again() -> Any:
    raise UsageError("this stream was opened already")


class Stream(Generic[T]):
    """A streamed Ollama response.

    Nothing is sent until the stream is awaited, entered or iterated::

        async with client.chat("llama3.2", messages=msgs, stream=True) as stream:
            async for part in stream:
                print(part.message.content, end="", flush=True)

    ``async with`` guarantees the HTTP response is closed on exit, so a
    ``break`` stops the generation on the server at once. The stream also
    closes itself when it ends, fails or its task is cancelled. ``await
    stream`` opens it (raising HTTP errors there) and returns the stream, which
    is what the official client's ``async for part in await client.chat(...,
    stream=True)`` needs. A stream can be iterated once.
    """

    __slots__ = (
        "__weakref__",
        "_awaited",
        "_closed",
        "_decode",
        "_eof",
        "_final_seen",
        "_fold",
        "_index",
        "_is_final",
        "_iterated",
        "_lines",
        "_observe",
        "_open",
        "_record",
        "_response",
        "_splitter",
        "_what",
    )

    def __init__(
        self,
        open_response: Callable[[], Awaitable[_Response]],
        *,
        decode: Callable[[bytes], T],
        is_final: Callable[[T], bool],
        fold: Callable[[list[T]], T],
        max_line_size: int,
        what: str,
        observe: Callable[[], tuple[Instruments, CallRecord] | None] | None = None,
    ) -> None:
        self._open = open_response
        self._observe = observe
        self._record: CallRecord | None = None
        self._decode = decode
        self._is_final = is_final
        self._fold = fold
        self._splitter = LineSplitter(max_line_size)
        self._what = what
        self._response: _Response | None = None
        self._lines = _EMPTY
        self._index = 0
        self._iterated = False
        self._awaited = False
        self._final_seen = False
        self._eof = False
        self._closed = False

    # -- opening ---------------------------------------------------------------

    async def _ensure_open(self) -> _Response:
        response = self._response
        if response is None:
            if self._closed:
                raise UsageError("this stream is closed")
            try:
                if self._observe is None:
                    response = self._response = await self._open()
                else:
                    response = self._response = await self._open_observed()
            except BaseException:
                self._closed = True  # never send the request a second time
                raise
            finally:
                # The request (its body among it) is not needed any more: a
                # service holding thousands of open streams holds less.
                self._open = _never_again
        return response

    async def _open_observed(self) -> _Response:
        """Open with the call's span current (HTTP spans nest under it), and
        watch for the first chunk."""
        assert self._observe is not None
        observed = self._observe()
        if observed is None:  # nothing records: open as if untraced
            return await self._open()
        instruments, record = observed
        self._record = record
        response = await instruments.run(record, self._open())
        record.served_by(response.base_url)
        plain = self._decode
        # A weak reference: a cycle through the decoder would keep a dropped
        # stream alive until the garbage collector ran, and its connection
        # open (``__del__`` closes it when the last reference goes).
        this = weakref.ref(self)

        def restore() -> None:
            stream = this()
            if stream is not None:
                stream._decode = plain

        self._decode = record.watch_first_chunk(plain, restore)
        return response

    async def _opened(self) -> Self:
        if self._awaited:
            raise UsageError(
                "this stream was awaited already (awaiting opens it and returns "
                "it): iterate it with `async for part in stream`, or get the "
                "whole answer with `await stream.collect()`"
            )
        self._awaited = True
        await self._ensure_open()
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        return self._opened().__await__()

    async def __aenter__(self) -> Self:
        await self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- iteration -------------------------------------------------------------

    def __aiter__(self) -> Self:
        if self._iterated:
            raise UsageError("a stream can be iterated only once")
        self._iterated = True
        return self

    async def __anext__(self) -> T:
        while True:  # a loop, not recursion: blank lines are skipped
            lines = self._lines
            index = self._index
            if index < len(lines):
                self._index = index + 1
                line = lines[index]
            elif self._final_seen:
                await self._finish()
                raise StopAsyncIteration
            elif self._eof:
                self._incomplete()
            else:
                # Read (opening the stream first if need be) until a line is
                # complete: inline, with no nested coroutine per read.
                error: OllamaError | None = None
                try:
                    response = self._response
                    if response is None:
                        response = await self._ensure_open()
                    data = await response.readany()
                    if data:
                        lines = self._splitter.feed(data)
                except BaseException as exc:
                    # Cancellation, timeouts and broken connections land here;
                    # closing is synchronous, so a second cancel cannot skip it.
                    failed = self._response
                    if (
                        failed is None  # opening failed: already our error
                        or not isinstance(exc, Exception)
                        or isinstance(exc, OllamaError)
                    ):
                        self._record_failure(exc)
                        self.close()
                        raise
                    # Named after the host that sent this response.
                    error = failed.map_failure(exc)
                    self._record_failure(error)
                    self.close()
                if error is not None:
                    # Outside the except block: the transport's exception
                    # (which may hold request headers) is not chained.
                    raise error
                if not data:
                    line = self._at_eof()
                elif not lines:
                    continue  # still inside a line
                else:
                    self._lines = lines
                    self._index = 1
                    line = lines[0]
            try:
                chunk = self._decode(line)
            except (
                msgspec.DecodeError,
                msgspec.ValidationError,
                UnicodeDecodeError,
            ) as exc:
                self._bad_line(line, exc)
                continue  # the line was blank
            if self._is_final(chunk):
                self._final_seen = True
                self._lines = _EMPTY
                if self._record is not None:
                    self._record.succeeded(chunk)
            return chunk

    def _record_failure(self, exc: BaseException) -> None:
        if self._record is not None:
            self._record.interrupted(exc)

    def _bad_line(self, line: bytes, exc: Exception) -> None:
        try:
            raise_for_line(line, exc, self._what)
        except OllamaError as error:
            self._record_failure(error)
            self.close()
            raise

    def _at_eof(self) -> bytes:
        self._eof = True
        last = self._splitter.flush()
        if last is not None and last.strip():
            return last  # a last line without "\n", e.g. a load reply
        self._incomplete()

    def _incomplete(self) -> NoReturn:
        error = IncompleteStreamError(
            f"the {self._what} stream ended before its final line; "
            "the answer is incomplete"
        )
        self._record_failure(error)
        self.close()
        raise error

    async def _finish(self) -> None:
        """After the final line: let the body end so the connection is reused,
        ignoring anything after it, then release."""
        response = self._response
        if response is None or self._closed:
            return
        if not response.at_eof():
            try:
                async with asyncio.timeout(_DRAIN_GRACE):
                    while await response.readany():
                        pass
            except Exception:
                pass  # release() below closes a connection that did not end
        self._closed = True
        response.release()

    # -- closing ---------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP response now. Idempotent.

        If the body did not end, the connection is dropped, which is how the
        server learns to stop generating.
        """
        if self._closed:
            return
        self._closed = True
        response = self._response
        if response is not None:
            if self._final_seen or self._eof:
                response.release()
            else:
                response.close()
            if self._record is not None:
                self._record.closed_early(cancelled=False)  # no-op once ended

    async def aclose(self) -> None:
        """Async alias of :meth:`close`, for ``contextlib.aclosing``."""
        self.close()

    @property
    def closed(self) -> bool:
        """Whether the HTTP response has been closed or released."""
        return self._closed

    def __del__(self) -> None:
        # CPython finalizes a stream as soon as the last reference goes, e.g.
        # right after a `break` out of `async for part in client.chat(...)`;
        # closing here stops the generation promptly in that form too.
        if not self._closed and self._response is not None:
            try:
                self.close()
            except Exception:  # the loop may already be closed
                pass

    # -- folding ---------------------------------------------------------------

    async def collect(self) -> T:
        """Read the whole stream and fold it into one response, equal to what
        ``stream=False`` returns (content joined, metrics of the final line)."""
        chunks = [chunk async for chunk in self]
        if not chunks:
            raise IncompleteStreamError(f"the {self._what} stream was empty")
        return self._fold(chunks)

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        elif self._response is None:
            state = "not opened"
        else:
            state = "open"
        return f"<Stream of {self._what} ({state})>"
