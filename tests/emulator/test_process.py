"""The emulator as a process, and the pytest plugin as users get it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest


async def test_python_m_prints_the_url_and_serves(http: aiohttp.ClientSession):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollama_async.testing",
        "--port",
        "0",
        "--response-tokens",
        "3",
        "--server-version",
        "9.9.9",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert banner.startswith("FakeOllama listening on http://127.0.0.1:")
        url = banner.split()[-1]
        async with http.get(url + "/api/version") as resp:
            assert await resp.json() == {"version": "9.9.9"}
        body = {"model": "llama3.2", "prompt": "x"}
        async with http.post(url + "/api/generate", json=body) as resp:
            assert (await resp.read()).count(b"\n") == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0


def run_pytest(
    tmp_path: Path, test_source: str, *args: str, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user_app.py").write_text(textwrap.dedent(test_source))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the user's own (strict) config
    code = prelude + "import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "-q",
            "-p",
            "no:cacheprovider",
            *args,
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


USER_TEST = """
    import aiohttp
    import pytest

    from ollama_async.testing import Fault


    @pytest.mark.asyncio
    async def test_my_app(fake_ollama):
        fake_ollama.add_fault(Fault(path="/api/tags", status=503, times=1))
        async with aiohttp.ClientSession() as session:
            async with session.get(fake_ollama.url + "/api/tags") as resp:
                assert resp.status == 503
            async with session.get(fake_ollama.url + "/api/tags") as resp:
                assert resp.status == 200
        assert len(fake_ollama.requests) == 2


    @pytest.mark.asyncio
    async def test_fresh_server_per_test(fake_ollama):
        assert fake_ollama.requests == []
"""


def test_plugin_fixture_in_a_strict_mode_project(tmp_path):
    result = run_pytest(tmp_path, USER_TEST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_plugin_without_pytest_asyncio_fails_clearly(tmp_path):
    source = """
        def test_needs_it(fake_ollama):
            pass

        def test_unrelated():
            pass
    """
    # Simulate an environment without pytest-asyncio.
    blocker = (
        "import importlib.util as u; real = u.find_spec; "
        "u.find_spec = lambda n, *a: None if n == 'pytest_asyncio' else real(n, *a); "
    )
    result = run_pytest(tmp_path, source, "-p", "no:asyncio", prelude=blocker)
    assert "1 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "needs pytest-asyncio" in result.stdout


def test_plugin_import_is_light():
    code = (
        "import sys; import ollama_async.testing._plugin; "
        "print('aiohttp' in sys.modules, 'ollama_async.testing._server' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # The parent package may import aiohttp for the client; the emulator itself
    # must not be imported until the fixture runs.
    assert out.stdout.split()[1] == "False"


def modules_after(statement):
    listing = "sorted(m for m in sys.modules if m.startswith('ollama_async'))"
    code = f"import sys; {statement}; print({listing})"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(eval(out.stdout))  # a printed list of module names


def test_emulator_never_imports_the_client():
    baseline = modules_after("import ollama_async")
    emulator = modules_after(
        "import ollama_async.testing._server, ollama_async.testing._serve, "
        "ollama_async.testing.__main__"
    )
    # Whatever ollama_async/__init__ imports is the client's business; the
    # emulator's own modules must not add anything from the client side.
    extra = {m for m in emulator - baseline if not m.startswith("ollama_async.testing")}
    assert extra <= {"ollama_async._version"}


def test_the_docs_pytest_example_passes(tmp_path):
    docs = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
    blocks = re.findall(r"^```python\n(.*?)^```", docs.read_text(), re.M | re.S)
    (example,) = [b for b in blocks if "def test_summarize(" in b]
    result = run_pytest(tmp_path, example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


async def test_python_m_with_a_probability_fault(http: aiohttp.ClientSession):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollama_async.testing",
        "--port",
        "0",
        "--fault",
        "status=503; probability=0.5; path=/api/generate",
        "--fault-seed",
        "3",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().split()[-1]
        body = {"model": "llama3.2", "prompt": "x", "stream": False}
        statuses = []
        for _ in range(40):
            async with http.post(url + "/api/generate", json=body) as resp:
                statuses.append(resp.status)
        assert set(statuses) == {200, 503}
        async with http.get(url + "/api/tags") as resp:
            assert resp.status == 200  # the path filter holds
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0
    assert proc.stdout is not None
    summary = (await proc.stdout.read()).decode()
    assert summary == "FakeOllama stopped after 41 requests\n"


def test_python_m_rejects_a_bad_fault():
    result = subprocess.run(
        [sys.executable, "-m", "ollama_async.testing", "--fault", "nope=1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "invalid fault 'nope=1'" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [["-m", "ollama_async", "serve-fake"], ["-m", "ollama_async.testing"]],
    ids=["ollama-async serve-fake", "python -m ollama_async.testing"],
)
async def test_stats_served_and_printed_on_exit(
    http: aiohttp.ClientSession, argv: list[str]
):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        "--port",
        "0",
        "--response-tokens",
        "3",
        "--stats",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().split()[-1]
        body = {"model": "llama3.2", "prompt": "x"}
        async with http.post(url + "/api/generate", json=body) as resp:
            await resp.read()
        async with http.get(url + "/_fake/stats") as resp:
            live = await resp.json()
        assert live["requests"] == 1
        assert live["completed_streams"] == 1
        assert live["active_streams"] == live["disconnects"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0
    assert proc.stdout is not None
    stopped, stats = (await proc.stdout.read()).decode().splitlines()
    assert stopped == "FakeOllama stopped after 1 requests"
    assert stats.startswith("FakeOllama stats {")
    assert json.loads(stats.removeprefix("FakeOllama stats ")) == live
