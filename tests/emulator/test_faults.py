"""Fault injection, the concurrency limit, and the stream counters."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from ollama_async.testing import FakeModel, FakeOllama, Fault

from .conftest import error

BUSY = "server busy, please try again.  maximum pending requests exceeded"
GEN = {"model": "llama3.2", "prompt": "Hi"}
RUN_ERROR = "an error was encountered while running the model: unexpected EOF"


async def read_lines(http, url, body, headers=None):
    async with http.post(url + "/api/generate", json=body, headers=headers) as resp:
        return resp.status, await resp.read()


async def test_status_fault_503_has_the_real_body(server, call):
    server.add_fault(Fault(status=503, retry_after=1.5))
    reply = await call("POST", "/api/generate", json=GEN)
    assert (reply.status, error(reply)) == (503, BUSY)
    assert reply.headers["Retry-After"] == "1.5"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "too many requests, please try again later"),
        (500, "llama-server process has terminated: exit status 2"),
        (418, "i'm a teapot"),
    ],
)
async def test_status_fault_defaults(server, call, status, message):
    server.add_fault(Fault(status=status))
    reply = await call("GET", "/api/tags")
    assert (reply.status, error(reply)) == (status, message)
    assert "Retry-After" not in reply.headers


async def test_status_fault_custom_message_and_times(server, call):
    server.add_fault(Fault(status=500, message="boom", times=2))
    for _ in range(2):
        reply = await call("POST", "/api/generate", json=GEN | {"stream": False})
        assert (reply.status, error(reply)) == (500, "boom")
    assert (
        await call("POST", "/api/generate", json=GEN | {"stream": False})
    ).status == 200
    server.add_fault(Fault(status=502))
    server.clear_faults()
    assert (await call("GET", "/api/tags")).status == 200


async def test_path_and_model_filters(server, call):
    server.add_fault(Fault(status=500, path="/api/chat"))
    server.add_fault(Fault(status=404, model="QWEN3:8b"))
    assert (
        await call("POST", "/api/generate", json=GEN | {"stream": False})
    ).status == 200
    chat = {"model": "llama3.2", "messages": [], "stream": False}
    assert (await call("POST", "/api/chat", json=chat)).status == 500
    assert (
        await call("POST", "/api/generate", json={"model": "qwen3:8b"})
    ).status == 404


async def test_error_after_n_lines(server, call):
    server.add_fault(Fault(error_after=3, message="model crashed"))
    reply = await call("POST", "/api/generate", json=GEN)
    assert reply.status == 200
    lines = reply.lines
    assert len(lines) == 4
    assert all(line["done"] is False for line in lines[:3])
    assert lines[3] == {"error": "model crashed"}
    assert server.completed_streams == 1


async def test_error_after_default_message_and_past_the_end(server, call):
    server.add_fault(Fault(error_after=100))
    lines = (await call("POST", "/api/generate", json=GEN)).lines
    assert len(lines) == 7  # replaces the done line
    assert lines[-1] == {"error": RUN_ERROR}


async def test_error_before_the_first_line_is_a_500(server, call):
    server.add_fault(Fault(error_after=0))
    reply = await call("POST", "/api/generate", json=GEN)
    assert reply.status == 500
    assert reply.content_type == "application/json"
    assert reply.json == {"error": RUN_ERROR}


async def test_error_after_without_stream_is_a_500(server, call):
    server.add_fault(Fault(error_after=2))
    reply = await call("POST", "/api/generate", json=GEN | {"stream": False})
    assert (reply.status, error(reply)) == (500, RUN_ERROR)


async def test_error_after_on_pull(server, call):
    server.add_fault(Fault(error_after=1, message="unauthorized: access denied"))
    lines = (await call("POST", "/api/pull", json={"model": "gemma3:1b"})).lines
    assert lines == [
        {"status": "pulling manifest"},
        {"error": "unauthorized: access denied"},
    ]


async def test_disconnect_after(server, http):
    server.add_fault(Fault(disconnect_after=2))
    async with http.post(server.url + "/api/generate", json=GEN) as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    assert server.aborted_streams == 1
    assert server.disconnects == 0  # the server hung up, not the client
    await server.wait_for_idle()


async def test_disconnect_before_headers(server, http):
    server.add_fault(Fault(disconnect_after=0))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(server.url + "/api/generate", json=GEN) as resp:
            await resp.read()
    assert server.aborted_streams == 1


async def test_disconnect_after_without_stream(server, http):
    server.add_fault(Fault(disconnect_after=1))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(
            server.url + "/api/generate", json=GEN | {"stream": False}
        ) as resp:
            await resp.read()


async def test_malformed_line(server, call):
    server.add_fault(Fault(malformed_after=2))
    reply = await call("POST", "/api/generate", json=GEN)
    raw = reply.body.split(b"\n")
    json.loads(raw[0]), json.loads(raw[1])
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw[2])
    assert json.loads(raw[-2])["done"] is True
    server.clear_faults()
    server.add_fault(Fault(malformed_after=0))
    first = (await call("POST", "/api/generate", json=GEN)).body.split(b"\n")[0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)


async def test_malformed_without_stream(server, call):
    server.add_fault(Fault(malformed_after=0))
    reply = await call("POST", "/api/generate", json=GEN | {"stream": False})
    assert reply.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.body)


async def test_huge_line_generate_context(server, call):
    server.add_fault(Fault(huge_line=2_000_000))
    reply = await call("POST", "/api/generate", json=GEN)
    last = reply.body.split(b"\n")[-2]
    assert len(last) >= 2_000_000
    assert json.loads(last)["done"] is True


async def test_huge_line_chat_content(server, call):
    server.add_fault(Fault(huge_line=300_000, path="/api/chat"))
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "x"}]}
    reply = await call("POST", "/api/chat", json=body)
    assert max(len(line) for line in reply.body.split(b"\n")) >= 300_000
    assert reply.lines[-1]["done"] is True


async def test_stall_before_headers(server, http):
    server.add_fault(Fault(stall_before=0.3))
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with http.post(server.url + "/api/generate", json=GEN) as resp:
        assert loop.time() - start >= 0.3
        await resp.read()


async def test_stall_mid_stream(server, http):
    server.add_fault(Fault(stall_after=2, stall_for=0.3))
    loop = asyncio.get_running_loop()
    async with http.post(server.url + "/api/generate", json=GEN) as resp:
        await resp.content.readline()
        await resp.content.readline()
        before = loop.time()
        await resp.content.readline()
        assert loop.time() - before >= 0.25
        await resp.read()


@pytest.mark.parametrize(
    ("header", "check"),
    [
        (
            "error_after=3",
            lambda r: r.lines[-1].get("error") is not None and len(r.lines) == 4,
        ),
        (
            "status=503;retry_after=1",
            lambda r: r.status == 503 and r.headers["Retry-After"] == "1",
        ),
        (
            "status=400, message=nope",
            lambda r: r.status == 400 and r.json == {"error": "nope"},
        ),
        ("huge_line=200000", lambda r: len(r.body) > 200_000),
    ],
)
async def test_per_request_fault_header(server, call, header, check):
    reply = await call(
        "POST", "/api/generate", json=GEN, headers={"X-Fake-Fault": header}
    )
    assert check(reply)
    plain = await call("POST", "/api/generate", json=GEN)
    assert plain.status == 200 and plain.lines[-1]["done"] is True


@pytest.mark.parametrize("header", ["bogus=1", "error_after=x", "status"])
async def test_bad_fault_header(call, header):
    reply = await call(
        "POST", "/api/generate", json=GEN, headers={"X-Fake-Fault": header}
    )
    assert reply.status == 400
    assert error(reply).startswith("invalid X-Fake-Fault header")


async def test_model_bound_fault(http):
    flaky = FakeModel(name="flaky", fault=Fault(error_after=1))
    async with FakeOllama(models=[flaky, FakeModel(name="steady")]) as fake:
        _, body = await read_lines(http, fake.url, {"model": "flaky", "prompt": "x"})
        assert json.loads(body.split(b"\n")[1]) == {"error": RUN_ERROR}
        _, body = await read_lines(http, fake.url, {"model": "steady", "prompt": "x"})
        assert json.loads(body.split(b"\n")[-2])["done"] is True


async def test_max_concurrency(http):
    async with FakeOllama(
        max_concurrency=1, tokens_per_second=50, response_tokens=10
    ) as fake:
        async with http.post(fake.url + "/api/generate", json=GEN) as first:
            await first.content.readline()
            async with http.post(fake.url + "/api/generate", json=GEN) as second:
                assert second.status == 503
                assert (
                    second.headers["Content-Type"] == "application/json; charset=utf-8"
                )
                assert await second.read() == json.dumps(
                    {"error": BUSY}
                ).encode().replace(b": ", b":")
            async with http.get(fake.url + "/api/tags") as tags:
                assert tags.status == 200  # only model-running requests queue
            await first.read()
        async with http.post(
            fake.url + "/api/generate", json=GEN | {"stream": False}
        ) as third:
            assert third.status == 200


async def test_counters_for_a_completed_stream(server, call):
    await call("POST", "/api/generate", json=GEN)
    assert (server.active_streams, server.completed_streams, server.disconnects) == (
        0,
        1,
        0,
    )
    await call("POST", "/api/generate", json=GEN | {"stream": False})
    assert server.completed_streams == 1  # a single object is not a stream


async def test_client_disconnect_mid_stream_is_counted(http):
    async with FakeOllama(tokens_per_second=100, response_tokens=1000) as fake:
        async with http.post(fake.url + "/api/generate", json=GEN) as resp:
            await resp.content.readline()
            assert fake.active_streams == 1
            resp.close()  # drop the connection
        await fake.wait_for_disconnects(1, timeout=2)
        await fake.wait_for_idle(timeout=2)
        assert (fake.disconnects, fake.completed_streams, fake.active_streams) == (
            1,
            0,
            0,
        )


async def test_client_disconnect_without_pacing_is_counted(http):
    async with FakeOllama(response_tokens=300_000) as fake:
        async with http.post(fake.url + "/api/generate", json=GEN) as resp:
            await resp.content.readline()
            resp.close()
        await fake.wait_for_disconnects(1, timeout=3)
        await fake.wait_for_idle(timeout=3)
        assert fake.completed_streams == 0


async def test_client_disconnect_during_stall_before_headers(server, http):
    server.add_fault(Fault(stall_before=5))
    task = asyncio.create_task(read_lines(http, server.url, GEN))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await server.wait_for_disconnects(1, timeout=2)
    assert server.active_streams == 0


async def test_wait_for_disconnects_times_out(server):
    with pytest.raises(TimeoutError):
        await server.wait_for_disconnects(1, timeout=0.1)


async def test_stop_with_streams_in_flight_is_clean(http):
    fake = FakeOllama(tokens_per_second=10, response_tokens=100)
    await fake.start()
    resp = await http.post(fake.url + "/api/generate", json=GEN)
    await resp.content.readline()
    await fake.stop()
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    resp.release()
    assert fake.active_streams == 0
    assert fake.disconnects == 0  # stopping is not the client going away


async def _statuses(fake, http, n, headers=None):
    body = GEN | {"stream": False}
    statuses = []
    for _ in range(n):
        async with http.post(
            fake.url + "/api/generate", json=body, headers=headers
        ) as resp:
            await resp.read()
            statuses.append(resp.status)
    return statuses


async def test_probability_fault_is_seeded_and_deterministic(http):
    runs = []
    for seed in (7, 7, 8):
        async with FakeOllama(response_tokens=2, fault_seed=seed) as fake:
            fake.add_fault(Fault(status=503, probability=0.25))
            runs.append(await _statuses(fake, http, 200))
    assert runs[0] == runs[1]  # same seed, same requests fail
    assert runs[0] != runs[2]
    assert set(runs[0]) == {200, 503}
    assert 25 <= runs[0].count(503) <= 75  # 50 expected


async def test_probability_fault_that_does_not_fire_lets_the_next_match(http):
    async with FakeOllama(response_tokens=2) as fake:
        fake.add_fault(Fault(status=503, probability=0.5, times=3))
        fake.add_fault(Fault(status=500))
        statuses = await _statuses(fake, http, 30)
    assert statuses.count(503) == 3  # times counts firings only
    assert statuses.count(500) == 27


@pytest.mark.parametrize("probability", [0, 1])
async def test_probability_bounds(server, http, probability):
    server.add_fault(Fault(status=503, probability=probability))
    expected = 503 if probability else 200
    assert await _statuses(server, http, 5) == [expected] * 5


async def test_probability_in_the_header_and_on_a_model(http):
    flaky = FakeModel(name="llama3.2", fault=Fault(status=502, probability=0.5))
    async with FakeOllama(response_tokens=2, models=[flaky]) as fake:
        by_model = await _statuses(fake, http, 40)
        header = {"X-Fake-Fault": "status=503; probability=0.5"}
        by_header = await _statuses(fake, http, 40, headers=header)
    assert set(by_model) == {200, 502}
    assert set(by_header) == {200, 503}


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True])
def test_probability_must_be_a_fraction(value):
    with pytest.raises(ValueError, match="probability"):
        Fault(status=503, probability=value)


async def test_bad_probability_in_the_header(call):
    reply = await call(
        "POST", "/api/generate", json=GEN, headers={"X-Fake-Fault": "probability=2"}
    )
    assert reply.status == 400
    assert "probability must be between 0 and 1" in error(reply)
