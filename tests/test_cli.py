"""The ``ollama-async`` CLI, in process (``amain`` with captured streams)
against the ``fake_ollama`` fixture. Subprocess runs (signals, resumed batches,
every command end to end) are in ``test_cli_process.py``."""

from __future__ import annotations

import argparse
import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cli_harness import TTY, cli, progress_context
from conftest import free_port

from ollama_async import ProgressResponse, __version__
from ollama_async.cli._context import (
    EXIT_CONNECTION,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_SERVER,
    EXIT_USAGE,
    CliError,
    describe,
)
from ollama_async.cli._format import human_bytes, relative_time
from ollama_async.cli._main import amain, build_parser
from ollama_async.cli._models import ProgressView, parse_modelfile
from ollama_async.testing import FakeOllama


@pytest.fixture
def host(fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch) -> str:
    """OLLAMA_HOST at the emulator (what most users set)."""
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    return fake_ollama.url


def chat_bodies(server: FakeOllama) -> list[dict[str, Any]]:
    return [r.json for r in server.requests if r.path == "/api/chat"]


pytestmark = pytest.mark.usefixtures("host")


# -- listings ---------------------------------------------------------------------


async def test_list_prints_a_table() -> None:
    result = await cli("list")
    assert result.code == EXIT_OK, result
    assert result.lines[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    assert any(line.startswith("llama3.2:latest ") for line in result.lines)
    assert "2.0 GB" in result.out


async def test_list_json_is_the_api_reply() -> None:
    result = await cli("list", "--json")
    names = [m["model"] for m in result.json()["models"]]
    assert "llama3.2:latest" in names


async def test_json_flag_works_before_the_command() -> None:
    result = await cli("--json", "list")
    assert "models" in result.json()


async def test_host_flag_overrides_ollama_host(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    result = await cli("list", "--host", fake_ollama.url)
    assert result.code == EXIT_OK, result


async def test_ps_empty_then_loaded(fake_ollama: FakeOllama) -> None:
    assert (await cli("ps", "--json")).json() == {"models": []}
    assert (await cli("run", "llama3.2", "hi")).code == EXIT_OK
    result = await cli("ps")
    assert result.lines[0].split() == [
        "NAME",
        "ID",
        "SIZE",
        "PROCESSOR",
        "CONTEXT",
        "UNTIL",
    ]
    assert result.lines[1].startswith("llama3.2:latest")
    assert "from now" in result.lines[1]
    assert (await cli("ps", "--json")).json()["models"][0]["name"] == "llama3.2:latest"


async def test_show_sections_and_parts() -> None:
    result = await cli("show", "llama3.2")
    assert result.code == EXIT_OK, result
    for title in ("Model", "Capabilities", "Parameters", "License"):
        assert f"  {title}" in result.lines
    assert "architecture        llama" in result.out
    license_ = await cli("show", "llama3.2", "--license")
    assert license_.out.startswith("LLAMA 3.2 COMMUNITY LICENSE AGREEMENT")
    assert "{{" in (await cli("show", "llama3.2", "--template")).out
    assert (await cli("show", "llama3.2", "--json")).json()["details"]["family"] == (
        "llama"
    )
    verbose = await cli("show", "llama3.2", "-v")
    assert "  Metadata" in verbose.lines


async def test_unknown_model_is_one_line_exit_1() -> None:
    result = await cli("show", "no-such-model")
    assert result.code == EXIT_SERVER
    assert result.out == ""
    assert result.err == (
        "ollama-async: error: model 'no-such-model:latest' not found "
        "(status code: 404)\n"
    )


async def test_debug_adds_the_traceback() -> None:
    result = await cli("show", "no-such-model", "--debug")
    assert result.code == EXIT_SERVER
    assert "Traceback (most recent call last)" in result.err
    assert result.err.endswith("(status code: 404)\n")


# -- pull, push, create, cp, rm, stop ------------------------------------------------


async def test_pull_plain_progress_on_stderr(fake_ollama: FakeOllama) -> None:
    result = await cli("pull", "gemma3:1b")
    assert result.code == EXIT_OK, result
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0] == "pulling manifest"
    assert lines[-1] == "success"
    assert any(line.startswith("pulling ") and "815 MB" in line for line in lines)
    assert "gemma3:1b" in fake_ollama.loaded_models or "gemma3:1b" in fake_ollama.models


async def test_pull_json_is_the_progress_stream() -> None:
    result = await cli("pull", "gemma3:1b", "--json")
    lines = result.json_lines()
    assert lines[0] == {"status": "pulling manifest"}
    assert lines[-1] == {"status": "success"}
    assert any(line.get("completed") == line.get("total") != None for line in lines)  # noqa: E711


async def test_pull_unknown_model_fails_from_the_stream() -> None:
    result = await cli("pull", "no-such-model")
    assert result.code == EXIT_SERVER
    assert "file does not exist" in result.err


async def test_progress_bars_on_a_terminal() -> None:
    err = TTY()

    view = ProgressView(progress_context(err))
    digest = "sha256:" + "ab" * 32
    for done in (0, 500_000_000, 1_000_000_000):
        view.update(
            ProgressResponse(
                status="pulling abababababab",
                digest=digest,
                total=1_000_000_000,
                completed=done,
            )
        )
    view.update(ProgressResponse(status="success"))
    drawn = err.getvalue()
    assert "pulling abababababab" in drawn
    assert "1.00GB/1.00GB" in drawn  # bytes with units, speed and ETA next to it
    assert "B/s" in drawn
    assert "ETA 00:00" in drawn
    assert drawn.rstrip().endswith("success")


async def test_cp_push_rm() -> None:
    assert (await cli("cp", "llama3.2", "me/llama")).out == (
        "copied 'llama3.2' to 'me/llama'\n"
    )
    push = await cli("push", "me/llama")
    assert push.code == EXIT_OK, push
    assert push.err.splitlines()[-1] == "success"
    assert "pushing" in push.err
    assert (await cli("cp", "me/llama", "other")).code == EXIT_OK
    result = await cli("rm", "me/llama", "other")
    assert result.out == "deleted 'me/llama'\ndeleted 'other'\n"
    assert (await cli("rm", "me/llama")).code == EXIT_SERVER
    assert (await cli("cp", "llama3.2", "x", "--json")).json() == {"status": "success"}


async def test_create_from_a_modelfile(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text(
        "# a pirate\n"
        "FROM llama3.2\n"
        "PARAMETER temperature 0.2\n"
        'PARAMETER stop "<|eot_id|>"\n'
        "PARAMETER stop END\n"
        'SYSTEM """You are a pirate.\n'
        'Answer briefly."""\n'
        "MESSAGE user Ahoy?\n"
        "LICENSE MIT\n"
    )
    result = await cli("create", "pirate", "-f", str(modelfile))
    assert result.code == EXIT_OK, result
    assert result.err.splitlines()[-1] == "success"
    (body,) = [r.json for r in fake_ollama.requests if r.path == "/api/create"]
    assert body["from"] == "llama3.2"
    assert body["parameters"] == {"temperature": 0.2, "stop": ["<|eot_id|>", "END"]}
    assert body["system"] == "You are a pirate.\nAnswer briefly."
    assert body["messages"] == [{"role": "user", "content": "Ahoy?"}]
    assert body["license"] == "MIT"
    shown = await cli("show", "pirate", "--system")
    assert shown.out == "You are a pirate.\nAnswer briefly.\n"


async def test_create_uploads_a_local_gguf(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF" + bytes(100))
    (tmp_path / "Modelfile").write_text("FROM ./tiny.gguf\n")
    result = await cli("create", "tiny", "-f", str(tmp_path / "Modelfile"))
    assert result.code == EXIT_OK, result
    assert "uploading tiny.gguf" in result.err
    assert any(r.path.startswith("/api/blobs/") for r in fake_ollama.requests)
    (body,) = [r.json for r in fake_ollama.requests if r.path == "/api/create"]
    assert list(body["files"]) == ["tiny.gguf"]


async def test_create_with_from_flag_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert (await cli("create", "copy1", "--from", "llama3.2")).code == EXIT_OK
    missing = await cli("create", "copy2")
    assert missing.code == EXIT_USAGE
    assert "no Modelfile here" in missing.err
    (tmp_path / "Modelfile").write_text("PARAMETER temperature 1\n")
    assert "no FROM line" in (await cli("create", "copy2")).err
    (tmp_path / "Modelfile").write_text("FROM ./absent.gguf\n")
    assert (await cli("create", "copy2")).code == EXIT_USAGE
    nofile = await cli("create", "copy2", "-f", "nope")
    assert nofile.code == EXIT_USAGE
    assert "No such file or directory: nope" in nofile.err


def test_parse_modelfile() -> None:
    text = 'FROM x\n\n# c\nTEMPLATE """a\nb\n"""\nSYSTEM "quoted"\nparameter top_k 5\n'
    assert parse_modelfile(text) == [
        ("FROM", "x"),
        ("TEMPLATE", "a\nb\n"),
        ("SYSTEM", "quoted"),
        ("PARAMETER", "top_k 5"),
    ]
    with pytest.raises(CliError, match="unterminated"):
        parse_modelfile('SYSTEM """never closed\n')


async def test_stop_unloads_with_keep_alive_zero(fake_ollama: FakeOllama) -> None:
    await cli("run", "llama3.2", "hi")
    assert fake_ollama.loaded_models == ["llama3.2:latest"]
    result = await cli("stop", "llama3.2")
    assert (result.code, result.out) == (EXIT_OK, "")
    body = fake_ollama.requests[-1].json
    assert body == {"model": "llama3.2", "stream": False, "keep_alive": 0}
    assert fake_ollama.loaded_models == []


# -- version, usage, connection errors ----------------------------------------------


async def test_version(fake_ollama: FakeOllama) -> None:
    result = await cli("version")
    assert result.lines == [
        f"client version is {__version__}",
        f"server version is 0.33.0 ({fake_ollama.url})",
    ]
    assert (await cli("version", "--json")).json() == {
        "client": __version__,
        "server": "0.33.0",
        "host": fake_ollama.url,
    }


async def test_version_without_a_server_exits_3() -> None:
    result = await cli("version", "--host", f"127.0.0.1:{free_port()}")
    assert result.code == EXIT_CONNECTION
    assert result.out == f"client version is {__version__}\n"
    assert result.err.startswith("ollama-async: warning: Failed to connect")


async def test_connection_error_exits_3_on_one_line() -> None:
    result = await cli("list", "--host", f"127.0.0.1:{free_port()}")
    assert result.code == EXIT_CONNECTION
    assert result.err.count("\n") == 1
    assert result.err.startswith("ollama-async: error: Failed to connect to Ollama")


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-command"),
        pytest.param(["frobnicate"], id="unknown-command"),
        pytest.param(["list", "--bogus"], id="unknown-flag"),
        pytest.param(["batch", "-c", "0"], id="bad-value"),
        pytest.param(["list", "--host", "ftp://x"], id="bad-host"),
        pytest.param(["run", "llama3.2", "hi", "-o", "novalue"], id="bad-option"),
    ],
)
async def test_usage_errors_exit_2(argv: list[str]) -> None:
    result = await cli(*argv)
    assert result.code == EXIT_USAGE, result
    assert "error:" in result.err


async def test_help_and_version_flags() -> None:
    result = await cli("--help")
    assert result.code == EXIT_OK
    assert "exit codes:" in result.out
    for command in ("run", "batch", "serve-fake", "demo", "embed", "stop"):
        assert command in result.out
    assert (await cli("--version")).out == f"ollama-async {__version__}\n"


def test_describe_maps_exceptions() -> None:
    assert describe(CliError("x", 4)) == (4, "x")
    assert describe(FileNotFoundError(2, "No such file", "f")) == (2, "No such file: f")
    code, message = describe(KeyError("k"))
    assert code == EXIT_INTERNAL
    assert "--debug" in message


def test_human_formats() -> None:
    assert [human_bytes(n) for n in (None, 20, 274_302_450, 2_019_393_189)] == [
        "-",
        "20 B",
        "274 MB",
        "2.0 GB",
    ]
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    assert relative_time(now - datetime.timedelta(days=15), now) == "2 weeks ago"
    assert relative_time(now + datetime.timedelta(minutes=4), now) == (
        "4 minutes from now"
    )
    assert relative_time(now - datetime.timedelta(seconds=1), now) == "1 second ago"


# -- run ----------------------------------------------------------------------------


async def test_run_streams_the_answer(fake_ollama: FakeOllama) -> None:
    # words after an option still belong to the prompt
    result = await cli(
        "run", "llama3.2", "Why", "is", "--verbose", "the", "sky", "blue?"
    )
    assert result.code == EXIT_OK, result
    assert result.out.endswith("\n")
    assert len(result.out.split()) == 24  # the emulator's response_tokens
    (body,) = chat_bodies(fake_ollama)
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]


async def test_run_reads_piped_stdin(fake_ollama: FakeOllama) -> None:
    result = await cli("run", "llama3.2", "Summarize this.", stdin="A document.\n")
    assert result.code == EXIT_OK, result
    (body,) = chat_bodies(fake_ollama)
    assert body["messages"][0]["content"] == "A document.\n\nSummarize this."


async def test_run_without_any_prompt_is_a_usage_error() -> None:
    result = await cli("run", "llama3.2")
    assert result.code == EXIT_USAGE
    assert "no prompt" in result.err


async def test_run_flags_reach_the_request(fake_ollama: FakeOllama) -> None:
    schema = '{"type": "object", "properties": {"n": {"type": "integer"}}}'
    result = await cli(
        "run",
        "qwen3:8b",
        "count",
        "--system",
        "be brief",
        "--format",
        schema,
        "--think",
        "--keepalive",
        "10m",
        "-o",
        "temperature=0.1",
        "-o",
        'stop=["x"]',
        "--verbose",
    )
    assert result.code == EXIT_OK, result
    (body,) = chat_bodies(fake_ollama)
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["format"] == json.loads(schema)
    assert body["think"] is True
    assert body["keep_alive"] == "10m"
    assert body["options"] == {"temperature": 0.1, "stop": ["x"]}
    assert "Thinking...\n" in result.out
    assert "...done thinking.\n\n" in result.out
    assert isinstance(json.loads(result.out.rpartition("thinking.\n\n")[2]), dict)
    assert "eval rate:" in result.err


async def test_run_hides_thinking_and_takes_schema_files(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object"}')
    result = await cli(
        "run", "qwen3:8b", "x", "--think-level", "high", "--hidethinking",
        "--format", f"@{schema}",
    )  # fmt: skip
    assert result.code == EXIT_OK, result
    assert "Thinking" not in result.out
    assert chat_bodies(fake_ollama)[0]["think"] == "high"
    bad = await cli("run", "llama3.2", "x", "--format", "[1]")
    assert bad.code == EXIT_USAGE


async def test_run_json_prints_the_folded_answer() -> None:
    result = await cli("run", "llama3.2", "hi", "--json")
    answer = result.json()
    assert answer["done"] is True
    assert answer["message"]["role"] == "assistant"
    assert len(answer["message"]["content"].split()) == 24


async def test_run_unknown_model_exits_1() -> None:
    result = await cli("run", "no-such-model", "hi")
    assert result.code == EXIT_SERVER
    assert "not found" in result.err


async def test_interactive_chat_keeps_history(fake_ollama: FakeOllama) -> None:
    fake_ollama.response_tokens = 3
    script = "\n".join(
        [
            "First question",
            "",
            "/?",
            '"""Line one',
            'line two"""',
            "/clear",
            "/set system be terse",
            "After clearing",
            "/nope",
            "/bye",
            "never sent",
        ]
    )
    result = await cli("run", "llama3.2", "-i", stdin=script)
    assert result.code == EXIT_OK, result
    bodies = chat_bodies(fake_ollama)
    assert [len(b["messages"]) for b in bodies] == [1, 3, 2]
    assert bodies[1]["messages"][2] == {"role": "user", "content": "Line one\nline two"}
    assert bodies[2]["messages"] == [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "After clearing"},
    ]
    assert "Available Commands:" in result.err  # help on stderr, as ollama's
    assert "Cleared session context" in result.out
    assert "Unknown command '/nope'" in result.out
    # the model is looked up, then loaded before the first question (a
    # generate, no prompt)
    assert [r.path for r in fake_ollama.requests[:2]] == ["/api/show", "/api/generate"]


async def test_interactive_chat_ends_at_end_of_input(fake_ollama: FakeOllama) -> None:
    result = await cli("run", "llama3.2", "-i", "first", stdin="second\n")
    assert result.code == EXIT_OK, result
    assert [len(b["messages"]) for b in chat_bodies(fake_ollama)] == [1, 3]


# -- embed ----------------------------------------------------------------------------


async def test_embed_arguments_and_stdin(fake_ollama: FakeOllama) -> None:
    result = await cli("embed", "nomic-embed-text", "cat", "dog", "--dimensions", "8")
    rows = result.json_lines()
    assert [r["input"] for r in rows] == ["cat", "dog"]
    assert all(len(r["embedding"]) == 8 for r in rows)
    piped = await cli(
        "embed", "nomic-embed-text", "--batch-size", "2", stdin="a\nb\n\nc\n"
    )
    assert [r["input"] for r in piped.json_lines()] == ["a", "b", "c"]
    sizes = [
        len(r.json["input"]) for r in fake_ollama.requests if r.path == "/api/embed"
    ]
    assert sizes == [2, 2, 1]
    assert len(piped.json_lines()[0]["embedding"]) == 768


async def test_embed_with_a_chat_only_model_fails() -> None:
    result = await cli("embed", "no-such-model", "x")
    assert result.code == EXIT_SERVER


# -- batch ----------------------------------------------------------------------------


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


async def test_batch_from_stdin_to_stdout(fake_ollama: FakeOllama) -> None:
    stdin = '"a JSON string"\n{"id": "q2", "prompt": "an object", "system": "s"}\n'
    stdin += "\nplain text\n"
    result = await cli("batch", "-m", "llama3.2", stdin=stdin)
    assert result.code == EXIT_OK, result
    rows = {row["id"]: row for row in result.json_lines()}
    assert set(rows) == {1, "q2", 4}  # line numbers, or the line's id
    assert rows["q2"]["model"] == "llama3.2"
    assert len(rows[1]["response"].split()) == 24
    assert rows[1]["done_reason"] == "stop"
    bodies = chat_bodies(fake_ollama)
    assert {b["messages"][-1]["content"] for b in bodies} == {
        "a JSON string",
        "an object",
        "plain text",
    }
    assert all(b["stream"] is False for b in bodies)
    assert result.err.endswith("batch: 3 done, 0 failed\n")


async def test_batch_lines_pick_their_model_and_options(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        '{"model": "qwen3:8b", "messages": [{"role": "user", "content": "hi"}],'
        ' "options": {"temperature": 0}, "stream": true}',
    )
    result = await cli("batch", str(source))
    assert result.code == EXIT_OK, result
    (body,) = chat_bodies(fake_ollama)
    assert body["model"] == "qwen3:8b"
    assert body["options"] == {"temperature": 0}
    assert body["stream"] is True  # streamed, and folded into one line
    (row,) = result.json_lines()
    assert len(row["response"].split()) == 24


async def test_batch_failures_are_lines_and_exit_4(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        '{"id": "ok", "prompt": "hi"}',
        '{"id": "bad", "prompt": "hi", "model": "no-such-model"}',
    )
    result = await cli("batch", str(source), "-m", "llama3.2")
    assert result.code == EXIT_PARTIAL
    rows = {row["id"]: row for row in result.json_lines()}
    assert "response" in rows["ok"]
    assert "not found" in rows["bad"]["error"]
    assert "batch: 1 done, 1 failed" in result.err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param('{"prompt": "hi"}', "no model", id="no-model"),
        pytest.param('{"id": 1}', "no prompt or messages", id="no-prompt"),
        pytest.param('{"prompt": ', "input line 1", id="bad-json"),
        pytest.param('"a"\n{"id": 1, "prompt": "b"}', "duplicate id 1", id="dup"),
    ],
)
async def test_batch_bad_input_is_a_usage_error(line: str, message: str) -> None:
    model = [] if "no model" in message else ["-m", "llama3.2"]
    result = await cli("batch", *model, stdin=line + "\n")
    assert result.code == EXIT_USAGE, result
    assert message in result.err


async def test_batch_resumes_from_its_output(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        *(f'{{"id": "p{i}", "prompt": "q{i}"}}' for i in range(6)),
    )
    output = write_lines(
        tmp_path / "out.jsonl",
        '{"id": "p0", "response": "done before"}',
        '{"id": "p3", "response": "done before"}',
        '{"id": "p4", "error": "failed before: tried again"}',
    )
    with output.open("a") as file:
        file.write('{"id": "p5", "respo')  # a line cut short by a crash
    result = await cli("batch", str(source), "-m", "llama3.2", "-o", str(output))
    assert result.code == EXIT_OK, result
    assert result.out == ""
    assert "skipping 2 ids already in" in result.err
    sent = sorted(b["messages"][0]["content"] for b in chat_bodies(fake_ollama))
    assert sent == ["q1", "q2", "q4", "q5"]
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in rows[:3]] == ["p0", "p3", "p4"]
    assert sorted(r["id"] for r in rows[3:]) == ["p1", "p2", "p4", "p5"]
    # A rerun has nothing left to do.
    fake_ollama.reset_stats()
    again = await cli("batch", str(source), "-m", "llama3.2", "-o", str(output))
    assert again.code == EXIT_OK
    assert chat_bodies(fake_ollama) == []
    assert "batch: 0 done, 0 failed, 6 skipped" in again.err
    # --restart starts over.
    fresh = await cli(
        "batch", str(source), "-m", "llama3.2", "-o", str(output), "--restart"
    )
    assert fresh.code == EXIT_OK
    assert len(output.read_text().splitlines()) == 6


async def test_batch_concurrency_is_bounded(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.max_concurrency = 2  # a third request at once would get a 503
    fake_ollama.tokens_per_second = 500
    source = write_lines(tmp_path / "in.jsonl", *(f'"q{i}"' for i in range(8)))
    result = await cli("batch", str(source), "-m", "llama3.2", "-c", "2")
    assert result.code == EXIT_OK, result
    assert len(result.lines) == 8


async def test_batch_stops_when_the_server_is_gone(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", '"q"')
    output = tmp_path / "out.jsonl"
    result = await cli(
        "batch", str(source), "-m", "x", "-o", str(output),
        "--host", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert result.code == EXIT_CONNECTION
    assert output.read_text() == ""


# -- serve-fake and demo ------------------------------------------------------------


async def test_serve_fake_in_process() -> None:
    import asyncio

    from ollama_async import AsyncClient

    out = io.StringIO()
    argv = ["serve-fake", "--port", "0", "--server-version", "9.9.9"]
    task = asyncio.create_task(amain(argv, stdout=out))
    async with asyncio.timeout(5):
        while "listening on" not in out.getvalue():
            await asyncio.sleep(0.01)
    url = out.getvalue().split()[-1]
    async with AsyncClient(url) as client:
        assert (await client.version()).version == "9.9.9"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_serve_fake_port_taken(fake_ollama: FakeOllama) -> None:
    port = fake_ollama.url.rpartition(":")[2]
    result = await cli("serve-fake", "--port", port)
    assert result.code == EXIT_SERVER
    assert result.err.startswith(
        f"ollama-async: error: port {port} is in use on 127.0.0.1 "
    )
    assert result.err.count("\n") == 1  # one line, no traceback


def _emulator_options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        option
        for group in parser._action_groups
        if group.title == "emulator options"
        for action in group._group_actions
        for option in action.option_strings
    }


def test_both_emulator_entry_points_take_the_same_options() -> None:
    from ollama_async.testing.__main__ import build_parser as testing_parser

    (commands,) = [
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    serve_fake = commands.choices["serve-fake"]
    testing = testing_parser()
    options = _emulator_options(testing)
    assert "--fault" in options
    assert _emulator_options(serve_fake) == options
    everything = {o for a in serve_fake._actions for o in a.option_strings}
    assert everything == options | {
        "-h",
        "--help",
        "--json",
        "--debug",
        "--no-progress",
    }
    assert {o for a in testing._actions for o in a.option_strings} == options | {
        "-h",
        "--help",
    }
    argv = [
        "--host", "::1", "--port", "0", "--response-tokens", "0",
        "--tokens-per-second", "5", "--first-token-delay", "0.5",
        "--load-delay", "1", "--max-concurrency", "2", "--burst",
        "--server-version", "9.9.9", "--fault", "status=503", "--fault-seed", "7",
    ]  # fmt: skip
    cli_args = vars(build_parser().parse_args(["serve-fake", *argv]))
    for name, value in vars(testing.parse_args(argv)).items():
        assert repr(cli_args[name]) == repr(value), name


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--response-tokens", "-1"], id="negative-tokens"),
        pytest.param(["--port", "65536"], id="port-too-big"),
        pytest.param(["--load-delay", "nan"], id="nan-delay"),
        pytest.param(["--fault", "nope=1"], id="bad-fault"),
    ],
)
async def test_serve_fake_rejects_bad_options(argv: list[str]) -> None:
    result = await cli("serve-fake", *argv)
    assert result.code == EXIT_USAGE
    assert "error: argument" in result.err


async def test_demo_uses_a_server_that_answers(fake_ollama: FakeOllama) -> None:
    result = await cli("demo")
    assert result.code == EXIT_OK, result
    assert "emulator" not in result.out
    assert f"server {fake_ollama.url}" in result.out
    assert "read-only on a real server" in result.out
    assert not any(r.path in ("/api/pull", "/api/delete") for r in fake_ollama.requests)


async def test_demo_starts_the_emulator_when_nothing_answers() -> None:
    result = await cli("demo", "--host", f"127.0.0.1:{free_port()}")
    assert result.code == EXIT_OK, result
    assert "No Ollama answered at" in result.out
    assert "starting the built-in emulator" in result.out
    for step in ("1. Streaming", "2. A structured answer", "3. Fan-out", "4. Model"):
        assert step in result.out
    assert "City(name=" in result.out
    assert "24 answers (0 failed)" in result.out
    assert "deleted my-gemma" in result.out
    assert "success" in result.err  # the pull's progress


async def test_demo_emulator_flag_and_model_on_a_server(
    fake_ollama: FakeOllama,
) -> None:
    result = await cli("demo", "--emulator")
    assert "(--emulator)" in result.out
    assert fake_ollama.requests == []
    on_server = await cli("demo", "-m", "qwen3:8b")
    assert "model qwen3:8b" in on_server.out
