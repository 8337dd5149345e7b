"""Progress and batch output through the CLI (issue 19, item 4): pull bars
with bytes, units and an ETA that never stay stale; a batch interrupted with
Ctrl-C says so and how to resume; the summary says where failed rows are;
ids keep their JSON type."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from cli_harness import TTY, cli, progress_context

from ollama_async import ProgressResponse
from ollama_async.cli._context import EXIT_OK, EXIT_PARTIAL, EXIT_SERVER
from ollama_async.cli._main import amain
from ollama_async.cli._models import ProgressView
from ollama_async.testing import FakeOllama, Fault

pytestmark = pytest.mark.timeout(20)


async def spawn(url: str, *argv: str) -> asyncio.subprocess.Process:
    """The CLI as a process (Ctrl-C is a real SIGINT there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
    env.update(OLLAMA_HOST=url, PYTHONWARNINGS="error")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ollama_async", *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip


async def run(url: str, *argv: str) -> tuple[int, str, str]:
    process = await spawn(url, *argv)
    out, err = await asyncio.wait_for(process.communicate(), timeout=15)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def final_lines(drawn: str) -> list[str]:
    """Each line of a terminal as tqdm left it: the last draw after a \\r."""
    return [line.rpartition("\r")[2].rstrip() for line in drawn.split("\n")]


async def pull_on_a_terminal(url: str, *argv: str) -> tuple[int, str]:
    err = TTY()
    code = await amain(
        ["--host", url, *argv], stdout=io.StringIO(), stderr=err, stdin=io.StringIO()
    )
    return code, err.getvalue()


# -- progress bars --------------------------------------------------------------------


async def test_pull_bars_show_bytes_units_and_eta(fake_ollama: FakeOllama) -> None:
    code, drawn = await pull_on_a_terminal(fake_ollama.url, "pull", "gemma3:1b")
    assert code == EXIT_OK, drawn
    lines = final_lines(drawn)
    layers = [line for line in lines if line.startswith("pulling ") and "%" in line]
    assert len(layers) == 4  # one closed bar per layer, each on its own line
    assert layers[0].startswith("pulling b670b8f816dd: 100%|")
    assert "815MB/815MB" in layers[0]
    assert all("B/s ETA 00:00" in line for line in layers)
    assert lines[-2:] == ["success", ""]


async def test_a_bar_cut_short_by_an_error_is_closed(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(Fault(path="/api/pull", error_after=3, message="disk full"))
    code, drawn = await pull_on_a_terminal(fake_ollama.url, "pull", "gemma3:1b")
    assert code == EXIT_SERVER
    lines = final_lines(drawn)
    # the bar is closed (its line ended) before the error is written
    assert lines[-2] == "ollama-async: error: disk full"
    assert lines[-3].startswith("pulling b670b8f816dd: ")
    assert "/815MB" in lines[-3]


def test_a_bar_is_closed_when_the_next_layer_starts() -> None:
    err = TTY()

    view = ProgressView(progress_context(err))
    first, second = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32
    view.update(ProgressResponse(status="pulling abab", digest=first, total=10**9))
    view.update(
        ProgressResponse(
            status="pulling abab", digest=first, total=10**9, completed=4 * 10**8
        )
    )
    assert list(view.bars) == [first]
    view.update(ProgressResponse(status="pulling cdcd", digest=second, total=1000))
    assert list(view.bars) == [second]  # the first one was closed
    view.close_bars()  # the stream ended
    assert view.bars == {}
    lines = final_lines(err.getvalue())
    assert lines[0].startswith("pulling abab:  40%|")
    assert "400MB/1.00GB" in lines[0]  # its last numbers, not a stale draw
    assert lines[1].startswith("pulling cdcd:   0%|")


# -- an interrupted batch -------------------------------------------------------------


def write_prompts(path: Path, count: int) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": i, "prompt": f"prompt {i}", "stream": True}) + "\n"
            for i in range(count)
        )
    )
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_ctrl_c_says_the_batch_was_interrupted_and_rerunning_resumes(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "prompts.jsonl", 12)
    output = tmp_path / "answers.jsonl"
    fake_ollama.tokens_per_second = 40
    fake_ollama.response_tokens = 8
    argv = ["batch", str(source), "-m", "llama3.2", "-o", str(output), "-c", "2"]
    process = await spawn(fake_ollama.url, *argv)
    async with asyncio.timeout(10):
        while not output.exists() or output.read_text().count("\n") < 2:
            await asyncio.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), timeout=15)
    assert process.returncode == 130
    kept = len(output.read_text().splitlines())
    message = err.decode().strip().splitlines()[-1]
    assert message.startswith(f"batch: interrupted: {kept} done, 0 failed")
    assert f"every finished answer is in {output}" in message
    assert "rerun the same command to resume" in message

    fake_ollama.tokens_per_second = None
    code, _, err_again = await run(fake_ollama.url, *argv)
    assert code == 0, err_again
    assert f"skipping {kept} ids already in" in err_again
    assert err_again.endswith(f"batch: {12 - kept} done, 0 failed, {kept} skipped\n")


async def test_an_interrupted_batch_to_stdout_says_how_to_resume(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = write_prompts(tmp_path / "prompts.jsonl", 6)
    fake_ollama.tokens_per_second = 20
    out, err = io.StringIO(), io.StringIO()
    argv = ["--host", fake_ollama.url, "batch", str(source), "-m", "llama3.2"]
    task = asyncio.create_task(amain(argv, stdout=out, stderr=err))
    await asyncio.sleep(0.3)
    task.cancel()  # what main() does on Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await task
    assert err.getvalue().startswith("batch: interrupted: 0 done, 0 failed")
    assert "with -o FILE, a rerun would resume" in err.getvalue()


# -- the summary, and ids ---------------------------------------------------------


async def test_the_summary_says_where_the_failed_rows_are(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "ok", "prompt": "hi"}\n'
        '{"id": "bad", "prompt": "hi", "model": "no-such-model"}\n'
    )
    output = tmp_path / "out.jsonl"
    to_file = await cli(
        "batch", str(source), "-m", "llama3.2", "-o", str(output),
        "--host", fake_ollama.url,
    )  # fmt: skip
    assert to_file.code == EXIT_PARTIAL
    assert to_file.err.endswith(
        f'batch: 1 done, 1 failed (their lines in {output} have "error"; '
        "a rerun tries them again)\n"
    )
    to_stdout = await cli(
        "batch", str(source), "-m", "llama3.2", "--host", fake_ollama.url
    )
    assert to_stdout.err.endswith(
        'batch: 1 done, 1 failed (their lines on stdout have "error")\n'
    )
    assert [row["id"] for row in to_stdout.json_lines() if "error" in row] == ["bad"]


async def test_ids_keep_their_type(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": 1, "prompt": "an int"}\n'
        '{"id": "1", "prompt": "a string that looks like one"}\n'
        '{"id": 2.5, "prompt": "a float"}\n'
        '{"id": [3, "x"], "prompt": "a list"}\n'
        '{"id": 7, "prompt": "fails", "model": "no-such-model"}\n'
        "no id: the line number\n"
    )
    output = tmp_path / "out.jsonl"
    argv = ["batch", str(source), "-m", "llama3.2", "-o", str(output)]
    first = await cli(*argv, "--host", fake_ollama.url)
    assert first.code == EXIT_PARTIAL, first
    ids = [json.loads(line)["id"] for line in output.read_text().splitlines()]
    assert sorted(map(json.dumps, ids)) == sorted(
        map(json.dumps, [1, "1", 2.5, [3, "x"], 7, 6])
    )
    by_type = {json.dumps(i): type(i) for i in ids}
    assert by_type["1"] is int
    assert by_type['"1"'] is str
    assert by_type["2.5"] is float
    assert by_type["6"] is int  # the line number of a line without an id
    # A rerun skips the ids answered, by value and type: 1 and "1" both.
    fake_ollama.reset_stats()
    again = await cli(*argv, "--host", fake_ollama.url)
    assert "skipping 5 ids already in" in again.err
    chats = [r for r in fake_ollama.requests if r.path == "/api/chat"]
    assert [r.json["messages"][-1]["content"] for r in chats] == ["fails"]
