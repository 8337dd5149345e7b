"""Runs pyright (strict) over ``tests/typing/check_dict_types.py``, the
checks of ``OptionsDict`` and ``MessageDict``, so that what mypy flags in a
dict literal pyright flags too, and what passes mypy passes pyright.

``tests/typing/pyrightconfig.json`` turns ``# type: ignore`` comments off
(they are mypy's) and reports a ``# pyright: ignore[rule]`` that suppresses
nothing: a case that must be an error fails the run when it is not.

The ``pyright`` wheel carries pyright itself, and its ``nodejs`` extra
(the ``test`` extra asks for it) brings Node.js as a wheel too, so nothing
is downloaded at run time. ``--outputjson`` also keeps the wrapper from
asking the package index whether a newer pyright exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyright", reason="pyright is not installed")

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "typing" / "pyrightconfig.json"


def test_options_and_messages_dicts_under_pyright_strict() -> None:
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyright",
            "--outputjson",
            "--project",
            str(CONFIG),
            "--pythonpath",
            sys.executable,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"pyright did not report:\n{result.stdout}{result.stderr}")
    problems = [
        f"{Path(d['file']).name}:{d['range']['start']['line'] + 1}: "
        f"{d['severity']}: {d['message']} ({d.get('rule', '')})"
        for d in report["generalDiagnostics"]
    ]
    assert report["summary"]["filesAnalyzed"] == 1, report["summary"]
    assert not problems, "\n".join(problems)
    assert result.returncode == 0, result.stdout + result.stderr
