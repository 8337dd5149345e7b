"""``ollama-async batch`` across machines: several ``--host`` (or
``--hosts-file``) through ``MultiHostClient``, and ``--shard I/N`` splitting
one input between runs. In process, against emulators on loopback ports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from cli_harness import cli
from conftest import free_port

from ollama_async.cli._batch import _pending, _Tally
from ollama_async.cli._context import EXIT_CONNECTION, EXIT_OK, EXIT_USAGE
from ollama_async.testing import FakeOllama


@pytest.fixture(autouse=True)
def no_default_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """OLLAMA_HOST at nothing: a batch that answers used the hosts it was given."""
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")


@pytest.fixture
async def servers() -> AsyncIterator[list[FakeOllama]]:
    """Three emulators, each slow enough that requests overlap and spread."""
    async with AsyncExitStack() as stack:
        started = [await stack.enter_async_context(FakeOllama()) for _ in range(3)]
        for server in started:
            server.response_tokens = 4
            server.tokens_per_second = 200  # 20 ms an answer
        yield started


def prompts(path: Path, count: int, *, blank_every: int = 0) -> Path:
    """``count`` prompts with ids p0, p1, ...; a blank line after every
    ``blank_every``-th, which must not shift the shards."""
    lines = []
    for i in range(count):
        lines.append(json.dumps({"id": f"p{i}", "prompt": f"question {i}"}))
        if blank_every and i % blank_every == 0:
            lines.append("")
    path.write_text("".join(line + "\n" for line in lines))
    return path


def ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def asked(server: FakeOllama) -> list[str]:
    """The prompts a server answered."""
    return [
        r.json["messages"][-1]["content"]
        for r in server.requests
        if r.path == "/api/chat"
    ]


# -- several hosts -----------------------------------------------------------------


async def test_several_hosts_share_one_batch(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    source = prompts(tmp_path / "in.jsonl", 16)
    output = tmp_path / "out.jsonl"
    a, b, _ = servers
    result = await cli(
        "batch", str(source), "-m", "llama3.2", "-o", str(output),
        "--host", a.url, "--host", b.url,
    )  # fmt: skip
    assert result.code == EXIT_OK, result
    assert sorted(ids(output)) == sorted(f"p{i}" for i in range(16))
    assert asked(a) and asked(b)  # both served some
    assert len(asked(a)) + len(asked(b)) == 16  # and nothing ran twice


async def test_hosts_file_with_comments_and_blank_lines(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    a, b, c = servers
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(
        f"# the fleet\n{a.url}   # gpu1\n\n  {b.url.removeprefix('http://')}\n"
    )
    source = prompts(tmp_path / "in.jsonl", 16)
    result = await cli(
        "batch", str(source), "-m", "llama3.2",
        "--hosts-file", str(hosts), "--host", c.url,
    )  # fmt: skip
    assert result.code == EXIT_OK, result
    assert len(result.out.splitlines()) == 16
    assert all(asked(server) for server in servers)  # the file's hosts and --host


async def test_one_host_after_batch_is_a_plain_client(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    source = prompts(tmp_path / "in.jsonl", 3)
    a = servers[0]
    # The common --host before the command still names the server...
    before = await cli("--host", a.url, "batch", str(source), "-m", "llama3.2")
    assert before.code == EXIT_OK, before
    # ...and one --host after it, as for any command.
    after = await cli("batch", str(source), "-m", "llama3.2", "--host", a.url)
    assert after.code == EXIT_OK, after
    assert len(asked(a)) == 6
    assert [r.path for r in a.requests].count("/api/ps") == 0  # no routing polls


async def test_batch_finishes_on_the_other_host_when_one_is_stopped(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    a, b, _ = servers
    stopped = a.url
    await a.stop()
    source = prompts(tmp_path / "in.jsonl", 8)
    output = tmp_path / "out.jsonl"
    result = await cli(
        "batch", str(source), "-m", "llama3.2", "-o", str(output),
        "--host", stopped, "--host", b.url,
    )  # fmt: skip
    assert result.code == EXIT_OK, result
    assert sorted(ids(output)) == sorted(f"p{i}" for i in range(8))
    assert len(asked(b)) == 8


async def test_a_host_stopped_mid_batch_hands_its_requests_over(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    a, b, _ = servers
    source = prompts(tmp_path / "in.jsonl", 20)
    output = tmp_path / "out.jsonl"
    argv = ["batch", str(source), "-m", "llama3.2", "-o", str(output), "-c", "4"]
    run = asyncio.create_task(cli(*argv, "--host", a.url, "--host", b.url))
    async with asyncio.timeout(5):
        while not output.exists() or output.read_text().count("\n") < 3:
            await asyncio.sleep(0.01)
    await a.stop()  # drops the requests it was answering
    result = await run
    # They failed before their first byte, so they went to the other host.
    assert result.code == EXIT_OK, result
    assert sorted(ids(output)) == sorted(f"p{i}" for i in range(20))


async def test_batch_stops_when_every_host_is_gone(tmp_path: Path) -> None:
    source = prompts(tmp_path / "in.jsonl", 3)
    output = tmp_path / "out.jsonl"
    result = await cli(
        "batch", str(source), "-m", "llama3.2", "-o", str(output),
        "--host", f"127.0.0.1:{free_port()}", "--host", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert result.code == EXIT_CONNECTION, result
    assert result.err.count("\n") == 1
    assert result.err.startswith("ollama-async: error: none of the 2 hosts answered")
    assert output.read_text() == ""  # nothing lost: a rerun does it all


# -- shards -------------------------------------------------------------------------


async def test_shards_cover_the_input_exactly_once(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    source = prompts(tmp_path / "in.jsonl", 11, blank_every=3)
    a, b, _ = servers
    hosts = ("--host", a.url, "--host", b.url)
    whole = tmp_path / "whole.jsonl"
    result = await cli("batch", str(source), "-m", "llama3.2", "-o", str(whole), *hosts)
    assert result.code == EXIT_OK, result
    shards = []
    for index in range(2):
        output = tmp_path / f"results.{index}.jsonl"
        result = await cli(
            "batch", str(source), "-m", "llama3.2", "-o", str(output),
            "--shard", f"{index}/2", *hosts,
        )  # fmt: skip
        assert result.code == EXIT_OK, result
        shards.append(ids(output))
    # Positions among the non-empty lines: the blank lines shift nothing.
    assert sorted(shards[0]) == sorted(f"p{i}" for i in range(0, 11, 2))
    assert sorted(shards[1]) == sorted(f"p{i}" for i in range(1, 11, 2))
    assert sorted(shards[0] + shards[1]) == sorted(ids(whole))


async def test_a_shard_resumes_from_its_own_output(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    source = prompts(tmp_path / "in.jsonl", 9)
    a = servers[0]
    output = tmp_path / "results.1.jsonl"  # shard 1/3: p1, p4, p7
    output.write_text('{"id": "p4", "response": "answered before"}\n')
    argv = ["batch", str(source), "-m", "llama3.2", "-o", str(output)]
    result = await cli(*argv, "--shard", "1/3", "--host", a.url)
    assert result.code == EXIT_OK, result
    assert sorted(asked(a)) == ["question 1", "question 7"]
    assert "batch: skipping 1 ids already in" in result.err
    assert result.err.endswith("batch: 2 done, 0 failed, 1 skipped\n")
    assert sorted(ids(output)) == ["p1", "p4", "p7"]


async def test_another_shards_output_is_a_warning_not_skips(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    source = prompts(tmp_path / "in.jsonl", 4)
    a = servers[0]
    output = tmp_path / "results.1.jsonl"
    output.write_text(
        '{"id": "p0", "response": "shard 0 of 2"}\n'
        '{"id": "p2", "response": "shard 0 of 2"}\n'
        '{"id": "p3", "response": "shard 1 of 2"}\n'
        '{"id": "elsewhere", "response": "not in the input"}\n'
    )
    argv = ["batch", str(source), "-m", "llama3.2", "-o", str(output)]
    result = await cli(*argv, "--shard", "1/2", "--host", a.url)
    assert result.code == EXIT_OK, result
    assert asked(a) == ["question 1"]
    assert result.err.splitlines() == [
        "batch: skipping 1 ids already in " + str(output),
        f"batch: warning: {output} holds 2 ids of shards other than 1/2 "
        "(a mixed-up --shard or -o?)",
        "batch: 1 done, 0 failed, 1 skipped",
    ]


async def test_a_repeated_id_is_refused_by_every_shard(
    servers: list[FakeOllama], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "x", "prompt": "a"}\n{"id": "x", "prompt": "b"}\n')
    for index in range(2):
        result = await cli(
            "batch", str(source), "-m", "llama3.2",
            "--shard", f"{index}/2", "--host", servers[0].url,
        )  # fmt: skip
        assert result.code == EXIT_USAGE, result
        assert "input line 2: duplicate id 'x'" in result.err
    assert asked(servers[0]) == []  # refused before anything ran


def test_the_bar_counts_only_this_shards_pending_items(tmp_path: Path) -> None:
    source = prompts(tmp_path / "in.jsonl", 10, blank_every=4)
    done = {b'"p0"', b'"p3"', b'"p4"'}  # keys as the output file gives them
    tally = _Tally(done)
    # Shard 0/3 is p0, p3, p6, p9: two still to run, two skipped; p4 is shard 1's.
    assert _pending(source, "llama3.2", (0, 3), tally) == 2
    assert (tally.skipped, tally.elsewhere) == (2, 1)


# -- usage errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("2/2", "expected I/N with 0 <= I < N", id="index-too-big"),
        pytest.param("0/0", "expected I/N with 0 <= I < N", id="no-shards"),
        pytest.param("-1/2", "expected I/N, e.g. 0/4", id="negative"),
        pytest.param("1/2/3", "expected I/N, e.g. 0/4", id="three-parts"),
        pytest.param("1", "expected I/N, e.g. 0/4", id="no-count"),
        pytest.param("one/two", "expected I/N, e.g. 0/4", id="words"),
    ],
)
async def test_a_wrong_shard_spec_exits_2(spec: str, message: str) -> None:
    result = await cli("batch", f"--shard={spec}")
    assert result.code == EXIT_USAGE, result
    # argparse's usage, then the error on one line
    error = result.err.splitlines()[-1]
    assert error.startswith(f"ollama-async batch: error: argument --shard: {message}")
    assert error.endswith(f"got {spec!r}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "# fleet\n127.0.0.1:1\nftp://gpu2\n",
            " line 3: unsupported scheme 'ftp' in host 'ftp://gpu2'",
            id="bad-scheme",
        ),
        pytest.param(
            "127.0.0.1:1\n\nhttp://user:pw@gpu2  # creds\n",
            " line 3: host 'http://user:pw@gpu2' must not carry "
            "credentials, query or fragment",
            id="credentials",
        ),
        pytest.param("# nothing yet\n\n", ": no hosts in the file", id="empty"),
    ],
)
async def test_a_bad_hosts_file_exits_2_on_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(text)
    output = tmp_path / "out.jsonl"
    output.write_text('{"id": 1, "response": "kept"}\n')
    result = await cli(
        "batch", "-m", "llama3.2", "-o", str(output), "--restart",
        "--hosts-file", str(hosts),
    )  # fmt: skip
    assert result.code == EXIT_USAGE, result
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"ollama-async: error: {hosts}{message}")
    assert output.read_text() != ""  # refused before --restart emptied it


async def test_a_missing_hosts_file_exits_2(tmp_path: Path) -> None:
    result = await cli("batch", "--hosts-file", str(tmp_path / "nope.txt"))
    assert result.code == EXIT_USAGE, result
    assert result.err.count("\n") == 1
    assert "nope.txt" in result.err
