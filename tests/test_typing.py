"""Runs mypy --strict over ``tests/typing/check_types.py``, which pins the
static types of the public API's forms (``await client.chat(...)``, streams,
``async for``/``async with``, the ``stream=flag`` union)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is not installed")

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "tests" / "typing" / "check_types.py"


def test_public_api_types_under_mypy_strict() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            str(CHECKS.relative_to(ROOT)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
