"""Stream behaviour over real loopback sockets against the emulator: the three
ways to consume a stream, closing on break/cancel/error (seen by the server),
truncation, huge lines, U+0085, single use."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiohttp import web
from conftest import USER_HI

from ollama_async import (
    AsyncClient,
    ChatResponse,
    DecodeError,
    IncompleteStreamError,
    LineTooLongError,
    NotFoundError,
    ProgressResponse,
    ReadTimeout,
    RemoteProtocolError,
    ResponseError,
    StreamError,
    Timeout,
    UsageError,
)
from ollama_async.testing import FakeOllama, Fault

MODEL = "llama3.2"


@pytest.fixture
async def slow_server():
    """A server whose answers take seconds, so a client can leave mid-stream."""
    async with FakeOllama(tokens_per_second=200, response_tokens=2000) as server:
        yield server


async def test_official_form_awaits_then_iterates(client: AsyncClient) -> None:
    parts = [p async for p in await client.chat(MODEL, USER_HI, stream=True)]
    assert len(parts) > 2
    assert all(isinstance(p, ChatResponse) for p in parts)
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1].done_reason == "stop"
    assert "".join(p.message.content for p in parts).strip()


async def test_direct_iteration_and_context_manager_agree(
    client: AsyncClient,
) -> None:
    direct = [p.message.content async for p in client.chat(MODEL, USER_HI, stream=True)]
    async with client.chat(MODEL, USER_HI, stream=True) as stream:
        managed = [p.message.content async for p in stream]
    assert direct == managed
    assert stream.closed


async def test_collect_equals_non_streamed_answer(client: AsyncClient) -> None:
    whole = await client.chat(MODEL, USER_HI)
    async with client.chat(MODEL, USER_HI, stream=True) as stream:
        folded = await stream.collect()
    assert folded.message.content == whole.message.content
    assert folded.done and folded.done_reason == whole.done_reason
    assert folded.eval_count == whole.eval_count

    generated = await client.generate(MODEL, "Why is the sky blue?")
    folded_gen = await client.generate(
        MODEL, "Why is the sky blue?", stream=True
    ).collect()
    assert folded_gen.response == generated.response
    assert folded_gen.context == generated.context


async def test_stream_false_sends_false_and_stream_true_sends_true(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    await client.chat(MODEL, USER_HI)
    async with client.chat(MODEL, USER_HI, stream=True) as stream:
        await stream.collect()
    bodies = [r.json for r in fake_ollama.requests if r.path == "/api/chat"]
    assert [b["stream"] for b in bodies] == [False, True]


async def test_nothing_is_sent_until_the_stream_is_used(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    stream = client.chat(MODEL, USER_HI, stream=True)
    await asyncio.sleep(0)
    assert fake_ollama.requests == []
    async with stream:
        assert len(fake_ollama.requests) == 1


async def test_break_inside_async_with_closes_at_once(slow_server: FakeOllama) -> None:
    async with AsyncClient(slow_server.url) as client:
        async with client.chat(MODEL, USER_HI, stream=True) as stream:
            async for _ in stream:
                break
        assert stream.closed
        await slow_server.wait_for_disconnects(1, timeout=5)
        assert slow_server.active_streams == 0
        assert slow_server.completed_streams == 0


async def test_break_in_plain_async_for_closes_promptly(
    slow_server: FakeOllama,
) -> None:
    # No `async with`: CPython drops the stream right after the loop, and the
    # stream's finalizer closes the response.
    async with AsyncClient(slow_server.url) as client:
        async for _ in await client.chat(MODEL, USER_HI, stream=True):
            break
        await slow_server.wait_for_disconnects(1, timeout=5)


async def test_cancelling_the_task_closes_the_connection(
    slow_server: FakeOllama,
) -> None:
    async with AsyncClient(slow_server.url) as client:
        first = asyncio.Event()
        holder: list[object] = []

        async def consume() -> None:
            async with client.chat(MODEL, USER_HI, stream=True) as stream:
                holder.append(stream)
                async for _ in stream:
                    first.set()

        task = asyncio.create_task(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert holder[0].closed  # type: ignore[attr-defined]
        await slow_server.wait_for_disconnects(1, timeout=5)
        assert slow_server.active_streams == 0


async def test_aclose_and_contextlib_aclosing(slow_server: FakeOllama) -> None:
    async with AsyncClient(slow_server.url) as client:
        async with contextlib.aclosing(
            client.chat(MODEL, USER_HI, stream=True)
        ) as stream:
            async for _ in stream:
                break
        await slow_server.wait_for_disconnects(1, timeout=5)
        await stream.aclose()  # idempotent


async def test_error_line_after_chunks_raises_and_closes(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.add_fault(Fault(error_after=3, message="model runner crashed"))
    async with AsyncClient(fake_ollama.url) as client:
        seen = []
        with pytest.raises(StreamError) as info:
            async with client.chat(MODEL, USER_HI, stream=True) as stream:
                async for part in stream:
                    seen.append(part)
        assert len(seen) == 3
        assert info.value.error == "model runner crashed"
        assert info.value.status_code == -1
        assert isinstance(info.value, ResponseError)
        assert stream.closed


async def test_per_request_fault_header(fake_ollama: FakeOllama) -> None:
    headers = {"X-Fake-Fault": "error_after=2"}
    async with AsyncClient(fake_ollama.url, headers=headers) as client:
        with pytest.raises(StreamError):
            await client.generate(MODEL, "hi", stream=True).collect()


async def test_abrupt_disconnect_raises_not_truncates(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(disconnect_after=4))
    async with AsyncClient(fake_ollama.url) as client:
        seen = 0
        with pytest.raises(RemoteProtocolError, match="mid-response"):
            async for _ in client.chat(MODEL, USER_HI, stream=True):
                seen += 1
        assert seen == 4


async def test_clean_end_without_done_line_raises(raw_server) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        if request.path == "/api/pull":
            await response.write(b'{"status":"pulling manifest"}\n')
        else:
            await response.write(
                b'{"model":"m","created_at":"t",'
                b'"message":{"role":"assistant","content":"a"},"done":false}\n'
            )
        await response.write_eof()
        return response

    async with AsyncClient(await raw_server(handler)) as client:
        stream = client.chat(MODEL, USER_HI, stream=True)
        with pytest.raises(IncompleteStreamError, match="incomplete"):
            async for part in stream:
                assert part.message.content == "a"
        with pytest.raises(IncompleteStreamError):
            await client.pull("x", stream=True).collect()


# MLX-backed servers may end a stream with a `done_reason` and no `done: true`
# (ollama/ollama-vscode#58; their client accepts it since #61). Lines shaped
# like Ollama's own (docs/api.md, "Chat request (Streaming)"), the last one
# without `done`, or with `done: false`.
MLX_ENDINGS = {
    "chat": (
        b'{"model":"m","created_at":"2026-01-15T10:30:00Z",'
        b'"message":{"role":"assistant","content":"Hel"},"done":false}\n'
        b'{"model":"m","created_at":"2026-01-15T10:30:01Z",'
        b'"message":{"role":"assistant","content":"lo"}}\n',
        b'{"model":"m","created_at":"2026-01-15T10:30:02Z",'
        b'"message":{"role":"assistant","content":""},%s"done_reason":"stop",'
        b'"eval_count":2}\n',
    ),
    "generate": (
        b'{"model":"m","created_at":"2026-01-15T10:30:00Z","response":"Hel",'
        b'"done":false}\n'
        b'{"model":"m","created_at":"2026-01-15T10:30:01Z","response":"lo"}\n',
        b'{"model":"m","created_at":"2026-01-15T10:30:02Z",%s'
        b'"done_reason":"stop","eval_count":2}\n',
    ),
}


def _open(client: AsyncClient, endpoint: str):
    if endpoint == "chat":
        return client.chat(MODEL, USER_HI, stream=True)
    return client.generate(MODEL, "hi", stream=True)


def _text(part) -> str:
    return part.message.content if isinstance(part, ChatResponse) else part.response


@pytest.mark.parametrize("done", [b"", b'"done":false,'], ids=["no-done", "done-false"])
@pytest.mark.parametrize("endpoint", ["chat", "generate"])
async def test_done_reason_without_done_ends_the_stream(
    raw_server, endpoint: str, done: bytes
) -> None:
    chunks, last = MLX_ENDINGS[endpoint]
    requests = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal requests
        requests += 1
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        await response.write(chunks)
        await response.write(last % done)
        # Anything after the final line is not read as a chunk.
        await response.write(b'{"model":"m","response":"late","done":true}\n')
        await response.write_eof()
        return response

    async with AsyncClient(await raw_server(handler)) as client:
        stream = _open(client, endpoint)
        parts = [p async for p in stream]
        assert stream.closed
        assert [_text(p) for p in parts] == ["Hel", "lo", ""]
        assert (parts[-1].done, parts[-1].done_reason) == (False, "stop")

        whole = await _open(client, endpoint).collect()
        assert _text(whole) == "Hello"
        # The last line's fields, as sent: done_reason and metrics, done=False.
        assert (whole.done, whole.done_reason, whole.eval_count) == (False, "stop", 2)
        assert whole.created_at == "2026-01-15T10:30:02Z"
    assert requests == 2


@pytest.mark.parametrize("endpoint", ["chat", "generate"])
async def test_neither_done_nor_done_reason_is_incomplete(
    raw_server, endpoint: str
) -> None:
    chunks, last = MLX_ENDINGS[endpoint]
    # An empty done_reason is not an ending either.
    not_last = last.replace(b'"stop"', b'""') % b""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        await response.write(chunks + not_last)
        await response.write_eof()
        return response

    async with AsyncClient(await raw_server(handler)) as client:
        stream = _open(client, endpoint)
        seen = []
        with pytest.raises(IncompleteStreamError, match="incomplete"):
            async for part in stream:
                seen.append(_text(part))
        assert seen == ["Hel", "lo", ""]
        assert stream.closed
        with pytest.raises(IncompleteStreamError):
            await _open(client, endpoint).collect()


async def test_last_line_without_newline_and_duplicate_done(raw_server) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        done = b'{"model":"m","message":{"role":"assistant","content":"!"},"done":true}'
        await response.write(
            b'{"model":"m","message":{"role":"assistant","content":"a"}}\n\n'
        )
        await response.write(done + b"\n" + done)  # two done lines: stop at the first
        await response.write_eof()
        return response

    async with AsyncClient(await raw_server(handler)) as client:
        parts = [p async for p in client.chat(MODEL, USER_HI, stream=True)]
    assert [p.message.content for p in parts] == ["a", "!"]


@pytest.mark.parametrize("one_write", [True, False], ids=["one-read", "many-reads"])
async def test_five_thousand_blank_lines_are_skipped_without_recursion(
    raw_server, one_write: bool
) -> None:
    # Blank lines used to recurse once each in __anext__: 5,000 of them hit
    # Python's recursion limit. Fed in one read and in one read each.
    blanks = [b"\n", b"\r\n", b"  \n"] * 1667  # 5,001 blank lines

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        await response.write(
            b'{"model":"m","message":{"role":"assistant","content":"a"},"done":false}\n'
        )
        if one_write:
            await response.write(b"".join(blanks))
        else:
            for blank in blanks:
                await response.write(blank)
                await asyncio.sleep(0)  # let each go out on its own
        await response.write(
            b'{"model":"m","message":{"role":"assistant","content":"b"},"done":true}\n'
        )
        await response.write_eof()
        return response

    async with AsyncClient(await raw_server(handler)) as client:
        parts = [p async for p in client.chat(MODEL, USER_HI, stream=True)]
    assert [p.message.content for p in parts] == ["a", "b"]


async def test_load_reply_on_a_streaming_request(client: AsyncClient) -> None:
    parts = [p async for p in client.chat(MODEL, [], stream=True)]
    assert len(parts) == 1
    assert parts[0].done and parts[0].done_reason == "load"
    unload = await client.generate(MODEL, "", keep_alive=0, stream=True).collect()
    assert unload.done_reason == "unload"


async def test_huge_final_line_is_read_whole(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(huge_line=3_000_000, path="/api/generate"))
    async with AsyncClient(fake_ollama.url) as client:
        final = await client.generate(MODEL, "hi", stream=True).collect()
    assert final.done
    assert final.context is not None and len(final.context) > 100_000


async def test_line_over_the_cap_raises(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(huge_line=600_000, path="/api/generate"))
    async with AsyncClient(fake_ollama.url, max_line_size=500_000) as client:
        with pytest.raises(LineTooLongError, match="max_line_size=500000"):
            await client.generate(MODEL, "hi", stream=True).collect()


async def test_u0085_and_u2028_inside_content_do_not_split(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    text = "next\u0085line\u2028sep\u2029para end"
    fake_ollama.script_reply(MODEL, text)
    async with client.chat(MODEL, USER_HI, stream=True) as stream:
        answer = await stream.collect()
    assert answer.message.content == text


async def test_malformed_line_raises_decode_error_with_excerpt(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.add_fault(Fault(malformed_after=2))
    async with AsyncClient(fake_ollama.url) as client:
        with pytest.raises(DecodeError) as info:
            await client.chat(MODEL, USER_HI, stream=True).collect()
    assert info.value.excerpt


async def test_a_stream_is_iterated_once(client: AsyncClient) -> None:
    async with client.chat(MODEL, USER_HI, stream=True) as stream:
        async for _ in stream:
            pass
        with pytest.raises(UsageError, match="only once"):
            async for _ in stream:
                pass
        with pytest.raises(UsageError):
            await stream.collect()


async def test_http_error_surfaces_where_the_stream_is_opened(
    client: AsyncClient,
) -> None:
    with pytest.raises(NotFoundError, match="model 'nope' not found") as info:
        await client.chat("nope", USER_HI, stream=True)
    assert info.value.status_code == 404
    with pytest.raises(NotFoundError):
        async with client.chat("nope", USER_HI, stream=True):
            pass
    with pytest.raises(NotFoundError):
        async for _ in client.chat("nope", USER_HI, stream=True):
            pass


async def test_stall_between_chunks_hits_the_read_timeout(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.add_fault(Fault(stall_after=2, stall_for=5))
    timeout = Timeout(read=0.3)
    async with AsyncClient(fake_ollama.url, timeout=timeout) as client:
        seen = 0
        with pytest.raises(ReadTimeout):
            async for _ in client.chat(MODEL, USER_HI, stream=True):
                seen += 1
        assert seen == 2
        await fake_ollama.wait_for_disconnects(1, timeout=5)


async def test_stall_before_headers_hits_the_first_byte_timeout(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.add_fault(Fault(stall_before=5))
    async with AsyncClient(fake_ollama.url) as client:
        with pytest.raises(ReadTimeout):
            await client.chat(
                MODEL, USER_HI, stream=True, timeout=Timeout(first_byte=0.3)
            )


async def test_pull_streams_progress_to_success(client: AsyncClient) -> None:
    statuses = []
    async with client.pull("gemma3:1b", stream=True) as stream:
        async for progress in stream:
            assert isinstance(progress, ProgressResponse)
            statuses.append(progress.status)
            if progress.total:
                assert progress.digest and progress.digest.startswith("sha256:")
    assert statuses[0] == "pulling manifest"
    assert statuses[-1] == "success"
    names = [m.model for m in (await client.list()).models]
    assert "gemma3:1b" in names


async def test_pull_of_unknown_model_raises_the_error_line(client: AsyncClient) -> None:
    seen = []
    with pytest.raises(StreamError, match="file does not exist"):
        async for progress in client.pull("no-such-model", stream=True):
            seen.append(progress.status)
    assert seen == ["pulling manifest"]
