"""The CLI as a real process (``python -m ollama_async``) against an in-test
emulator: every command end to end, Ctrl-C during a stream (exit 130, the
connection closed), SIGTERM, ``serve-fake`` (and its options and help, the
same as ``python -m ollama_async.testing``'s), and a batch interrupted and
resumed. Subprocesses run with ``asyncio.create_subprocess_exec`` so that this
test's loop keeps serving the emulator meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from ollama_async import AsyncClient
from ollama_async.testing import FakeOllama

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX signals and exit codes"
)


def _env(url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
    if url is not None:
        env["OLLAMA_HOST"] = url
    env["PYTHONWARNINGS"] = "error"
    env["PYTHONFAULTHANDLER"] = "1"  # SIGABRT dumps every thread: see _finish
    return env


async def spawn(
    url: str | None, *argv: str, stdin: int = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    """Start the CLI; stdin is empty unless asked for (`run` reads a pipe)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollama_async",
        *argv,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(url),
    )


async def run(url: str | None, *argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    process = await spawn(url, *argv, stdin=asyncio.subprocess.PIPE)
    out, err = await _finish(process, stdin)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _finish(
    process: asyncio.subprocess.Process, stdin: bytes | None = None
) -> tuple[bytes, bytes]:
    """The process's output once it exits. One that has not exited after 30 s
    (generous: CI machines are shared) is made to dump its threads' stacks,
    and the test fails showing them."""
    communicate = asyncio.ensure_future(process.communicate(stdin))
    done, _ = await asyncio.wait([communicate], timeout=30)
    if not done:
        process.send_signal(signal.SIGABRT)
        _, err = await communicate
        pytest.fail(f"the CLI did not exit; its stacks:\n{err.decode()}")
    return communicate.result()


# Every command, in an order that leaves what the next one needs.
COMMANDS = [
    pytest.param(["version"], "server version is 0.33.0", id="version"),
    pytest.param(["list"], "llama3.2:latest", id="list"),
    pytest.param(["run", "llama3.2", "Why is the sky blue?"], "", id="run"),
    pytest.param(["ps"], "llama3.2:latest", id="ps"),
    pytest.param(["show", "llama3.2"], "architecture", id="show"),
    pytest.param(["pull", "gemma3:1b"], "", id="pull"),
    pytest.param(["cp", "gemma3:1b", "me/gemma"], "copied", id="cp"),
    pytest.param(["push", "me/gemma"], "", id="push"),
    pytest.param(["create", "pirate", "--from", "llama3.2"], "", id="create"),
    pytest.param(["rm", "me/gemma", "pirate"], "deleted 'pirate'", id="rm"),
    pytest.param(["stop", "llama3.2"], "", id="stop"),
    pytest.param(["embed", "nomic-embed-text", "hi"], '"embedding":', id="embed"),
    pytest.param(["batch", "-m", "llama3.2"], '"response":', id="batch"),
    pytest.param(["demo"], "4. Model management", id="demo"),
]


async def test_every_command_as_a_process(fake_ollama: FakeOllama) -> None:
    for param in COMMANDS:
        argv, expected = param.values
        stdin = b'"one prompt"\n' if argv[0] == "batch" else b""
        code, out, err = await run(fake_ollama.url, *argv, stdin=stdin)
        assert code == 0, (argv, out, err)
        assert expected in out, (argv, out, err)
    assert fake_ollama.models.find("pirate") is None
    assert fake_ollama.models.find("me/gemma") is None


async def test_errors_and_exit_codes_as_a_process(fake_ollama: FakeOllama) -> None:
    code, out, err = await run(fake_ollama.url, "show", "no-such-model")
    assert (code, out) == (1, "")
    assert err == (
        "ollama-async: error: model 'no-such-model:latest' not found "
        "(status code: 404)\n"
    )
    code, _, err = await run(fake_ollama.url, "list", "--bogus")
    assert code == 2
    assert "unrecognized arguments: --bogus" in err
    url = fake_ollama.url
    await fake_ollama.stop()  # nobody listens there now
    code, _, err = await run(url, "list")
    assert code == 3
    assert err.startswith("ollama-async: error: Failed to connect to Ollama")
    assert err.count("\n") == 1  # one line: no retry notices, no traceback


async def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("ollama-async")
    if not script.exists():
        pytest.skip("package not installed with its scripts")
    process = await asyncio.create_subprocess_exec(
        script, "--version", stdout=asyncio.subprocess.PIPE, env=_env(None)
    )
    out, _ = await _finish(process)
    assert process.returncode == 0
    assert out.startswith(b"ollama-async ")


async def _read_some(process: asyncio.subprocess.Process) -> bytes:
    assert process.stdout is not None
    return await asyncio.wait_for(process.stdout.read(20), timeout=10)


async def test_ctrl_c_during_run_closes_the_stream(fake_ollama: FakeOllama) -> None:
    fake_ollama.tokens_per_second = 20
    fake_ollama.response_tokens = 1000  # 50 s: only Ctrl-C ends it in time
    process = await spawn(fake_ollama.url, "run", "llama3.2", "Tell me a story")
    assert await _read_some(process)  # the answer is streaming
    assert fake_ollama.active_streams == 1
    process.send_signal(signal.SIGINT)
    _, err = await _finish(process)
    assert process.returncode == 130
    assert err == b""  # no traceback, no message
    await fake_ollama.wait_for_disconnects(1)
    assert fake_ollama.disconnects == 1
    assert fake_ollama.active_streams == 0
    assert fake_ollama.completed_streams == 0


async def test_sigterm_during_run_closes_the_stream(fake_ollama: FakeOllama) -> None:
    fake_ollama.tokens_per_second = 20
    fake_ollama.response_tokens = 1000
    process = await spawn(fake_ollama.url, "run", "llama3.2", "Tell me a story")
    assert await _read_some(process)
    process.terminate()
    await _finish(process)
    assert process.returncode == 143
    await fake_ollama.wait_for_disconnects(1)


async def test_serve_fake_until_ctrl_c() -> None:
    process = await spawn(None, "serve-fake", "--port", "0")
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
    assert line.startswith(b"FakeOllama listening on http://127.0.0.1:")
    url = line.split()[-1].decode()
    async with AsyncClient(url) as client:
        assert (await client.version()).version == "0.33.0"
    code, out, _ = await run(url, "list", "--json")
    assert code == 0
    assert "llama3.2:latest" in out
    process.send_signal(signal.SIGINT)
    rest, _ = await _finish(process)
    assert process.returncode == 0
    assert rest == b"FakeOllama stopped after 2 requests\n"


async def test_serve_fake_until_sigterm_with_the_emulators_options() -> None:
    process = await spawn(
        None, "serve-fake", "--port", "0", "--server-version", "9.9.9",
        "--fault", "status=500; path=/api/tags; times=1",
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
    url = line.split()[-1].decode()
    code, _, err = await run(url, "list")
    assert code == 1, err  # the fault
    code, out, _ = await run(url, "version")
    assert "server version is 9.9.9" in out
    process.terminate()
    rest, _ = await _finish(process)
    assert process.returncode == 0
    assert rest == b"FakeOllama stopped after 2 requests\n"


EMULATORS = [
    pytest.param(["-m", "ollama_async", "serve-fake"], id="ollama-async serve-fake"),
    pytest.param(["-m", "ollama_async.testing"], id="python -m ollama_async.testing"),
]


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", help_text))


async def test_both_emulator_entry_points_show_the_same_options() -> None:
    helps = []
    for param in EMULATORS:
        (argv,) = param.values
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, "--help",
            stdout=asyncio.subprocess.PIPE, env=_env(None),
        )  # fmt: skip
        out, _ = await _finish(process)
        assert process.returncode == 0, param.id
        assert "emulator options:" in out.decode()
        helps.append(_options(out.decode().partition("emulator options:")[2]))
    serve_fake, testing = helps
    assert serve_fake == testing
    assert {"--host", "--bind", "--port", "--fault", "--fault-seed"} <= testing


async def test_console_script_serve_fake_help() -> None:
    script = Path(sys.executable).with_name("ollama-async")
    if not script.exists():
        pytest.skip("package not installed with its scripts")
    process = await asyncio.create_subprocess_exec(
        script, "serve-fake", "--help", stdout=asyncio.subprocess.PIPE, env=_env(None)
    )
    out, _ = await _finish(process)
    assert process.returncode == 0
    assert b"--max-concurrency" in out


@pytest.mark.parametrize("argv", EMULATORS)
async def test_emulator_on_a_taken_port_exits_1(
    fake_ollama: FakeOllama, argv: list[str]
) -> None:
    port = fake_ollama.url.rpartition(":")[2]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, "--port", port,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=_env(None),
    )  # fmt: skip
    out, err = await _finish(process)
    assert process.returncode == 1
    assert out == b""
    assert f"error: port {port} is in use on 127.0.0.1 ".encode() in err
    assert err.count(b"\n") == 1  # one line, no traceback


async def test_batch_interrupted_then_resumed(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    ids = [f"q{i}" for i in range(20)]
    source = tmp_path / "prompts.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": i, "prompt": f"prompt {i}", "stream": True}) + "\n"
            for i in ids
        )
    )
    output = tmp_path / "answers.jsonl"
    fake_ollama.tokens_per_second = 40
    fake_ollama.response_tokens = 8  # 0.2 s an answer, 2 at a time: ~2 s in all
    argv = ["batch", str(source), "-m", "llama3.2", "-o", str(output), "-c", "2"]

    process = await spawn(fake_ollama.url, *argv)
    async with asyncio.timeout(15):
        while not output.exists() or output.read_text().count("\n") < 4:
            await asyncio.sleep(0.02)
    process.send_signal(signal.SIGINT)
    await _finish(process)
    assert process.returncode == 130
    first = [json.loads(line) for line in output.read_text().splitlines()]
    assert 4 <= len(first) < len(ids)
    assert all("response" in row for row in first)
    await fake_ollama.wait_for_disconnects(1)  # the answers in flight were dropped

    fake_ollama.reset_stats()
    code, _, err = await run(fake_ollama.url, *argv)
    assert code == 0, err
    sent = [r.json["messages"][-1]["content"] for r in fake_ollama.requests]
    assert len(sent) == len(ids) - len(first)  # only the missing ids ran
    assert {f"prompt {row['id']}" for row in first}.isdisjoint(sent)
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert f"skipping {len(first)} ids already in" in err
