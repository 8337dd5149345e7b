"""``ollama_async.ray``: the processor and the callable class, in this process
and on a real local Ray cluster against emulator hosts run as processes (so
that one can be killed mid-run).

The cluster tests share one ``ray.init`` (it takes seconds) and stay few.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

ray = pytest.importorskip(
    "ray.data", reason="Ray Data is not installed (pip install 'ollama-async[ray]')"
)
pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

from ray import cloudpickle  # noqa: E402

from ollama_async import RequestError, Retry  # noqa: E402
from ollama_async.ray import (  # noqa: E402
    OllamaProcessor,
    OllamaProcessorConfig,
    OllamaUDF,
    build_ollama_processor,
)
from ollama_async.testing import FakeOllama  # noqa: E402

ERROR = "__inference_error__"

# Ray Data's context warns about its own deprecated settings as it copies
# them (ray/data/context.py); nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

# Ray workers cannot import this test module: send its functions and classes
# by value, as they would be from a notebook or a driver script.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class City(msgspec.Struct):
    name: str
    population: int


# -- configuration (no cluster) ----------------------------------------------------


def test_config_makes_the_job_and_checks_its_values() -> None:
    config = OllamaProcessorConfig(model="llama3.2", task="generate", system="S")
    assert (config.job.task, config.job.model, config.job.system) == (
        "generate",
        "llama3.2",
        "S",
    )
    assert "job=" not in repr(config)
    for bad in (
        {"batch_size": 0},
        {"concurrency": (3, 2)},
        {"concurrency": (1, 2, 3)},
        {"concurrency": 0},
        {"max_concurrent_requests": True},
        {"num_cpus": -1},
        {"hosts": []},
        {"task": "rerank"},
    ):
        with pytest.raises(RequestError):
            OllamaProcessorConfig(**bad)


def test_config_makes_one_client_per_call() -> None:
    one = OllamaProcessorConfig(hosts="http://127.0.0.1:1").make_client()
    assert type(one).__name__ == "AsyncClient"
    assert one.base_url == "http://127.0.0.1:1"
    single = OllamaProcessorConfig(hosts=["http://127.0.0.1:1"]).make_client()
    assert type(single).__name__ == "AsyncClient"
    config = OllamaProcessorConfig(
        hosts=["http://127.0.0.1:1", "http://127.0.0.1:2"],
        retry=Retry.never(),
        client_kwargs={"refresh_interval": 0},
    )
    several = config.make_client()
    assert type(several).__name__ == "MultiHostClient"
    assert several.retry == Retry.never()


def test_processor_map_batches_arguments() -> None:
    fixed = build_ollama_processor(
        OllamaProcessorConfig(concurrency=3, batch_size=8, num_cpus=0.25),
        preprocess=dict,
    )
    assert isinstance(fixed, OllamaProcessor)
    kwargs = fixed.map_batches_kwargs()
    assert kwargs["compute"].min_size == kwargs["compute"].max_size == 3
    assert kwargs["batch_size"] == 8 and kwargs["num_cpus"] == 0.25
    assert kwargs["batch_format"] == "pyarrow"
    assert kwargs["compute"].max_concurrent_calls_per_actor == 4
    assert kwargs["fn_constructor_kwargs"]["preprocess"] is dict
    scaling = build_ollama_processor(OllamaProcessorConfig(concurrency=(1, 4)))
    compute = scaling.map_batches_kwargs()["compute"]
    assert (compute.min_size, compute.max_size) == (1, 4)
    assert "num_cpus" not in scaling.map_batches_kwargs()
    assert "OllamaProcessor" in repr(scaling)


def test_udf_needs_a_config() -> None:
    with pytest.raises(RequestError, match="OllamaProcessorConfig"):
        OllamaUDF({"model": "llama3.2"})  # type: ignore[arg-type]


def test_import_error_names_the_extra() -> None:
    code = "import sys; sys.modules['ray'] = None; import ollama_async.ray"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "pip install 'ollama-async[ray]'" in result.stderr


# -- the callable class in this process ----------------------------------------------


async def call(udf: OllamaUDF, batch: Any) -> dict[str, list[Any]]:
    outputs = [out async for out in udf(batch)]
    assert len(outputs) == 1
    return outputs[0]


@pytest.mark.parametrize(
    "make_batch",
    [
        pytest.param(pa.Table.from_pylist, id="pyarrow"),
        pytest.param(pd.DataFrame, id="pandas"),
        pytest.param(
            lambda rows: {k: [r.get(k) for r in rows] for k in rows[0]}, id="dict"
        ),
    ],
)
async def test_udf_takes_every_batch_format(
    fake_ollama: FakeOllama, make_batch: Callable[[list[dict[str, Any]]], Any]
) -> None:
    config = OllamaProcessorConfig(model="llama3.2", hosts=fake_ollama.url)
    udf = OllamaUDF(config)
    rows = [{"id": i, "prompt": f"q{i}"} for i in range(5)]
    out = await call(udf, make_batch(rows))
    assert out["id"] == list(range(5))
    assert out[ERROR] == [""] * 5
    assert all(out["generated_text"])
    await udf.aclose()


async def test_udf_batches_of_one_actor_share_the_request_bound(
    fake_ollama: FakeOllama,
) -> None:
    config = OllamaProcessorConfig(
        model="llama3.2", hosts=fake_ollama.url, max_concurrent_requests=3
    )
    fake_ollama.tokens_per_second = 200
    udf = OllamaUDF(config, postprocess=lambda row: {"i": row["i"]})
    batches = [
        pa.Table.from_pylist([{"i": b * 10 + i, "prompt": "x"} for i in range(10)])
        for b in range(3)
    ]
    outs = await asyncio.gather(*(call(udf, batch) for batch in batches))
    assert [out["i"] for out in outs] == [
        list(range(b * 10, b * 10 + 10)) for b in range(3)
    ]
    assert outs[0][ERROR] == [""] * 10
    assert fake_ollama.peak_running == 3
    empty = await call(udf, pa.Table.from_pylist([]))
    assert empty == {}
    await udf.aclose()


async def test_udf_error_rows_keep_their_columns(fake_ollama: FakeOllama) -> None:
    config = OllamaProcessorConfig(model="llama3.2", hosts=fake_ollama.url)
    udf = OllamaUDF(config, postprocess=lambda row: {"answer": row["generated_text"]})
    batch = pa.Table.from_pylist([{"prompt": "x", "id": 1}, {"prompt": None, "id": 2}])
    out = await call(udf, batch)
    assert out["answer"] == [out["answer"][0], None]
    assert out["id"] == [None, 2]  # postprocess dropped it; the error row kept it
    assert out[ERROR][0] == "" and out[ERROR][1].startswith("RequestError: ")
    await udf.aclose()


def test_udf_closes_its_client_when_dropped(fake_ollama_url: str) -> None:
    loop = asyncio.new_event_loop()
    thread = _loop_thread(loop)
    try:
        udf = OllamaUDF(OllamaProcessorConfig(model="llama3.2", hosts=fake_ollama_url))
        batch = pa.Table.from_pylist([{"prompt": "x"}])
        asyncio.run_coroutine_threadsafe(call(udf, batch), loop).result(10)
        client = udf._client
        del udf  # as Ray does when the actor ends
        assert client.is_closed
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _loop_thread(loop: asyncio.AbstractEventLoop) -> threading.Thread:
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def fake_ollama_url() -> Iterator[str]:
    """An emulator host in a process of its own (the test's thread stays free)."""
    host = EmulatorHost()
    try:
        yield host.url
    finally:
        host.stop()


# -- emulator hosts as processes ------------------------------------------------------


class EmulatorHost:
    """``python -m ollama_async.testing`` in a process, stopped by its PID."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ollama_async.testing", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        assert banner.startswith("FakeOllama listening on "), banner
        self.url = banner.split()[-1]

    def kill(self) -> None:
        """SIGKILL: the host dies with requests in flight, nothing flushed."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def hosts() -> Iterator[Callable[..., list[EmulatorHost]]]:
    started: list[EmulatorHost] = []

    def start(count: int, *options: str) -> list[EmulatorHost]:
        new = [EmulatorHost(*options) for _ in range(count)]
        started.extend(new)
        return new

    yield start
    for host in started:
        host.stop()


# -- a real Ray cluster ---------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray_core = pytest.importorskip("ray")
    ray_core.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    context = ray.DataContext.get_current()
    context.enable_progress_bars = False
    try:
        yield
    finally:
        ray_core.shutdown()


# Paced like a model: 2 parallel slots per host, 10 tokens at 200 tokens/s.
PACED = ("--num-parallel", "2", "--tokens-per-second", "200", "--response-tokens", "10")


def fleet_config(urls: list[str], **overrides: Any) -> OllamaProcessorConfig:
    settings: dict[str, Any] = {
        "model": "llama3.2",
        "hosts": urls,
        "concurrency": 2,
        "batch_size": 16,
        "num_cpus": 0.5,
        "max_concurrent_requests": 8,
        "retry": Retry(attempts=3, backoff=0.05, max_backoff=0.2),
        "client_kwargs": {"min_backoff": 0.05, "max_backoff": 0.2},
    }
    settings.update(overrides)
    return OllamaProcessorConfig(**settings)


@pytest.mark.timeout(180)
def test_cluster_rows_in_equal_rows_out(
    cluster: None, hosts: Callable[..., list[EmulatorHost]]
) -> None:
    urls = [h.url for h in hosts(2, *PACED)]
    processor = build_ollama_processor(
        fleet_config(urls, format=City, system="Answer in JSON."),
        preprocess=lambda row: {"prompt": f"City number {row['id']}"},
        postprocess=lambda row: {
            "id": row["id"],
            "city": row["parsed"],
            "tokens": row["num_generated_tokens"],
        },
    )
    rows = processor(ray.range(200)).take_all()
    assert sorted(row["id"] for row in rows) == list(range(200))
    assert all(row[ERROR] == "" for row in rows)
    assert all(set(row["city"]) == {"name", "population"} for row in rows)
    assert all(row["tokens"] > 0 for row in rows)


@pytest.mark.timeout(180)
def test_cluster_callable_class_embeds(
    cluster: None, hosts: Callable[..., list[EmulatorHost]]
) -> None:
    (host,) = hosts(1)
    config = OllamaProcessorConfig(
        task="embed", model="nomic-embed-text", hosts=host.url, dimensions=8
    )
    ds = ray.from_items([{"input": f"text {i}"} for i in range(50)])
    ds = ds.map_batches(
        OllamaUDF,
        fn_constructor_kwargs={"config": config},
        batch_size=10,
        compute=ray.ActorPoolStrategy(size=1, max_concurrent_calls_per_actor=2),
        num_cpus=0.5,
    )
    rows = ds.take_all()
    assert sorted(row["input"] for row in rows) == sorted(
        f"text {i}" for i in range(50)
    )
    assert all(len(row["embeddings"]) == 8 and row[ERROR] == "" for row in rows)


def run_and_kill(
    processor: OllamaProcessor, total: int, delay: float, victims: list[EmulatorHost]
) -> tuple[list[dict[str, Any]], int, float]:
    """Stream the rows out; SIGKILL ``victims`` ``delay`` seconds after the
    first row arrived. Returns the rows, how many had arrived at the kill,
    and the seconds the run went on after it."""
    rows: list[dict[str, Any]] = []
    killed: list[tuple[int, float]] = []

    def kill() -> None:
        for victim in victims:
            victim.kill()
        killed.append((len(rows), time.monotonic()))

    timer = threading.Timer(delay, kill)
    # Blocks of 10 rows, so rows come out as they are answered.
    dataset = processor(ray.range(total, override_num_blocks=total // 10))
    try:
        for row in dataset.iter_rows():
            rows.append(row)
            if len(rows) == 1:
                timer.start()
    finally:
        timer.cancel()
    assert killed, "the run ended before the kill"
    arrived, at = killed[0]
    return rows, arrived, time.monotonic() - at


@pytest.mark.timeout(240)
def test_cluster_one_host_killed_mid_run_loses_nothing(
    cluster: None, hosts: Callable[..., list[EmulatorHost]]
) -> None:
    fleet = hosts(2, *PACED)
    processor = build_ollama_processor(
        fleet_config([h.url for h in fleet]),
        preprocess=lambda row: {"prompt": f"q{row['id']}"},
    )
    rows, arrived, after = run_and_kill(processor, 400, 1.5, fleet[:1])
    errors = [row[ERROR] for row in rows if row[ERROR]]
    print(
        f"\none host of 2 killed with {arrived} of 400 rows out: {len(rows)} rows "
        f"out in all, {len(errors)} error rows; the run went on {after:.1f} s"
    )
    assert sorted(row["id"] for row in rows) == list(range(400))
    assert errors == []
    assert arrived < 300 and after > 1.0  # killed well before the end


@pytest.mark.timeout(240)
def test_cluster_every_host_killed_still_returns_every_row(
    cluster: None, hosts: Callable[..., list[EmulatorHost]]
) -> None:
    fleet = hosts(2, *PACED)
    processor = build_ollama_processor(
        fleet_config([h.url for h in fleet]),
        preprocess=lambda row: {"prompt": f"q{row['id']}"},
    )
    rows, arrived, _ = run_and_kill(processor, 300, 1.0, fleet)
    failed = [row for row in rows if row[ERROR]]
    kinds = sorted({row[ERROR].split(":")[0] for row in failed})
    print(
        f"\nboth hosts killed with {arrived} of 300 rows out: {len(rows)} rows out "
        f"in all, {len(rows) - len(failed)} answered, {len(failed)} error rows {kinds}"
    )
    assert sorted(row["id"] for row in rows) == list(range(300))
    # Rows answered before the kill are kept (some had not reached the
    # driver yet); every row after it is an error row, not a failed block.
    assert 0 < len(failed) <= 300 - arrived
    assert set(kinds) <= {"ConnectError", "RemoteProtocolError"}
    assert all(row["generated_text"] is None for row in failed)
    assert all(row["generated_text"] for row in rows if not row[ERROR])
