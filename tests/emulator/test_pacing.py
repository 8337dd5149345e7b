"""Pacing under load: ``num_parallel`` slots, the ``max_queue`` queue, and
the load counters, as Ollama's ``OLLAMA_NUM_PARALLEL`` and ``OLLAMA_MAX_QUEUE``.

Answers are 4 tokens at 20 tokens/s, so one run takes about 0.2 s. Order is
checked through the server's counters rather than clocks: a later request's
first line comes only once an earlier stream has completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json

import pytest

from ollama_async.testing import FakeOllama
from ollama_async.testing.__main__ import build_parser
from ollama_async.testing._serve import serve
from ollama_async.testing._slots import Slots, Ticket

from .conftest import Reply, error

BUSY = "server busy, please try again.  maximum pending requests exceeded"
GEN = {"model": "llama3.2", "prompt": "Hi"}
SLOW = {"tokens_per_second": 20, "response_tokens": 4}
# Requests that only load or unload, with a key of their answer.
LOAD_ONLY = [
    ("/api/generate", {"model": "llama3.2"}, {"done_reason": "load"}),
    ("/api/chat", {"model": "llama3.2"}, {"done_reason": "load"}),
    ("/api/embed", {"model": "nomic-embed-text"}, {"embeddings": []}),
    ("/api/embeddings", {"model": "nomic-embed-text"}, {"embedding": []}),
    (
        "/api/generate",
        {"model": "qwen3:8b", "keep_alive": 0},
        {"done_reason": "unload"},
    ),
]


async def send(http, server, body=GEN, path="/api/generate"):
    """The reply, and how many streams had completed at its first line."""
    async with http.post(server.url + path, json=body) as resp:
        first = await resp.content.readline()
        completed = server.completed_streams
        body = first + await resp.read()
        return Reply(resp.status, resp.headers, body), completed


async def start(http, server, body=GEN, *, running, queued):
    """Send ``body`` in a task, once the server holds ``running``/``queued``."""
    task = asyncio.create_task(send(http, server, body))
    await server.wait_until(
        lambda: (server.running, server.queued) == (running, queued), timeout=1
    )
    return task


async def test_num_parallel_runs_two_and_queues_the_rest(http):
    async with FakeOllama(num_parallel=2, **SLOW) as server:
        tasks = [
            await start(http, server, running=1, queued=0),
            await start(http, server, running=2, queued=0),
            await start(http, server, running=2, queued=1),
            await start(http, server, running=2, queued=2),
        ]
        results = await asyncio.gather(*tasks)
        assert [reply.status for reply, _ in results] == [200] * 4
        started_after = [completed for _, completed in results]
        assert started_after[:2] == [0, 0]
        assert min(started_after[2:]) >= 1
        assert (server.peak_running, server.running, server.queued) == (2, 0, 0)
        assert server.busy_rejections == 0
        # As in Ollama, the wait counts in the total only.
        # (Relative, not absolute, bounds: a loaded machine slows every part.)
        final = results[3][0].lines[-1]
        parts = sum(final[k] for k in ("load_duration", "prompt_eval_duration"))
        assert final["total_duration"] > 0.3e9
        assert final["total_duration"] - parts - final["eval_duration"] > 0.2e9


@pytest.mark.parametrize("max_queue", [0, 1])
async def test_max_queue_answers_busy_beyond_it(http, max_queue):
    async with FakeOllama(num_parallel=1, max_queue=max_queue, **SLOW) as server:
        tasks = [await start(http, server, running=1, queued=0)]
        for waiting in range(1, max_queue + 1):
            tasks.append(await start(http, server, running=1, queued=waiting))
        async with http.post(server.url + "/api/generate", json=GEN) as resp:
            busy = Reply(resp.status, resp.headers, await resp.read())
        assert (busy.status, error(busy)) == (503, BUSY)
        assert server.busy_rejections == 1
        # A load only takes no slot, so it is not turned away.
        reply, _ = await send(http, server, {"model": "llama3.2"})
        assert reply.json["done_reason"] == "load"
        results = await asyncio.gather(*tasks)
        assert [reply.status for reply, _ in results] == [200] * (max_queue + 1)
        assert server.peak_running == 1


async def test_a_request_whose_client_leaves_the_queue_gives_up_its_turn(http):
    async with FakeOllama(num_parallel=1, **SLOW) as server:
        # A non-streamed answer holds its slot until it is written too.
        first = await start(http, server, GEN | {"stream": False}, running=1, queued=0)
        leaving = await start(http, server, running=1, queued=1)
        last = await start(http, server, running=1, queued=2)
        leaving.cancel()
        await server.wait_for_disconnects(1, timeout=1)
        assert (server.running, server.queued) == (1, 1)
        (reply, _), (last_reply, _) = await asyncio.gather(first, last)
        assert reply.json["done"] is True
        assert last_reply.lines[-1]["done"] is True
        assert server.completed_streams == 1  # the leaver never ran
        assert (server.peak_running, server.running, server.queued) == (1, 0, 0)
        with pytest.raises(asyncio.CancelledError):
            await leaving


async def test_loads_and_unloads_never_wait_for_a_slot(http):
    async with FakeOllama(num_parallel=1, **SLOW) as server:
        running = await start(http, server, running=1, queued=0)
        for path, body, expected in LOAD_ONLY:
            reply, completed = await send(http, server, body, path)
            assert expected.items() <= reply.json.items(), path
            assert completed == 0  # the stream is still running
        assert server.queued == 0
        await running


async def test_max_concurrency_counts_the_queue_and_stays_a_cap(http):
    async with FakeOllama(num_parallel=1, max_concurrency=1, **SLOW) as server:
        running = await start(http, server, running=1, queued=0)
        reply, _ = await send(http, server)
        assert (reply.status, error(reply)) == (503, BUSY)
        assert (server.busy_rejections, server.queued) == (1, 0)
        await running
        server.reset_stats()
        assert (server.busy_rejections, server.peak_running) == (0, 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"num_parallel": 0}, id="no-slots"),
        pytest.param({"max_queue": -1}, id="negative-queue"),
    ],
)
def test_limits_are_checked(kwargs):
    with pytest.raises(ValueError, match="must be at least"):
        FakeOllama(**kwargs)


# --- the slots without sockets --------------------------------------------------


async def test_a_slot_handed_over_to_a_cancelled_waiter_is_given_back():
    slots = Slots(lambda: None)
    holder, waiter = Ticket(), Ticket()
    assert await slots.take(holder, 1, None)
    task = asyncio.create_task(slots.take(waiter, 1, None))
    await asyncio.sleep(0)
    assert slots.queued == 1
    slots.give_back(holder, 1)  # the waiter's turn, before its task resumes
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (waiter.running, slots.running, slots.queued) == (True, 1, 0)
    slots.give_back(waiter, 1)
    assert (slots.running, slots.peak) == (0, 1)


async def test_a_cancelled_waiter_is_skipped_and_a_raised_limit_lets_more_run():
    slots = Slots(lambda: None)
    holder, leaver, waiter = Ticket(), Ticket(), Ticket()
    assert await slots.take(holder, 1, None)
    leaving = asyncio.create_task(slots.take(leaver, 1, None))
    waiting = asyncio.create_task(slots.take(waiter, 1, None))
    await asyncio.sleep(0)
    leaving.cancel()  # its future is cancelled now, its task resumes later
    assert await slots.take(Ticket(), 3, None)  # the limit went up to 3
    assert await waiting
    assert (leaver.running, waiter.running, slots.running) == (False, True, 3)
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert slots.queued == 0


# --- the command line -------------------------------------------------------------


def test_cli_options_parse_and_name_the_ollama_variables():
    parser = build_parser()
    args = parser.parse_args(["--num-parallel", "2", "--max-queue", "0"])
    assert (args.num_parallel, args.max_queue) == (2, 0)
    defaults = parser.parse_args([])
    assert (defaults.num_parallel, defaults.max_queue) == (None, None)
    text = " ".join(parser.format_help().split())
    for option in ["--num-parallel N", "OLLAMA_NUM_PARALLEL", "--max-queue N"]:
        assert option in text
    assert "OLLAMA_MAX_QUEUE" in text


@pytest.mark.parametrize(
    "argv",
    [["--num-parallel", "0"], ["--num-parallel", "x"], ["--max-queue", "-1"]],
)
def test_cli_options_refuse_bad_counts(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2
    assert "expected an integer" in capsys.readouterr().err


async def test_serve_passes_the_limits_on(http):
    argv = ["--port", "0", "--num-parallel", "1", "--max-queue", "0"]
    argv += ["--tokens-per-second", "20", "--response-tokens", "4"]
    out = io.StringIO()
    serving = asyncio.create_task(
        serve(build_parser().parse_args(argv), out, signals=False)
    )
    try:
        async with asyncio.timeout(1):
            while not out.getvalue():
                await asyncio.sleep(0.01)
        url = out.getvalue().split()[-1]
        async with http.post(url + "/api/generate", json=GEN) as first:
            await first.content.readline()
            async with http.post(url + "/api/generate", json=GEN) as second:
                assert second.status == 503
                assert json.loads(await second.read()) == {"error": BUSY}
            await first.read()
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
