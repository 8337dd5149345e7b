"""``ollama-async run`` in a real pseudo-terminal (pexpect), against an
emulator served from a thread of this test process, so a test can read the
emulator's counters (``disconnects``) and request log while the CLI runs.

Each test prints its session, escape codes removed, as it appeared on the
terminal: ``pytest -s tests/test_cli_run_pty.py`` shows them.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ollama_async.testing import FakeOllama

pexpect = pytest.importorskip("pexpect")

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals"),
    pytest.mark.timeout(10),
]

COLUMNS = 60
SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours and bold/dim
ESCAPE = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[=>])")


@dataclass
class Emulator:
    server: FakeOllama
    loop: asyncio.AbstractEventLoop

    @property
    def url(self) -> str:
        return self.server.url

    def call(self, coroutine: Any, timeout: float = 5) -> Any:
        """Run a coroutine of the emulator's in its loop; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [r.json for r in self.server.requests if r.path == "/api/chat"]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """FakeOllama in its own loop in a thread: pexpect blocks this one."""
    started: Future[Emulator] = Future()
    stop = threading.Event()

    async def serve() -> None:
        async with FakeOllama() as server:
            started.set_result(Emulator(server, asyncio.get_running_loop()))
            while not stop.is_set():
                await asyncio.sleep(0.02)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    yield started.result(timeout=5)
    stop.set()
    thread.join(timeout=5)


def env_for(url: str, **extra: str) -> dict[str, str]:
    drop = ("OLLAMA_", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        OLLAMA_HOST=url,
        PYTHONWARNINGS="error",
        TERM="xterm-256color",
        LANG="C.UTF-8",
        **extra,
    )
    return env


def spawn(url: str, *argv: str, **extra_env: str) -> Any:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ollama_async", *argv],
        env=env_for(url, **extra_env),
        dimensions=(24, COLUMNS),
        encoding="utf-8",
        timeout=5,
    )
    child.logfile_read = io.StringIO()
    return child


def raw(child: Any) -> str:
    text: str = child.logfile_read.getvalue()
    return text


def screen(child: Any) -> str:
    """What the terminal showed: the output replayed on a small emulation of
    one (carriage returns, cursor up, erased lines), no escape codes left."""
    lines: list[list[str]] = [[]]
    row = col = 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b.|[\s\S]", raw(child)):
        if token == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append([])
        elif token == "\r":
            col = 0
        elif token == "\b":
            col = max(0, col - 1)
        elif token.startswith("\x1b"):
            move = re.fullmatch(r"\x1b\[(\d*)([AK])", token)
            if move and move[2] == "A":
                row = max(0, row - int(move[1] or 1))
            elif move:  # [K, [0K: to the end of the line; [2K: all of it
                line = lines[row]
                del line[0 if move[1] == "2" else col :]
        elif token.isprintable():
            line = lines[row]
            line.extend(" " * (col - len(line)))
            line[col : col + 1] = [token]
            col += 1
    return "\n".join("".join(line).rstrip() for line in lines)


def show(title: str, child: Any) -> None:
    print(f"\n----- {title} -----\n{screen(child)}\n----- end -----")


def finish(child: Any) -> int:
    child.expect(pexpect.EOF)
    child.close()
    status: int = child.exitstatus
    return status


# -- an interactive session ---------------------------------------------------------


def test_interactive_session(emulator: Emulator) -> None:
    emulator.server.response_tokens = 40  # more than a line of 60 columns
    emulator.server.first_token_delay = 0.3  # long enough to see the spinner
    child = spawn(emulator.url, "run", "llama3.2")
    child.expect_exact("Send a message (/? for help)")
    child.expect_exact(">>> ")
    child.sendline("Why is the sky blue?")
    child.expect_exact(">>> ")
    answer_start = len(raw(child))
    child.sendline('"""Line one')
    child.expect_exact("... ")
    child.sendline('line two"""')
    child.expect_exact(">>> ")
    child.sendline("/?")
    child.expect_exact('Use """ to begin a multi-line message.')
    child.expect_exact(">>> ")
    child.sendline("/load qwen3:8b")
    child.expect_exact("Loading model 'qwen3:8b'")
    child.expect_exact(">>> ")
    child.sendline("/set think")
    child.expect_exact("Set 'think' mode.")
    child.expect_exact(">>> ")
    child.sendline("Think first")
    child.expect_exact("...done thinking.")
    child.expect_exact(">>> ")
    child.sendeof()  # Ctrl-D
    assert finish(child) == 0
    show("an interactive session", child)

    shown = screen(child)
    first_answer = shown.split("Why is the sky blue?\n", 1)[1].split(">>> ")[0]
    lines = first_answer.strip("\n").splitlines()
    assert len(lines) > 1, "40 words wrap on a terminal of 60 columns"
    assert all(len(line) < COLUMNS for line in lines), lines
    assert len(first_answer.split()) == 40  # wrapped between words, none lost
    assert re.search(r"[\u2800-\u28ff]", raw(child)[:answer_start])  # the spinner
    assert "\x1b[2m" in raw(child)  # the thinking, dimmed
    assert shown.endswith(">>>\n")  # Ctrl-D: a clean newline

    bodies = emulator.chat_bodies()
    assert [len(b["messages"]) for b in bodies] == [1, 3, 1]
    assert bodies[1]["messages"][2]["content"] == "Line one\nline two"
    assert bodies[2]["model"] == "qwen3:8b"
    assert bodies[2]["think"] is True


# -- Ctrl-C ---------------------------------------------------------------------------


def test_ctrl_c_mid_generation_closes_the_stream(emulator: Emulator) -> None:
    emulator.server.tokens_per_second = 10
    emulator.server.response_tokens = 200  # 20 s: still going when Ctrl-C comes
    child = spawn(emulator.url, "run", "llama3.2")
    child.expect_exact(">>> ")
    child.sendline("Tell me a long story")
    child.expect_exact("Tell me a long story")
    child.expect(r"\w+ \w+ \w+ ")  # a few words of the answer
    assert emulator.server.disconnects == 0
    child.sendintr()  # Ctrl-C
    child.expect_exact(">>> ")
    emulator.call(emulator.server.wait_for_disconnects(1))
    disconnects = emulator.server.disconnects
    emulator.server.response_tokens = 3
    emulator.server.tokens_per_second = None
    child.sendline("Shorter, please")
    child.expect_exact(">>> ")
    child.sendline("/bye")
    assert finish(child) == 0
    show(f"Ctrl-C mid-generation (the emulator saw {disconnects} disconnect)", child)

    assert disconnects == 1
    assert emulator.server.completed_streams == 1  # only the second answer
    interrupted = screen(child).split("Tell me a long story\n", 1)[1]
    assert re.match(r"\w+ \w+ [^\n]*\^C\n>>> Shorter, please\n", interrupted)
    # the interrupted question is forgotten, as its answer never came
    last = emulator.chat_bodies()[-1]["messages"]
    assert last == [{"role": "user", "content": "Shorter, please"}]


def test_ctrl_c_at_the_prompt_says_how_to_exit(emulator: Emulator) -> None:
    child = spawn(emulator.url, "run", "llama3.2")
    child.expect_exact(">>> ")
    child.sendintr()
    child.expect_exact("Use Ctrl + d or /bye to exit.")
    child.sendline("/bye")
    assert finish(child) == 0


# -- /set, /show and /save ------------------------------------------------------------


def test_set_show_and_save(emulator: Emulator) -> None:
    emulator.server.response_tokens = 5
    child = spawn(emulator.url, "run", "llama3.2")
    child.expect_exact(">>> ")
    for command, reply in [
        ("/set", "/set parameter ...     Set a parameter"),
        ("/set parameter temperature 0.2", "Set parameter 'temperature' to '0.2'"),
        ("/set parameter stop <end> END", "Set parameter 'stop' to '<end>, END'"),
        ("/set parameter bogus 1", "Couldn't set parameter"),
        ("/set system You are a pirate.", "Set system message."),
        ("/set format json", "Set format to 'json' mode."),
        ("/set verbose", "Set 'verbose' mode."),
        ("/set nowordwrap", "Set 'nowordwrap' mode."),
        ("/set bogus", "Unknown command '/set bogus'. Type /? for help"),
    ]:
        child.sendline(command)
        child.expect_exact(reply)
        child.expect_exact(">>> ")
    child.sendline("Ahoy?")
    child.expect_exact("eval rate:")
    child.expect_exact(">>> ")
    child.sendline("/show parameters")
    child.expect_exact("User defined parameters:")
    child.expect_exact(">>> ")
    child.sendline("/show system")
    child.expect_exact("You are a pirate.")
    child.expect_exact(">>> ")
    child.sendline("/save pirate")
    child.expect_exact("Created new model 'pirate'")
    child.expect_exact(">>> ")
    child.sendline("/save")
    child.expect_exact("Usage:")
    child.expect_exact(">>> ")
    child.sendline("/clear")
    child.expect_exact("Cleared session context")
    child.expect_exact(">>> ")
    child.sendline("/bye")
    assert finish(child) == 0
    show("/set and /save", child)

    (body,) = emulator.chat_bodies()
    assert body["messages"][0] == {"role": "system", "content": "You are a pirate."}
    assert body["options"] == {"temperature": 0.2, "stop": ["<end>", "END"]}
    assert body["format"] == "json"
    saved = emulator.server.models.find("pirate")
    assert saved is not None
    assert saved.system == "You are a pirate."
    assert saved.parameters["temperature"] == 0.2
    assert [m["role"] for m in saved.messages] == ["system", "user", "assistant"]


# -- pulling a missing model, images --------------------------------------------------


def test_offers_to_pull_a_missing_model(emulator: Emulator) -> None:
    child = spawn(emulator.url, "run", "gemma3:1b")
    child.expect_exact("model 'gemma3:1b' not found; pull it? [Y/n] ")
    child.sendline("y")
    child.expect_exact("success")
    child.expect_exact(">>> ")
    child.sendline("/bye")
    assert finish(child) == 0
    show("pulling a missing model", child)
    assert emulator.server.models.find("gemma3:1b") is not None
    assert re.search(r"\d+MB/\d+MB .*B/s ETA", screen(child))  # the layer's bar


def test_declining_the_pull_is_an_error(emulator: Emulator) -> None:
    child = spawn(emulator.url, "run", "gemma3:1b")
    child.expect_exact("pull it? [Y/n] ")
    child.sendline("n")
    assert finish(child) == 1
    assert "not found" in screen(child)


def test_image_paths_go_to_a_vision_model(emulator: Emulator, tmp_path: Path) -> None:
    image = tmp_path / "cat photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    escaped = str(image).replace(" ", "\\ ")
    child = spawn(emulator.url, "run", "llava:7b")
    child.expect_exact(">>> ")
    child.sendline("/?")
    child.expect_exact("to include .jpg, .png, .webp images")
    child.sendline(f"What is in {escaped} ?")
    child.expect_exact(f"Added image '{image}'")
    child.expect_exact(">>> ")
    child.sendline("/bye")
    assert finish(child) == 0
    (body,) = emulator.chat_bodies()
    (message,) = body["messages"]
    assert message["content"] == "What is in  ?"
    assert len(message["images"]) == 1


# -- NO_COLOR and pipes ---------------------------------------------------------------


def test_no_color_is_plain_on_a_terminal(emulator: Emulator) -> None:
    coloured = spawn(emulator.url, "run", "qwen3:8b", "--think", "hi")
    assert finish(coloured) == 0
    assert SGR.search(raw(coloured))
    plain = spawn(emulator.url, "run", "qwen3:8b", "--think", "hi", NO_COLOR="1")
    assert finish(plain) == 0
    assert "...done thinking." in raw(plain)
    assert not SGR.search(raw(plain)), raw(plain)


def test_piped_output_has_no_escape_codes(emulator: Emulator) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ollama_async", "run", "qwen3:8b", "--think", "hi"],
        env=env_for(emulator.url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=8,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Thinking...\n" in done.stdout
    assert "\x1b" not in done.stdout + done.stderr
