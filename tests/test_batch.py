"""``run_batch`` / ``AsyncClient.batch``: bounded concurrency, lazy input,
ordering, errors as results or stopping the batch, progress bar, and
cancellation that leaves no task running and no connection open (checked on
the emulator)."""

from __future__ import annotations

import asyncio
import gc
import random
import sys
import tracemalloc
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ollama_async import (
    AsyncClient,
    Batch,
    BatchResult,
    ChatResponse,
    GenerateResponse,
    NotFoundError,
    RequestError,
    run_batch,
)
from ollama_async.testing import FakeOllama

HI = [{"role": "user", "content": "Hello there"}]


def calls_running() -> list[asyncio.Task[Any]]:
    """The batch's own tasks still alive (the emulator's are not ours)."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and t.get_coro().__qualname__ == "_call"  # type: ignore[union-attr]
    ]


async def echo(x: int) -> int:
    await asyncio.sleep(0)
    return x


class Tracker:
    """An async fn that records how many calls overlap and which were
    cancelled; ``delays[i]`` (seconds) makes item ``i`` slow."""

    def __init__(self, delays: dict[int, float] | None = None) -> None:
        self.delays = delays or {}
        self.running = 0
        self.peak = 0
        self.cancelled: list[int] = []
        self.started: list[int] = []

    async def __call__(self, x: int) -> int:
        self.started.append(x)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.delays.get(x, 0.001))
        except asyncio.CancelledError:
            self.cancelled.append(x)
            raise
        finally:
            self.running -= 1
        if x < 0:
            raise ValueError(f"negative: {x}")
        return x * 10


# -- results and ordering -------------------------------------------------------


async def test_unordered_yields_every_result_with_its_index_and_request() -> None:
    fn = Tracker({i: random.Random(i).random() / 100 for i in range(50)})
    async with run_batch(range(50), fn, concurrency=7) as batch:
        results = [r async for r in batch]
    assert sorted(r.index for r in results) == list(range(50))
    for r in results:
        assert (r.request, r.response, r.error, r.ok) == (
            r.index,
            r.index * 10,
            None,
            True,
        )
        assert r.result() == r.index * 10
    assert fn.peak == 7


async def test_unordered_yields_as_they_complete() -> None:
    # Item 0 takes longest: it comes out last.
    fn = Tracker({0: 0.05})
    results = [r.index async for r in run_batch(range(4), fn, concurrency=4)]
    assert results[-1] == 0


async def test_ordered_yields_in_input_order() -> None:
    delays = {i: (20 - i) / 1000 for i in range(20)}  # later items finish first
    batch = run_batch(range(20), Tracker(delays), concurrency=5, ordered=True)
    assert [r.index async for r in batch] == list(range(20))


async def test_concurrency_is_never_exceeded() -> None:
    fn = Tracker({i: 0.002 * (i % 3) for i in range(100)})
    async for _ in run_batch(range(100), fn, concurrency=4):
        assert fn.running <= 4
    assert fn.peak == 4


@pytest.mark.parametrize("ordered", [False, True], ids=["unordered", "ordered"])
async def test_async_iterable_input(*, ordered: bool) -> None:
    async def items() -> AsyncIterator[int]:
        for i in range(30):
            await asyncio.sleep(0)
            yield i

    batch = run_batch(items(), Tracker(), concurrency=3, ordered=ordered)
    results = [r async for r in batch]
    assert sorted(r.response for r in results) == [i * 10 for i in range(30)]


async def test_empty_input() -> None:
    assert [r async for r in run_batch([], echo)] == []


async def test_result_is_a_typed_struct() -> None:
    ok: BatchResult[str, int] = BatchResult(0, "a", 1)
    failed: BatchResult[str, int] = BatchResult(1, "b", error=KeyError("k"))
    assert ok.ok and ok.result() == 1
    assert not failed.ok
    with pytest.raises(KeyError):
        failed.result()
    with pytest.raises(AttributeError):
        ok.index = 3  # type: ignore[misc]


# -- errors ---------------------------------------------------------------------


async def test_a_failure_is_a_result_and_the_batch_goes_on() -> None:
    results = [r async for r in run_batch([1, -2, 3, -4, 5], Tracker(), ordered=True)]
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert isinstance(results[1].error, ValueError)
    assert results[1].response is None
    with pytest.raises(ValueError, match="negative: -2"):
        results[1].result()


async def test_errors_raised_before_the_awaitable_exists_are_results() -> None:
    def not_async(x: int) -> Any:
        if x == 1:
            raise RequestError("bad argument")
        return x  # not awaitable either

    results = [r async for r in run_batch([1, 2], not_async, ordered=True)]
    assert isinstance(results[0].error, RequestError)
    assert isinstance(results[1].error, TypeError)


async def test_stop_on_error_unordered_raises_and_cancels_the_rest() -> None:
    fn = Tracker({0: 0.0, -6: 0.02, **{i: 10.0 for i in (1, 2, 3, 4, 5, 7)}})
    seen = []
    with pytest.raises(ValueError, match="negative") as info:
        async for r in run_batch(
            [0, 1, 2, 3, 4, 5, -6, 7, 8], fn, concurrency=7, stop_on_error=True
        ):
            seen.append(r.index)
    assert seen == [0]
    assert any("batch item 6" in note for note in info.value.__notes__)
    assert sorted(fn.cancelled) == [1, 2, 3, 4, 5, 7]
    assert 8 not in fn.started
    assert calls_running() == []


async def test_stop_on_error_ordered_hands_out_earlier_results_first() -> None:
    # Item 2 fails fast; items 0 and 1 are slower and still come out first;
    # item 3 (after the failure) is cancelled; nothing after it starts.
    fn = Tracker({0: 0.03, 1: 0.02, -2: 0.0, 3: 10.0})
    seen = []
    with pytest.raises(ValueError, match="negative: -2"):
        async for r in run_batch(
            [0, 1, -2, 3, 4, 5], fn, concurrency=4, ordered=True, stop_on_error=True
        ):
            seen.append(r.response)
    assert seen == [0, 10]
    assert fn.cancelled == [3]
    assert 4 not in fn.started and 5 not in fn.started
    assert calls_running() == []


async def test_stop_on_error_ordered_an_earlier_failure_wins() -> None:
    fn = Tracker({-1: 0.03, -2: 0.0})
    with pytest.raises(ValueError, match="negative: -1"):
        async for _ in run_batch(
            [0, -1, -2], fn, concurrency=3, ordered=True, stop_on_error=True
        ):
            pass


async def test_an_input_error_comes_after_the_results_in_flight() -> None:
    def items() -> Iterator[int]:
        yield from range(3)
        raise OSError("disk gone")

    seen = []
    with pytest.raises(OSError, match="disk gone"):
        async for r in run_batch(items(), Tracker(), concurrency=8):
            seen.append(r.index)
    assert sorted(seen) == [0, 1, 2]


# -- closing and cancellation ------------------------------------------------------


async def test_break_inside_async_with_cancels_running_calls() -> None:
    fn = Tracker({i: 10.0 for i in range(1, 100)})
    async with run_batch(range(100), fn, concurrency=5) as batch:
        async for r in batch:
            assert r.index == 0
            break
        assert batch.running == 4
    assert batch.closed and batch.running == 0
    assert sorted(fn.cancelled) == [1, 2, 3, 4]
    assert calls_running() == []
    assert [r async for r in batch] == []  # closed: yields nothing more


async def test_break_out_of_a_bare_loop_cancels_when_the_batch_is_dropped() -> None:
    fn = Tracker({i: 10.0 for i in range(1, 10)})
    async for _ in run_batch(range(10), fn, concurrency=3):
        break
    gc.collect()  # CPython has already finalized it; other interpreters may not
    await asyncio.sleep(0)
    assert sorted(fn.cancelled) == [1, 2]
    assert calls_running() == []


async def test_cancelling_the_consumer_cancels_and_awaits_the_calls() -> None:
    fn = Tracker({i: 10.0 for i in range(10)})
    batch = run_batch(range(10), fn, concurrency=3)

    async def consume() -> None:
        async for _ in batch:
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Already ended when the consumer's cancellation came out of the loop.
    assert sorted(fn.cancelled) == [0, 1, 2]
    assert calls_running() == []
    assert batch.closed


async def test_a_timeout_around_the_loop() -> None:
    fn = Tracker({i: 10.0 for i in range(10)})
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.02), run_batch(range(10), fn) as batch:
            async for _ in batch:
                pass
    assert len(fn.cancelled) == 10
    assert calls_running() == []


async def test_an_error_in_the_loop_body_closes_the_batch() -> None:
    fn = Tracker({i: 10.0 for i in range(1, 10)})
    with pytest.raises(ZeroDivisionError):
        async with run_batch(range(10), fn, concurrency=3) as batch:
            async for _ in batch:
                1 / 0  # noqa: B018
    assert sorted(fn.cancelled) == [1, 2]
    assert calls_running() == []


async def test_aclose_from_another_task_ends_the_loop() -> None:
    fn = Tracker({i: 10.0 for i in range(10)})
    batch = run_batch(range(10), fn, concurrency=2)

    async def consume() -> list[int]:
        return [r.index async for r in batch]

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    await batch.aclose()
    assert await task == []
    assert calls_running() == []


async def _first_then_close(batch: Batch[Any, Any]) -> None:
    async with asyncio.timeout(0.01):
        await anext(batch)


async def test_aclose_is_idempotent_and_closes_generator_inputs() -> None:
    finalized: list[str] = []

    def sync_items() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            finalized.append("sync")

    async def async_items() -> AsyncIterator[int]:
        try:
            for i in range(100):
                yield i
        finally:
            finalized.append("async")

    slow = Tracker({i: 10.0 for i in range(100)})
    for items in (sync_items(), async_items()):
        batch = run_batch(items, slow, concurrency=2)
        with pytest.raises(TimeoutError):
            await _first_then_close(batch)
        await batch.aclose()
        await batch.aclose()
    assert finalized == ["sync", "async"]
    assert calls_running() == []


async def test_a_list_input_is_not_touched_by_closing() -> None:
    items = [1, 2, 3]
    async with run_batch(items, echo) as batch:
        async for _ in batch:
            break
    assert items == [1, 2, 3]


# -- laziness and memory ------------------------------------------------------------


async def test_ordered_window_caps_how_far_ahead_it_runs() -> None:
    # Item 0 is slow: the rest may run ahead by at most `window` items.
    pulled = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield i

    fn = Tracker({0: 0.05})
    batch = run_batch(items(), fn, concurrency=4, ordered=True, window=10)
    async with batch:
        first = await anext(batch)
        assert first.index == 0
        assert pulled == 10  # 0..9 started while 0 was running, no more
        assert [r.index async for r in batch] == list(range(1, 1000))
        assert fn.peak <= 4


@pytest.mark.parametrize("ordered", [False, True], ids=["unordered", "ordered"])
async def test_input_is_read_lazily(*, ordered: bool) -> None:
    pulled = 0

    async def items() -> AsyncIterator[int]:
        nonlocal pulled
        for i in range(2000):
            pulled += 1
            yield i

    window = 2 * 8 if ordered else 8
    delays = {i: random.Random(i).random() / 500 for i in range(2000)}
    async with run_batch(items(), Tracker(delays), concurrency=8, ordered=ordered) as b:
        async for _ in b:
            assert pulled <= b.yielded + window - 1
            assert b.started - b.yielded <= window - 1


async def test_a_million_items_stream_in_bounded_memory() -> None:
    # 10**6 items through a trivial fn. Laziness is checked at every result:
    # the input never runs more than `concurrency` items ahead of what was
    # handed out. Memory: the allocator's block count does not grow over the
    # run, and tracemalloc (slow, so only over the last part) sees a small peak.
    n, concurrency, traced = 1_000_000, 16, 50_000
    pulled = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for i in range(n):
            pulled += 1
            yield i

    async def trivial(x: int) -> int:
        return x

    seen = 0
    ahead = 0
    blocks_at_start = 0
    async with run_batch(items(), trivial, concurrency=concurrency) as batch:
        async for result in batch:
            seen += 1
            ahead = max(ahead, pulled - seen)
            if seen == 10_000:
                blocks_at_start = sys.getallocatedblocks()
            elif seen == n - traced:
                tracemalloc.start()
            del result
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        blocks_at_end = sys.getallocatedblocks()
    assert seen == n == pulled
    assert ahead <= concurrency - 1
    assert peak < 2_000_000  # bytes: the window, not the input
    assert blocks_at_end - blocks_at_start < 5_000


# -- progress bar -------------------------------------------------------------------


class FakeBar:
    instances: list[FakeBar] = []  # noqa: RUF012

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.n = 0
        self.closed = False
        FakeBar.instances.append(self)

    def update(self, k: int) -> None:
        self.n += k

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> type[FakeBar]:
    FakeBar.instances = []
    module = types.ModuleType("tqdm.auto")
    module.tqdm = FakeBar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", module)
    return FakeBar


async def test_progress_bar_counts_results_and_closes(fake_tqdm: type[FakeBar]) -> None:
    batch = run_batch([1, 2, 3], echo, progress=True)
    (bar,) = fake_tqdm.instances  # made eagerly, so a missing tqdm fails early
    assert bar.options == {"total": 3, "unit": "req"}
    assert [r.index async for r in batch] != []
    assert bar.n == 3 and bar.closed


async def test_progress_options_and_total(fake_tqdm: type[FakeBar]) -> None:
    batch = run_batch(iter([1, 2]), echo, progress={"desc": "prompts"}, total=2)
    async with batch:
        async for _ in batch:
            break
    (bar,) = fake_tqdm.instances
    assert bar.options == {"total": 2, "unit": "req", "desc": "prompts"}
    assert bar.n == 1 and bar.closed


def test_progress_without_tqdm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"ollama-async\[progress\]"):
        run_batch([1], echo, progress=True)
    run_batch([1], echo, progress=False)  # no tqdm needed


async def test_progress_with_the_real_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    async with run_batch(range(5), echo, progress={"file": sys.stderr}) as batch:
        assert len([r async for r in batch]) == 5
    assert "5/5" in capsys.readouterr().err


def test_module_import_does_not_import_tqdm() -> None:
    import subprocess

    code = "import sys, ollama_async; print('tqdm' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# -- arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"concurrency": 0}, id="concurrency-0"),
        pytest.param({"concurrency": True}, id="concurrency-bool"),
        pytest.param({"concurrency": 1.5}, id="concurrency-float"),
        pytest.param({"window": 0}, id="window-0"),
    ],
)
def test_bad_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be a positive int"):
        run_batch([1], echo, **kwargs)


def test_not_iterable() -> None:
    with pytest.raises(RequestError, match="iterable"):
        run_batch(42, echo)  # type: ignore[arg-type]


async def test_repr() -> None:
    batch = run_batch([1], echo)
    assert repr(batch) == "<Batch 0/0 done (0 running)>"
    await batch.aclose()
    assert repr(batch) == "<Batch 0/0 done (closed)>"


# -- against the emulator ---------------------------------------------------------


async def test_client_batch_of_chat_requests(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    requests = [
        {"model": "llama3.2", "messages": [{"role": "user", "content": f"q{i}"}]}
        for i in range(12)
    ]
    async with client.batch(requests, concurrency=4, ordered=True) as batch:
        results = [r async for r in batch]
    assert [r.index for r in results] == list(range(12))
    for r, request in zip(results, requests, strict=True):
        assert r.request is request
        assert isinstance(r.response, ChatResponse)
        assert r.response.done
    assert len(fake_ollama.requests) == 12
    assert {q.json["stream"] for q in fake_ollama.requests} == {False}


async def test_client_batch_streamed_requests_are_folded(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    requests = [{"model": "llama3.2", "messages": HI, "stream": True}] * 3
    results = [r async for r in client.batch(requests)]
    plain = await client.chat("llama3.2", messages=HI)
    for r in results:
        assert isinstance(r.response, ChatResponse)
        assert r.response.message.content == plain.message.content
    assert [q.json["stream"] for q in fake_ollama.requests] == [True] * 3 + [False]


async def test_client_batch_with_a_function(client: AsyncClient) -> None:
    async def summarize(c: AsyncClient, text: str) -> GenerateResponse:
        return await c.generate("llama3.2", f"Summarize: {text}")

    batch = client.batch(["a", "b", "c"], summarize, concurrency=2, ordered=True)
    results = [r async for r in batch]
    assert [r.request for r in results] == ["a", "b", "c"]
    assert all(isinstance(r.response, GenerateResponse) for r in results)


async def test_client_batch_failures_are_results(client: AsyncClient) -> None:
    requests: list[dict[str, Any]] = [
        {"model": "llama3.2", "messages": HI},
        {"model": "no-such-model", "messages": HI},
        {"model": "", "messages": HI},
        {"model": "llama3.2", "messages": HI, "bogus": 1},
        {"model": "llama3.2", "messages": HI},
    ]
    results = [r async for r in client.batch(requests, ordered=True)]
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert isinstance(results[1].error, NotFoundError)
    assert isinstance(results[2].error, RequestError)
    assert isinstance(results[3].error, TypeError)


async def test_break_closes_streamed_requests_on_the_server(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.tokens_per_second = 20  # each answer takes over a second
    fake_ollama.response_tokens = 40
    fast = {"model": "llama3.2", "messages": HI, "options": {"num_predict": 1}}
    slow = {"model": "llama3.2", "messages": HI, "stream": True}
    requests = [fast] + [slow] * 50
    async with client.batch(requests, concurrency=6) as batch:
        async for r in batch:
            assert r.ok and r.index == 0
            await fake_ollama.wait_until(lambda: fake_ollama.active_streams == 5)
            break
    # Closed by the time `async with` exits: no call left, sockets dropped.
    assert calls_running() == []
    await fake_ollama.wait_for_disconnects(5)
    await fake_ollama.wait_for_idle()
    assert fake_ollama.active_streams == 0
    assert fake_ollama.disconnects == 5
    assert len(fake_ollama.requests) == 6  # nothing started after the break
    # The client and its pool are fine afterwards.
    assert (await client.chat(**fast)).done


async def test_cancelling_a_batch_task_closes_its_connections(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.tokens_per_second = 20
    fake_ollama.response_tokens = 40
    requests = (
        {"model": "llama3.2", "messages": HI, "stream": True} for _ in range(100)
    )

    async def consume() -> None:
        async for _ in client.batch(requests, concurrency=8):
            pass  # pragma: no cover - nothing finishes in time

    task = asyncio.create_task(consume())
    await fake_ollama.wait_until(lambda: fake_ollama.active_streams == 8)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls_running() == []
    await fake_ollama.wait_for_disconnects(8)
    await fake_ollama.wait_for_idle()
    assert fake_ollama.disconnects == 8


async def test_a_timeout_cancels_waiting_non_streamed_requests(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.first_token_delay = 30  # the headers never come in time
    requests = [{"model": "llama3.2", "messages": HI}] * 20
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3), client.batch(requests, concurrency=4) as batch:
            async for _ in batch:
                pass  # pragma: no cover
    assert calls_running() == []
    await fake_ollama.wait_for_disconnects(4)
    assert fake_ollama.disconnects == 4
    assert len(fake_ollama.requests) == 4


async def test_stop_on_error_cancels_streams_in_flight(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.tokens_per_second = 20
    fake_ollama.response_tokens = 40
    slow = {"model": "llama3.2", "messages": HI, "stream": True}
    bad = {"model": "no-such-model", "messages": HI}
    requests = [slow, slow, slow, bad, slow, slow]

    async def stall_then_fail() -> None:
        async for _ in client.batch(requests, concurrency=4, stop_on_error=True):
            pass  # pragma: no cover

    with pytest.raises(NotFoundError) as info:
        await stall_then_fail()
    assert "batch item 3" in info.value.__notes__[0]
    assert calls_running() == []
    await fake_ollama.wait_for_disconnects(3)
    await fake_ollama.wait_for_idle()
    # The four chats; the missing model's error also asked /api/tags once
    # for close names.
    assert [r.path for r in fake_ollama.requests].count("/api/chat") == 4
