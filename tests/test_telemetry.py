"""OpenTelemetry spans and metrics (issue 18), read with the SDK's in-memory
span exporter and metric reader, against the emulator over loopback: the
GenAI attributes of each kind of call, a stream's end (finished, left with
``break``, cancelled), retries, failover across hosts, the tool loop as a
parent, content capture, HTTP spans nested under ours, and telemetry off."""

from __future__ import annotations

import asyncio
import json
import pickle
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import USER_HI

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from ollama_async import (
    AsyncClient,
    MultiHostClient,
    NotFoundError,
    Retry,
    StreamError,
    Telemetry,
)
from ollama_async.testing import FakeOllama, Fault

MODEL = "llama3.2"
FAST = Retry(attempts=3, backoff=0.001, max_backoff=0.002)


class Recorder:
    """A tracer and meter provider of the SDK, recording in memory."""

    def __init__(self, *, capture_content: bool | None = None) -> None:
        self.exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.telemetry = Telemetry(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            capture_content=capture_content,
        )
        self.tracer_provider = tracer_provider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        (found,) = [s for s in self.spans() if s.name == name]
        return found

    def points(self, metric: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, point) of each data point of ``metric``."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found += [(dict(p.attributes), p) for p in m.data.data_points]
        return found


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.tracer_provider.shutdown()


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_a_chat_is_one_client_span_with_the_genai_attributes(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    options = {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "num_predict": 64,
        "seed": 7,
        "stop": ["\n\n"],
    }
    async with AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client:
        reply = await client.chat(MODEL, USER_HI, options=options)
    span = recorder.span(f"chat {MODEL}")
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    port = int(fake_ollama.url.rsplit(":", 1)[1])
    assert _attrs(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": MODEL,
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("\n\n",),
        "gen_ai.response.model": reply.model,
        "gen_ai.response.finish_reasons": (reply.done_reason,),
        "gen_ai.usage.input_tokens": reply.prompt_eval_count,
        "gen_ai.usage.output_tokens": reply.eval_count,
    }
    assert "gen_ai.response.time_to_first_chunk" not in _attrs(span)  # not a stream
    (duration,) = recorder.points("gen_ai.client.operation.duration")
    assert duration[0] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": reply.model,
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    assert duration[1].count == 1
    usage = {
        a["gen_ai.token.type"]: p.sum
        for a, p in recorder.points("gen_ai.client.token.usage")
    }
    assert usage == {"input": reply.prompt_eval_count, "output": reply.eval_count}
    assert recorder.points("gen_ai.client.operation.time_to_first_chunk") == []


async def test_generate_and_embed_are_named_as_the_conventions_name_them(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    async with AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client:
        await client.generate(MODEL, "Hi", format="json")
        embedded = await client.embed("nomic-embed-text", ["a", "b"], dimensions=8)
        await client.list()
    generate = _attrs(recorder.span(f"text_completion {MODEL}"))
    assert generate["gen_ai.operation.name"] == "text_completion"
    assert generate["gen_ai.output.type"] == "json"
    embed = _attrs(recorder.span("embeddings nomic-embed-text"))
    assert embed["gen_ai.operation.name"] == "embeddings"
    assert embed["gen_ai.embeddings.dimension.count"] == 8
    assert embed["gen_ai.usage.input_tokens"] == embedded.prompt_eval_count
    # Model management has a span, named after the route, and no GenAI metric.
    assert _attrs(recorder.span("list"))["gen_ai.operation.name"] == "list"
    operations = {
        a["gen_ai.operation.name"]
        for a, _ in recorder.points("gen_ai.client.operation.duration")
    }
    assert operations == {"text_completion", "embeddings"}


async def test_a_stream_span_runs_from_the_request_to_the_final_line(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    fake_ollama.first_token_delay = 0.05
    async with AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client:
        stream = client.chat(MODEL, USER_HI, stream=True)
        assert recorder.spans() == []  # nothing sent, no span
        chunks = [c async for c in stream]
    span = recorder.span(f"chat {MODEL}")
    attributes = _attrs(span)
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.usage.output_tokens"] == chunks[-1].eval_count
    first = attributes["gen_ai.response.time_to_first_chunk"]
    assert 0.05 <= first <= (span.end_time - span.start_time) / 1e9
    ((_, point),) = recorder.points("gen_ai.client.operation.time_to_first_chunk")
    assert point.count == 1 and point.sum == pytest.approx(first)


async def test_a_stream_left_with_break_ends_its_span_as_closed(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    fake_ollama.response_tokens = 200
    fake_ollama.tokens_per_second = 200
    async with (
        AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client,
        client.chat(MODEL, USER_HI, stream=True) as stream,
    ):
        async for _ in stream:
            break
    span = recorder.span(f"chat {MODEL}")
    assert _attrs(span)["ollama_async.stream.end"] == "closed"
    assert [e.name for e in span.events] == ["closed"]
    assert span.status.status_code is StatusCode.UNSET  # a break is no error
    assert "gen_ai.usage.output_tokens" not in _attrs(span)
    assert "gen_ai.response.time_to_first_chunk" in _attrs(span)
    (duration,) = recorder.points("gen_ai.client.operation.duration")
    assert "error.type" not in duration[0]


async def test_a_cancelled_stream_ends_its_span_as_cancelled(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    fake_ollama.response_tokens = 500
    fake_ollama.tokens_per_second = 100
    got_one = asyncio.Event()

    async def consume(client: AsyncClient) -> None:
        async with client.chat(MODEL, USER_HI, stream=True) as stream:
            async for _ in stream:
                got_one.set()

    async with AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client:
        task = asyncio.create_task(consume(client))
        await got_one.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    span = recorder.span(f"chat {MODEL}")
    assert _attrs(span)["ollama_async.stream.end"] == "cancelled"
    assert [e.name for e in span.events] == ["cancelled"]
    assert span.status.status_code is StatusCode.UNSET


async def test_each_retry_is_an_event_on_the_one_span(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    fake_ollama.add_fault(Fault(status=503, times=2, path="/api/chat"))
    async with AsyncClient(
        fake_ollama.url, retry=FAST, telemetry=recorder.telemetry
    ) as client:
        await client.chat(MODEL, USER_HI)
    (span,) = recorder.spans()
    assert [
        (e.name, dict(e.attributes or {})["ollama_async.retry.attempt"])
        for e in span.events
    ] == [
        ("retry", 2),
        ("retry", 3),
    ]
    assert all(
        dict(e.attributes or {})["error.type"] == "ServerBusyError" for e in span.events
    )
    assert span.status.status_code is StatusCode.UNSET


async def test_a_failed_call_sets_error_type_on_the_span_and_the_metric(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    async with AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client:
        with pytest.raises(NotFoundError):
            await client.chat("no-such-model", USER_HI)
        fake_ollama.add_fault(Fault(error_after=2, path="/api/chat"))
        with pytest.raises(StreamError):
            async for _ in client.chat(MODEL, USER_HI, stream=True):
                pass
    missing, broken = recorder.spans()
    assert _attrs(missing)["error.type"] == "NotFoundError"
    assert missing.status.status_code is StatusCode.ERROR
    assert _attrs(broken)["error.type"] == "StreamError"
    errors = sorted(
        a.get("error.type", "")
        for a, _ in recorder.points("gen_ai.client.operation.duration")
    )
    assert errors == ["NotFoundError", "StreamError"]


async def test_the_tool_loop_is_the_parent_of_its_rounds_and_tools(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    fake_ollama.script_tool_calls(
        MODEL, [{"name": "add", "arguments": {"a": 2, "b": 3}}]
    )
    async with AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client:
        result = await client.chat_with_tools(MODEL, USER_HI, tools=[add])
    loop = recorder.span(f"invoke_agent {MODEL}")
    rounds = [s for s in recorder.spans() if s.name == f"chat {MODEL}"]
    tool = recorder.span("execute_tool add")
    assert len(rounds) == result.rounds == 2
    assert loop.context is not None
    for child in (*rounds, tool):
        assert child.parent is not None and child.parent.span_id == loop.context.span_id
        assert (
            child.context is not None
            and child.context.trace_id == loop.context.trace_id
        )
    assert _attrs(loop)["ollama_async.tool_loop.rounds"] == 2
    assert _attrs(tool)["gen_ai.tool.name"] == "add"
    assert _attrs(tool)["gen_ai.tool.type"] == "function"
    # The tool's arguments and result are content: not recorded by default.
    assert "gen_ai.tool.call.arguments" not in _attrs(tool)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_multihost_records_the_host_that_served_and_each_failover(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    async with MultiHostClient(
        [dead, fake_ollama.url],
        retry=FAST,
        refresh_interval=0,
        telemetry=recorder.telemetry,
    ) as client:
        for _ in range(2):  # the turn goes round: one of the two tries the dead host
            await client.chat(MODEL, USER_HI)
    spans = recorder.spans()
    live_port = int(fake_ollama.url.rsplit(":", 1)[1])
    assert {_attrs(s)["server.port"] for s in spans} == {live_port}
    failovers = [e for s in spans for e in s.events if e.name == "failover"]
    assert len(failovers) == 1
    event = dict(failovers[0].attributes or {})
    assert event["server.port"] == int(dead.rsplit(":", 1)[1])
    assert event["error.type"] == "ConnectError"
    ports = {
        a["server.port"] for a, _ in recorder.points("gen_ai.client.operation.duration")
    }
    assert ports == {live_port}


async def test_content_is_captured_only_when_asked_and_the_key_never(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-very-secret-key"
    monkeypatch.setenv("OLLAMA_API_KEY", key)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Why is the sky blue?"},
    ]
    for capture in (None, True):
        rec = Recorder(capture_content=capture)
        async with AsyncClient(fake_ollama.url, telemetry=rec.telemetry) as client:
            reply = await client.chat(MODEL, messages)
            async for _ in client.generate(MODEL, "Hi", stream=True):
                pass
        chat, generate = rec.spans()
        everything = json.dumps([_attrs(s) for s in rec.spans()])
        assert key not in everything
        if capture is None:
            assert "Why is the sky blue" not in everything
            continue
        attributes = _attrs(chat)
        assert json.loads(attributes["gen_ai.system_instructions"]) == [
            {"type": "text", "content": "Be brief."}
        ]
        assert json.loads(attributes["gen_ai.input.messages"]) == [
            {
                "role": "user",
                "parts": [{"type": "text", "content": "Why is the sky blue?"}],
            }
        ]
        (output,) = json.loads(attributes["gen_ai.output.messages"])
        assert output["role"] == "assistant"
        assert output["parts"] == [{"type": "text", "content": reply.message.content}]
        streamed = json.loads(_attrs(generate)["gen_ai.output.messages"])[0]
        assert streamed["parts"][0]["content"] != ""  # gathered chunk by chunk


async def test_the_environment_variable_turns_capture_on(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    rec = Recorder()
    async with AsyncClient(fake_ollama.url, telemetry=rec.telemetry) as client:
        await client.chat(MODEL, USER_HI)
    assert "gen_ai.input.messages" in _attrs(rec.span(f"chat {MODEL}"))


async def test_aiohttp_client_spans_nest_under_ours(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    instrumentation = pytest.importorskip(
        "opentelemetry.instrumentation.aiohttp_client"
    )
    instrumentor = instrumentation.AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=recorder.tracer_provider)
    try:
        async with AsyncClient(fake_ollama.url, telemetry=recorder.telemetry) as client:
            await client.chat(MODEL, USER_HI)
            async for _ in client.chat(MODEL, USER_HI, stream=True):
                pass
    finally:
        instrumentor.uninstrument()
    ours = [s for s in recorder.spans() if s.name == f"chat {MODEL}"]
    http = [s for s in recorder.spans() if s.name == "POST"]
    assert len(ours) == len(http) == 2
    for parent, child in zip(ours, http, strict=True):
        assert parent.context is not None and child.parent is not None
        assert child.parent.span_id == parent.context.span_id


async def test_telemetry_off_records_nothing(
    fake_ollama: FakeOllama, recorder: Recorder
) -> None:
    off = Telemetry(enabled=False, tracer_provider=recorder.tracer_provider)
    async with AsyncClient(fake_ollama.url, telemetry=off) as client:
        await client.chat(MODEL, USER_HI)
    async with AsyncClient(fake_ollama.url, telemetry=False) as client:
        await client.chat(MODEL, USER_HI)
    assert recorder.spans() == []


def test_without_opentelemetry_nothing_is_imported_and_calls_work() -> None:
    # In a fresh interpreter: telemetry off imports nothing of OpenTelemetry;
    # with it on and OpenTelemetry missing (an import that fails), calls work.
    script = textwrap.dedent(
        """
        import asyncio, sys
        from ollama_async import AsyncClient
        from ollama_async.testing import FakeOllama

        async def main(telemetry):
            async with FakeOllama() as server:
                async with AsyncClient(server.url, telemetry=telemetry) as client:
                    await client.chat("llama3.2", [{"role": "user", "content": "Hi"}])

        asyncio.run(main(False))
        print("off:", any(m.startswith("opentelemetry") for m in sys.modules))
        sys.modules["opentelemetry"] = None  # as if it were not installed
        asyncio.run(main(True))
        print("missing: ok")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert run.stdout.split("\n")[:2] == ["off: False", "missing: ok"], run.stderr


def test_a_pickled_client_keeps_its_telemetry_choice_but_not_the_providers(
    recorder: Recorder,
) -> None:
    # Providers hold this process's exporters and threads: a worker that
    # unpickles a client records to its own global providers.
    chosen = Telemetry(capture_content=True, tracer_provider=recorder.tracer_provider)
    assert pickle.loads(pickle.dumps(chosen)) == Telemetry(capture_content=True)
    assert pickle.loads(pickle.dumps(chosen)).tracer_provider is None
    client = AsyncClient("http://127.0.0.1:1", telemetry=chosen)
    assert isinstance(pickle.loads(pickle.dumps(client)), AsyncClient)


def test_a_provider_set_after_the_client_was_made_turns_it_on() -> None:
    # Global providers can be set once per process: in a fresh interpreter.
    # Before any is set, calls skip telemetry (nothing would record them);
    # the client sees a provider set later, as services that configure the
    # SDK in main() after importing a module-level client need.
    script = textwrap.dedent(
        """
        import asyncio
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
        from ollama_async import AsyncClient
        from ollama_async.testing import FakeOllama

        hi = [{"role": "user", "content": "Hi"}]

        async def main():
            async with FakeOllama() as server, AsyncClient(server.url) as client:
                await client.chat("llama3.2", hi)
                exporter = InMemorySpanExporter()
                provider = TracerProvider()
                provider.add_span_processor(SimpleSpanProcessor(exporter))
                trace.set_tracer_provider(provider)
                await client.chat("llama3.2", hi)
                async for _ in client.chat("llama3.2", hi, stream=True):
                    pass
                print([s.name for s in exporter.get_finished_spans()])

        asyncio.run(main())
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert run.stdout.strip() == "['chat llama3.2', 'chat llama3.2']", run.stderr
