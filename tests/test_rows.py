"""Rows as calls and answers as columns (``RowJob``, ``process_row``,
``process_rows``): what is sent for each column, what comes back, and that a
failing row is a row with an error, never an exception."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from collections.abc import Iterator
from typing import Any, TypedDict

import msgspec
import pytest

from ollama_async import (
    AsyncClient,
    MultiHostClient,
    RequestError,
    Retry,
    RowJob,
    process_row,
    process_rows,
)
from ollama_async._rows import ERROR_COLUMN, make_client
from ollama_async.testing import FakeOllama


class City(msgspec.Struct):
    name: str
    population: int


@dataclasses.dataclass
class Town:
    name: str
    population: int


class Village(TypedDict):
    name: str
    population: int


def bodies(server: FakeOllama, path: str) -> list[Any]:
    return [r.json for r in server.requests if r.path == path]


async def rows_of(client: AsyncClient, rows: list[dict[str, Any]], job: RowJob) -> Any:
    return [await process_row(client, row, job) for row in rows]


# -- the job ------------------------------------------------------------------


def test_job_is_a_frozen_value_that_pickles() -> None:
    job = RowJob(task="generate", model="llama3.2", format=City, options={"seed": 1})
    copy = pickle.loads(pickle.dumps(job))
    assert copy == job
    assert copy._sent_format == job._sent_format
    assert "_sent_format" not in repr(job)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.model = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"task": "rerank"}, "task must be one of", id="task"),
        pytest.param({"model": "bad name"}, "whitespace", id="model"),
        pytest.param({"options": [1]}, "options", id="options"),
        pytest.param({"think": "very"}, "think", id="think"),
        pytest.param({"format": 3}, "format", id="format"),
        pytest.param({"task": "embed", "format": "json"}, "embed", id="embed-format"),
        pytest.param({"dimensions": -1}, "dimensions", id="dimensions"),
    ],
)
def test_job_checks_its_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        RowJob(**kwargs)


def test_output_columns_follow_the_job() -> None:
    assert RowJob().output_columns() == (
        "generated_text",
        "num_input_tokens",
        "num_generated_tokens",
        "done_reason",
        "time_taken_llm",
        ERROR_COLUMN,
    )
    thinking = RowJob(think=True, format="json").output_columns()
    assert thinking[3:5] == ("thinking", "parsed")
    assert RowJob(task="embed").output_columns() == (
        "embeddings",
        "num_input_tokens",
        "time_taken_llm",
        ERROR_COLUMN,
    )


# -- one row --------------------------------------------------------------------


async def test_chat_prompt_row(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    row = {"id": 7, "prompt": "Why is the sky blue?"}
    out = await process_row(client, row, RowJob(model="llama3.2"))
    assert out["id"] == 7 and out["prompt"] == row["prompt"]
    assert out["generated_text"]
    assert out["num_input_tokens"] > 0 and out["num_generated_tokens"] > 0
    assert out["done_reason"] == "stop"
    assert out["time_taken_llm"] > 0
    assert out[ERROR_COLUMN] == ""
    assert list(out)[2:] == list(RowJob().output_columns())
    sent = bodies(fake_ollama, "/api/chat")[0]
    assert sent["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]
    assert sent["model"] == "llama3.2"
    assert row == {"id": 7, "prompt": "Why is the sky blue?"}  # not changed


async def test_messages_system_and_model_columns(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    hi = [{"role": "user", "content": "Hi", "images": None}]
    job = RowJob(model="llama3.2", system="Be brief.")
    rows = [
        {"messages": hi, "prompt": "ignored"},
        {"messages": hi, "system": "Be long.", "model": "qwen3:8b"},
    ]
    outs = await rows_of(client, rows, job)
    assert [o[ERROR_COLUMN] for o in outs] == ["", ""]
    first, second = bodies(fake_ollama, "/api/chat")
    assert first["model"] == "llama3.2"
    assert first["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert second["model"] == "qwen3:8b"
    assert second["messages"][0] == {"role": "system", "content": "Be long."}


async def test_generate_with_system_and_thinking(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    job = RowJob(task="generate", model="qwen3:8b", system="S", think=True)
    out = await process_row(client, {"prompt": "Why?"}, job)
    assert out[ERROR_COLUMN] == ""
    assert out["generated_text"] and out["thinking"]
    sent = bodies(fake_ollama, "/api/generate")[0]
    assert (sent["prompt"], sent["system"], sent["think"]) == ("Why?", "S", True)


async def test_embed_rows(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    job = RowJob(task="embed", model="nomic-embed-text", dimensions=64)
    outs = await rows_of(client, [{"input": "a"}, {"prompt": "b"}], job)
    for out in outs:
        assert out[ERROR_COLUMN] == ""
        assert len(out["embeddings"]) == 64
        assert isinstance(out["embeddings"][0], float)
        assert out["num_input_tokens"] > 0
    assert [b["input"] for b in bodies(fake_ollama, "/api/embed")] == ["a", "b"]


async def test_options_merge_job_sampling_params_and_options(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    job = RowJob(model="llama3.2", options={"temperature": 0.5, "seed": 1})
    row = {
        "prompt": "x",
        "sampling_params": {"max_tokens": 5, "repetition_penalty": 1.1, "top_p": None},
        "options": {"seed": 2},
    }
    out = await process_row(client, row, job)
    assert out["num_generated_tokens"] == 5
    assert bodies(fake_ollama, "/api/chat")[0]["options"] == {
        "temperature": 0.5,
        "seed": 2,
        "num_predict": 5,
        "repeat_penalty": 1.1,
    }


async def test_values_from_numpy_and_pandas(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    np = pytest.importorskip("numpy")
    messages = np.array([{"role": "user", "content": np.str_("Hi")}], dtype=object)
    row = {"messages": messages, "options": {"seed": np.int64(3)}}
    out = await process_row(client, row, RowJob(model="llama3.2"))
    assert out[ERROR_COLUMN] == ""
    sent = bodies(fake_ollama, "/api/chat")[0]
    assert sent["options"] == {"seed": 3}
    assert sent["messages"] == [{"role": "user", "content": "Hi"}]


class Pet(TypedDict):
    name: str


@pytest.mark.parametrize(
    "format",
    [City, Town, Village, "json", msgspec.json.schema(City)],
    ids=["struct", "dataclass", "typeddict", "json", "schema"],
)
async def test_structured_output_is_parsed_into_builtins(
    client: AsyncClient, format: Any
) -> None:
    out = await process_row(
        client, {"prompt": "A city."}, RowJob(model="llama3.2", format=format)
    )
    assert out[ERROR_COLUMN] == ""
    assert isinstance(out["parsed"], dict)
    if format != "json":
        assert set(out["parsed"]) == {"name", "population"}
        assert msgspec.json.decode(out["generated_text"]) == out["parsed"]


async def test_pydantic_output_is_dumped(client: AsyncClient) -> None:
    pydantic = pytest.importorskip("pydantic")
    model = pydantic.create_model("Place", name=(str, ...), population=(int, ...))
    out = await process_row(
        client, {"prompt": "x"}, RowJob(model="llama3.2", format=model)
    )
    assert out[ERROR_COLUMN] == ""
    assert set(out["parsed"]) == {"name", "population"}


async def test_a_struct_that_lost_its_fields_is_read_as_plain_json(
    client: AsyncClient,
) -> None:
    # What cloudpickle makes of a Struct defined in __main__ in another process.
    hollow = type(msgspec.Struct)("City", (msgspec.Struct,), {})
    hollow.__annotations__ = {"name": str, "population": int}
    job = dataclasses.replace(RowJob(model="llama3.2", format=City))
    object.__setattr__(job, "format", hollow)
    out = await process_row(client, {"prompt": "x"}, job)
    assert set(out["parsed"]) == {"name", "population"}


# -- failures stay in their row ---------------------------------------------------


@pytest.mark.parametrize(
    ("job", "row", "error"),
    [
        pytest.param(
            RowJob(model="llama3.2"),
            {"id": 1},
            "RequestError: a chat row",
            id="no-prompt",
        ),
        pytest.param(
            RowJob(task="generate", model="llama3.2"),
            {"messages": []},
            "RequestError: a generate row needs",
            id="generate-no-prompt",
        ),
        pytest.param(
            RowJob(task="embed", model="nomic-embed-text"),
            {"input": ["a", "b"]},
            "RequestError: an embed row needs one text",
            id="embed-list",
        ),
        pytest.param(
            RowJob(model="llama3.2"),
            {"messages": "Hi"},
            "RequestError: messages must be a list",
            id="messages-str",
        ),
        pytest.param(
            RowJob(model="llama3.2"),
            {"prompt": "x", "options": [1]},
            "RequestError: options must be a mapping",
            id="options-list",
        ),
        pytest.param(
            RowJob(model="llama3.2"),
            {"prompt": "x", "model": "no-such-model"},
            "NotFoundError: model",
            id="unknown-model",
        ),
        pytest.param(
            RowJob(),
            {"prompt": "x"},
            "RequestError: must provide a model",
            id="no-model",
        ),
    ],
)
async def test_a_failed_row_carries_its_error(
    client: AsyncClient, job: RowJob, row: dict[str, Any], error: str
) -> None:
    out = await process_row(client, row, job, postprocess=lambda r: {"never": 1})
    assert out[ERROR_COLUMN].startswith(error)
    assert {k: out[k] for k in row} == row
    assert all(out[c] is None for c in job.output_columns()[:-1])


async def test_an_answer_that_does_not_parse_keeps_its_text(
    client: AsyncClient,
) -> None:
    job = RowJob(model="llama3.2", format=City, options={"num_predict": 3})
    out = await process_row(client, {"prompt": "x"}, job)
    assert out[ERROR_COLUMN].startswith("StructuredOutputError: ")
    assert out["generated_text"] and out["done_reason"] == "length"
    assert out["parsed"] is None


async def test_unreachable_host_after_the_retries(unused_tcp_port: int) -> None:
    async with AsyncClient(
        f"http://127.0.0.1:{unused_tcp_port}", retry=Retry.never()
    ) as client:
        out = await process_row(client, {"prompt": "x"}, RowJob(model="llama3.2"))
    assert out[ERROR_COLUMN].startswith("ConnectError: ")


async def test_preprocess_and_postprocess(client: AsyncClient) -> None:
    job = RowJob(model="llama3.2")
    out = await process_row(
        client,
        {"text": "sky", "id": 3},
        job,
        preprocess=lambda row: {"prompt": f"Why is the {row['text']} blue?"},
        postprocess=lambda row: {"id": row["id"], "answer": row["generated_text"]},
    )
    assert set(out) == {"id", "answer", ERROR_COLUMN}
    assert out["answer"] and out[ERROR_COLUMN] == ""

    def boom(row: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("text")

    failed = await process_row(client, {"id": 4}, job, preprocess=boom)
    assert failed[ERROR_COLUMN] == "KeyError: 'text'"
    assert failed["id"] == 4 and failed["generated_text"] is None
    failed = await process_row(client, {"prompt": "x"}, job, postprocess=boom)
    assert failed[ERROR_COLUMN] == "KeyError: 'text'"
    assert failed["generated_text"]  # the answered row, as postprocess saw it


# -- many rows, from sync code ---------------------------------------------------


async def test_process_rows_keeps_the_input_order(fake_ollama: FakeOllama) -> None:
    rows = [{"i": i, "prompt": f"q{i}"} for i in range(40)]
    rows[5] = {"i": 5}
    job = RowJob(model="llama3.2")
    out = await asyncio.to_thread(
        process_rows, rows, job, hosts=fake_ollama.url, concurrency=4
    )
    assert [r["i"] for r in out] == list(range(40))
    assert [i for i, r in enumerate(out) if r[ERROR_COLUMN]] == [5]
    assert fake_ollama.peak_running <= 4


async def test_process_rows_reads_a_generator_lazily(fake_ollama: FakeOllama) -> None:
    pulled: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(10):
            pulled.append(i)
            yield {"prompt": f"q{i}"}

    out = await asyncio.to_thread(
        process_rows, rows(), RowJob(model="llama3.2"), hosts=[fake_ollama.url]
    )
    assert len(out) == 10 and pulled == list(range(10))
    assert (
        await asyncio.to_thread(process_rows, [], RowJob(), hosts=fake_ollama.url) == []
    )


async def test_process_rows_from_a_thread_with_a_running_loop(
    fake_ollama: FakeOllama,
) -> None:
    url = fake_ollama.url

    async def notebook_cell() -> list[dict[str, Any]]:
        return process_rows([{"prompt": "x"}], RowJob(model="llama3.2"), hosts=url)

    out = await asyncio.to_thread(asyncio.run, notebook_cell())
    assert out[0][ERROR_COLUMN] == ""


async def test_process_rows_over_several_hosts() -> None:
    async with FakeOllama() as one, FakeOllama() as two:
        rows = [{"prompt": f"q{i}"} for i in range(20)]
        out = await asyncio.to_thread(
            process_rows, rows, RowJob(model="llama3.2"), hosts=[one.url, two.url]
        )
        assert all(r[ERROR_COLUMN] == "" for r in out)
        assert bodies(one, "/api/chat") and bodies(two, "/api/chat")


def test_make_client_picks_the_client() -> None:
    assert type(make_client(hosts="http://127.0.0.1:1")) is AsyncClient
    assert type(make_client(hosts=["http://127.0.0.1:1"])) is AsyncClient
    several = make_client(hosts=["http://127.0.0.1:1", "http://127.0.0.1:2"])
    assert type(several) is MultiHostClient


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"job": {"model": "x"}}, "job must be RowJob", id="job"),
        pytest.param({"concurrency": 0}, "concurrency", id="concurrency"),
        pytest.param({"postprocess": 3}, "postprocess", id="postprocess"),
        pytest.param(
            {
                "client": AsyncClient("http://127.0.0.1:1"),
                "hosts": "http://127.0.0.1:1",
            },
            "client or hosts",
            id="both",
        ),
    ],
)
def test_process_rows_checks_its_arguments(
    kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("job", RowJob())
    with pytest.raises(RequestError, match=message):
        process_rows([], **kwargs)


async def test_process_rows_works_on_a_copy_of_the_client(
    fake_ollama: FakeOllama,
) -> None:
    client = AsyncClient(fake_ollama.url, headers={"X-Job": "17"}, retry=Retry.never())
    job = RowJob(model="llama3.2")
    for _ in range(2):  # one event loop per call, a fresh copy each time
        out = await asyncio.to_thread(
            process_rows, [{"prompt": "x"}], job, client=client
        )
        assert out[0][ERROR_COLUMN] == ""
    assert [r.headers["X-Job"] for r in fake_ollama.requests] == ["17", "17"]
    assert not client.is_closed  # the caller's client: never opened, never closed
    await client.aclose()


async def test_process_rows_refuses_a_client_it_cannot_copy(
    fake_ollama: FakeOllama,
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        client = AsyncClient(fake_ollama.url, session=session)
        with pytest.raises(RequestError, match="client: cannot pickle"):
            process_rows([], RowJob(), client=client)
