"""Runs mypy --strict over every file in ``tests/typing/``: ``assert_type``
lines that pin the static types of the public API (``await client.chat(...)``,
streams, ``async for``/``async with``, the ``stream=flag`` union, batches,
structured parsing, the tool loop). A wrong type fails the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is not installed")

ROOT = Path(__file__).resolve().parent.parent
CHECKS = sorted((ROOT / "tests" / "typing").glob("check_*.py"))


def test_public_api_types_under_mypy_strict() -> None:
    assert len(CHECKS) >= 3
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            *(str(path.relative_to(ROOT)) for path in CHECKS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
