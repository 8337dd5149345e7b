"""Every Python example in README.md, docs/*.md and examples/ runs as written
against the emulator (``OLLAMA_HOST`` pointing at it), in a fresh interpreter."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from ollama_async.testing import FakeOllama

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[pytest.param]:
    params = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            params.append(pytest.param(match.group(1), id=f"{doc.name}:{line}"))
    return params


async def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=45)
    return process.returncode or 0, output.decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
    env.update(extra, PYTHONWARNINGS="error")
    return env


@pytest.mark.parametrize("code", _blocks())
async def test_doc_example_runs(code: str) -> None:
    async with FakeOllama() as server:
        status, output = await _run(["-c", code], _env(OLLAMA_HOST=server.url))
    assert status == 0, output


@pytest.mark.parametrize(
    "script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name
)
async def test_example_runs_with_its_own_emulator(script: Path) -> None:
    status, output = await _run([str(script)], _env())
    assert status == 0, output
    assert "emulator" in output


async def test_demo_uses_a_server_that_answers() -> None:
    async with FakeOllama() as server:
        url = server.url
        status, output = await _run(
            [str(ROOT / "examples" / "demo.py")], _env(OLLAMA_HOST=url)
        )
    assert status == 0, output
    assert "starting the built-in emulator" not in output
    assert url in output


def test_api_reference_lists_every_public_name() -> None:
    """docs/api.md documents each name of ``ollama_async.__all__``: by an
    ``auto...`` directive, or through ``automodule:: ollama_async.types``."""
    import ollama_async
    import ollama_async.types

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. auto\w+:: (\w+)\s*$", text, re.MULTILINE))
    documented |= set(ollama_async.types.__all__)
    assert ".. automodule:: ollama_async.types" in text
    assert ".. automodule:: ollama_async.testing" in text
    assert ".. data:: __version__" in text
    missing = set(ollama_async.__all__) - documented - {"__version__"}
    assert not missing, f"add to docs/api.md: {sorted(missing)}"


def test_the_readme_installs_from_a_clone() -> None:
    """The Install section's first command works from a fresh clone: it
    installs this working tree, not a name that needs a package index
    release."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Install", 1)[1].split("\n## ", 1)[0]
    first = re.search(r"^```bash\n(.*?)$", section, re.MULTILINE)
    assert first is not None
    command = first.group(1).split("#")[0].split()
    assert command[:4] == ["python", "-m", "pip", "install"]
    assert command[4:] == ["."]
    assert (ROOT / "pyproject.toml").is_file()
