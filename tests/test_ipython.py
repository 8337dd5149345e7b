"""Ctrl-C in terminal IPython (issue 19, item 6), in a real pseudo-terminal:
without the extension a cell's stream stays open after the interrupt (what
``docs/notebooks.md`` documents); with ``%load_ext ollama_async.ipython`` it
closes, and the server sees the disconnect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pexpect = pytest.importorskip("pexpect")
pytest.importorskip("IPython")

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals"),
    pytest.mark.timeout(30),
]

PROMPT = r"In \[\d+\]: "
STREAM = (
    'async for p in client.chat("llama3.2", [{"role": "user", "content": "hi"}], '
    'stream=True): print(p.message.content, end="", flush=True)'
)


@pytest.fixture
def slow_emulator() -> Iterator[str]:
    """An emulator process that takes 40 s to answer: still generating
    when the cell is interrupted."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ollama_async.testing", "--port", "0",
         "--tokens-per-second", "10", "--response-tokens", "400"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    yield process.stdout.readline().strip().rsplit(" ", 1)[1]
    process.terminate()
    process.wait(10)
    process.stdout.close()


def _streams(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_fake/stats") as answer:
        stats = json.load(answer)
    return {"open": stats["active_streams"], "disconnects": stats["disconnects"]}


def _interrupt_a_streaming_cell(url: str, *setup: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
    ipython = pexpect.spawn(
        sys.executable,
        ["-m", "IPython", "--no-banner", "--simple-prompt", "--colors=NoColor"],
        env={**env, "OLLAMA_HOST": url},
        encoding="utf-8",
        timeout=15,
    )
    try:
        ipython.expect(PROMPT)
        for line in (
            "from ollama_async import AsyncClient",
            "client = AsyncClient()",
            *setup,
        ):
            ipython.sendline(line)
            ipython.expect(PROMPT)
        ipython.sendline(STREAM)
        deadline = time.monotonic() + 10
        while _streams(url)["open"] == 0:  # the stream has started
            assert time.monotonic() < deadline
            time.sleep(0.05)
        ipython.sendintr()
        ipython.expect("KeyboardInterrupt")
        ipython.expect(PROMPT)
        time.sleep(0.3)
        after = _streams(url)
        ipython.sendline("await client.aclose()")
        ipython.expect(PROMPT)
        ipython.sendline("exit")
        ipython.expect(pexpect.EOF)
    finally:
        ipython.close(force=True)
    return after


def test_without_the_extension_the_stream_stays_open(slow_emulator: str) -> None:
    # Terminal IPython's runner stops the loop and leaves the task pending:
    # the server keeps generating until the client is closed.
    assert _interrupt_a_streaming_cell(slow_emulator) == {"open": 1, "disconnects": 0}


def test_with_the_extension_ctrl_c_closes_the_stream(slow_emulator: str) -> None:
    after = _interrupt_a_streaming_cell(slow_emulator, "%load_ext ollama_async.ipython")
    assert after == {"open": 0, "disconnects": 1}
