"""CLI command ``batch``: JSON lines of prompts in, one JSON line per answer
out, resumable (``-o FILE`` appends, and a rerun skips ids already answered).
Public API of ``ollama_async`` only.

Every answer is written and flushed as it arrives, so an interrupted run (Ctrl-C,
SIGTERM, a server gone) keeps what it finished; a line cut short is removed on
the next run.

Across machines: several ``--host`` (or ``--hosts-file``) spread one run over
servers through ``MultiHostClient``, and ``--shard I/N`` splits one input
between N runs that share no state: each takes every N-th non-empty line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

import msgspec

from ollama_async import AsyncClient, ChatResponse, RequestError

from ._context import (
    EXIT_CONNECTION,
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    Context,
    describe,
    is_connection_error,
)

_Item = tuple[Any, dict[str, Any]]  # (id, chat keyword arguments)
_Shard = tuple[int, int]  # (I, N): the lines at positions I, I + N, I + 2N, ...


def shard(text: str) -> _Shard:
    """An argparse type: ``I/N``, shard I (from 0) of an input split N ways."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"expected I/N, e.g. 0/4, got {text!r}")
    index, count = int(match[1]), int(match[2])
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(
            f"expected I/N with 0 <= I < N (shards of 4 are 0/4 to 3/4), got {text!r}"
        )
    return index, count


def _host(host: str, where: str) -> str:
    """``host``'s base URL, or a usage error naming where it came from."""
    try:
        # The client's own check: it accepts exactly the forms a client can use.
        return AsyncClient(host).base_url
    except RequestError as exc:
        raise CliError(f"{where}: {exc}") from None


def _hosts(args: argparse.Namespace) -> list[str]:
    """The base URLs of every ``--host`` after ``batch`` and every line of
    ``--hosts-file``, without repeats; none: the common ``--host`` applies."""
    hosts = [_host(host, "--host") for host in args.hosts or ()]
    if args.hosts_file:
        path = Path(args.hosts_file)
        with path.open(encoding="utf-8") as file:
            listed = [
                (number, host)
                for number, line in enumerate(file, 1)
                if (host := line.partition("#")[0].strip())
            ]
        if not listed:
            raise CliError(f"{path}: no hosts in the file (one a line)")
        hosts += [_host(host, f"{path} line {number}") for number, host in listed]
    return list(dict.fromkeys(hosts))


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


@dataclass
class _Tally:
    """How the ids answered by an earlier run (``-o``) fall in the input."""

    done: set[bytes]
    """Ids with a result in the output file."""
    skipped: int = 0
    """This shard's ids in ``done``: not run again."""
    elsewhere: int = 0
    """Other shards' ids in ``done``: a sign of a mixed-up ``--shard`` or ``-o``."""


def _lines(
    source: TextIO, shard: _Shard, tally: _Tally
) -> Iterator[tuple[int, Any, Any]]:
    """(line number, id, value) of this shard's lines still to run.

    Every line is read and its id checked against all the others, so each
    shard refuses a file with a repeated id, and the position that picks the
    shard is the same for all of them: shards cover the file exactly once.
    """
    index, count = shard
    seen: set[bytes] = set()
    position = 0  # among the non-empty lines, from 0
    for number, line in enumerate(source, 1):
        text = line.strip()
        if not text:
            continue
        item_id, value = _parse_line(text, number)
        key = _key(item_id)
        if key in seen:
            raise CliError(f"input line {number}: duplicate id {item_id!r}")
        seen.add(key)
        mine = position % count == index
        position += 1
        if key in tally.done:
            if mine:
                tally.skipped += 1
            else:
                tally.elsewhere += 1
        elif mine:
            yield number, item_id, value


def _items(
    source: TextIO, model: str | None, shard: _Shard, tally: _Tally
) -> Iterator[_Item]:
    for number, item_id, value in _lines(source, shard, tally):
        yield item_id, _request(value, number, model)


def _pending(path: Path, model: str | None, shard: _Shard, tally: _Tally) -> int:
    """How many of this shard's items are still to run (the bar's total).
    Reading the file ahead also refuses its bad lines before anything runs."""
    with path.open(encoding="utf-8") as source:
        return sum(1 for _ in _items(source, model, shard, tally))


def _report_resume(ctx: Context, tally: _Tally, output: Path | None) -> None:
    index, count = ctx.args.shard
    if tally.skipped:
        ctx.note(f"batch: skipping {tally.skipped} ids already in {output}")
    if tally.elsewhere:
        ctx.note(
            f"batch: warning: {output} holds {tally.elsewhere} ids of shards "
            f"other than {index}/{count} (a mixed-up --shard or -o?)"
        )


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
    hosts = _hosts(args)  # before -o is touched: --restart would empty it
    output = Path(args.output) if args.output else None
    done: set[bytes] = set()
    if output is not None and not args.restart:
        done = _finished(output)
    tally = _Tally(done)
    total = None
    from_file = args.input != "-"
    if from_file:
        ahead = _Tally(done)
        total = _pending(Path(args.input), args.model, args.shard, ahead)
        _report_resume(ctx, ahead, output)
    progress: Any = False
    if ctx.bars():
        progress = {"desc": "batch", "unit": "prompt", "file": ctx.err}
    ok = failed = 0
    try:
        with contextlib.ExitStack() as files:
            source, sink = _open(files, ctx, output)
            items = _items(source, args.model, args.shard, tally)
            async with (
                ctx.client(hosts) as client,
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
                        # No server answered: stop, rerun later. Several hosts
                        # fail over, so this means none of them answered, though
                        # the error names only the last one tried.
                        if len(hosts) > 1:
                            raise CliError(
                                f"none of the {len(hosts)} hosts answered; "
                                f"the last one: {result.error}",
                                EXIT_CONNECTION,
                            ) from result.error
                        raise result.error
                    else:
                        assert result.error is not None
                        record = {"id": item_id, "error": describe(result.error)[1]}
                        failed += 1
                    sink.write(msgspec.json.encode(record).decode() + "\n")
                    sink.flush()  # a line out is a line kept, whatever happens next
    except asyncio.CancelledError:  # Ctrl-C or SIGTERM, under main()
        _report_interrupted(ctx, ok, failed, output)
        raise
    if not from_file:  # stdin is read once: what it held is known only now
        _report_resume(ctx, tally, output)
    skipped = f", {tally.skipped} skipped" if tally.skipped else ""
    where = ""
    if failed:
        where = (
            f' (their lines in {output} have "error"; a rerun tries them again)'
            if output is not None
            else ' (their lines on stdout have "error")'
        )
    ctx.note(f"batch: {ok} done, {failed} failed{skipped}{where}")
    return EXIT_PARTIAL if failed else EXIT_OK


def _report_interrupted(
    ctx: Context, ok: int, failed: int, output: Path | None
) -> None:
    """What an interrupted batch kept, and how to go on."""
    counts = f"{ok} done, {failed} failed before it stopped"
    if output is not None:
        ctx.note(
            f"batch: interrupted: {counts}; every finished answer is in {output}: "
            "rerun the same command to resume (the ids there are skipped)"
        )
    else:
        ctx.note(
            f"batch: interrupted: {counts}; the answers so far are on stdout "
            "(with -o FILE, a rerun would resume where this one stopped)"
        )
