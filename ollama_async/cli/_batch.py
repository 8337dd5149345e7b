"""CLI command ``batch``: JSON lines of prompts in, one JSON line per answer
out, resumable (``-o FILE`` appends, and a rerun skips ids already answered).
Public API of ``ollama_async`` only.

Every answer is written and flushed as it arrives, so an interrupted run (Ctrl-C,
SIGTERM, a server gone) keeps what it finished; a line cut short is removed on
the next run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO, cast

import msgspec

from ollama_async import AsyncClient, ChatResponse

from ._context import (
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    Context,
    describe,
    is_connection_error,
)

_Item = tuple[Any, dict[str, Any]]  # (id, chat keyword arguments)


def _key(item_id: Any) -> bytes:
    return msgspec.json.encode(item_id)


def _parse_line(text: str, number: int) -> tuple[Any, Any]:
    """(id, the line's value): JSON objects and strings, or a bare prompt."""
    value: Any = text
    if text.startswith(("{", '"')):
        try:
            value = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise CliError(f"input line {number}: {exc}") from None
    item_id = value.get("id", number) if isinstance(value, dict) else number
    return item_id, value


def _request(value: Any, number: int, model: str | None) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"prompt": value}
    request = {k: v for k, v in value.items() if k != "id"}
    messages = list(request.pop("messages", None) or [])
    system = request.pop("system", None)
    prompt = request.pop("prompt", None)
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    if prompt is not None:
        messages.append({"role": "user", "content": prompt})
    if not messages:
        raise CliError(f"input line {number}: no prompt or messages")
    request["messages"] = messages
    request.setdefault("model", model)
    if not request["model"]:
        raise CliError(f"input line {number}: no model (pass --model)")
    return request


def _items(source: TextIO, model: str | None, done: set[bytes]) -> Iterator[_Item]:
    seen: set[bytes] = set()
    for number, line in enumerate(source, 1):
        text = line.strip()
        if not text:
            continue
        item_id, value = _parse_line(text, number)
        key = _key(item_id)
        if key in seen:
            raise CliError(f"input line {number}: duplicate id {item_id!r}")
        seen.add(key)
        if key not in done:
            yield item_id, _request(value, number, model)


def _pending(path: Path, done: set[bytes]) -> int:
    """How many items of the input file are still to run (for the bar)."""
    count = 0
    with path.open(encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            text = line.strip()
            if text:
                with contextlib.suppress(CliError):
                    count += _key(_parse_line(text, number)[0]) not in done
    return count


def _finished(path: Path) -> set[bytes]:
    """Ids with a result in an earlier run's output. A line cut short by a
    crash is removed, so the next line starts on a line of its own."""
    done: set[bytes] = set()
    if not path.exists():
        return done
    data = path.read_bytes()
    complete = data.rfind(b"\n") + 1
    if complete < len(data):
        with path.open("r+b") as file:
            file.truncate(complete)
    for line in data[:complete].splitlines():
        with contextlib.suppress(msgspec.DecodeError):
            record = msgspec.json.decode(line)
            if isinstance(record, dict) and "id" in record and "error" not in record:
                done.add(_key(record["id"]))
    return done


async def _one(client: AsyncClient, item: _Item) -> dict[str, Any]:
    item_id, request = item
    reply: ChatResponse
    kwargs = {k: v for k, v in request.items() if k != "stream"}
    if request.get("stream"):  # streamed, then folded into the same answer
        stream = client.chat(**kwargs, stream=True)
        async with stream:
            reply = await stream.collect()
    else:
        reply = await client.chat(**kwargs, stream=False)
    record = {
        "id": item_id,
        "model": reply.model,
        "response": reply.message.content,
        "thinking": reply.message.thinking,
        "done_reason": reply.done_reason,
        "prompt_eval_count": reply.prompt_eval_count,
        "eval_count": reply.eval_count,
        "total_duration": reply.total_duration,
    }
    return {k: v for k, v in record.items() if v is not None}


def _open(
    files: contextlib.ExitStack, ctx: Context, output: Path | None
) -> tuple[TextIO, TextIO]:
    """The input and output streams of a batch (files are closed by ``files``)."""
    args = ctx.args
    source: TextIO = ctx.stdin
    if args.input != "-":
        source = files.enter_context(open(args.input, encoding="utf-8"))  # noqa: SIM115
    sink: TextIO = ctx.out
    if output is not None:
        # "w" with --restart, else append after what an earlier run wrote
        file = open(output, "w" if args.restart else "a", encoding="utf-8")  # noqa: SIM115
        sink = files.enter_context(cast(TextIO, file))
    return source, sink


async def batch(ctx: Context) -> int:
    args = ctx.args
    output = Path(args.output) if args.output else None
    done: set[bytes] = set()
    if output is not None and not args.restart:
        done = _finished(output)
    from_file = args.input != "-"
    total = _pending(Path(args.input), done) if from_file else None
    if done:
        ctx.note(f"batch: skipping {len(done)} ids already in {output}")
    progress: Any = False
    if ctx.bars():
        progress = {"desc": "batch", "unit": "prompt", "file": ctx.err}
    ok = failed = 0
    with contextlib.ExitStack() as files:
        source, sink = _open(files, ctx, output)
        items = _items(source, args.model, done)
        async with (
            ctx.client() as client,
            client.batch(
                items,
                _one,
                concurrency=args.concurrency,
                progress=progress,
                total=total,
            ) as results,
        ):
            async for result in results:
                item_id = result.request[0]
                if result.ok:
                    record = result.response
                    ok += 1
                elif is_connection_error(result.error):
                    assert result.error is not None
                    raise result.error  # the server is gone: stop, rerun later
                else:
                    assert result.error is not None
                    record = {"id": item_id, "error": describe(result.error)[1]}
                    failed += 1
                sink.write(msgspec.json.encode(record).decode() + "\n")
                sink.flush()  # a line out is a line kept, whatever happens next
    skipped = f", {len(done)} skipped" if done else ""
    ctx.note(f"batch: {ok} done, {failed} failed{skipped}")
    return EXIT_PARTIAL if failed else EXIT_OK
