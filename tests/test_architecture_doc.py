"""docs/architecture.md stays true: it names every module of the package and
every import-linter contract, and the contracts themselves hold."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ollama_async"
PAGE = ROOT / "docs" / "architecture.md"


def _text() -> str:
    # Collapsed whitespace, so that a name wrapped over two lines still counts.
    return " ".join(PAGE.read_text(encoding="utf-8").split())


def _modules() -> Iterator[tuple[str, ...]]:
    """Each module as its parts below ``ollama_async``: ``("_args",)``,
    ``("cli", "_main")``. A package stands for its ``__init__``; ``__main__``
    files are entry points of a few lines and need no entry of their own."""
    seen: set[tuple[str, ...]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] in ("__init__", "__main__"):
            parts = parts[:-1]
        if parts and parts not in seen:
            seen.add(parts)
            yield parts


def _is_named(parts: tuple[str, ...], text: str) -> bool:
    """Whether the page names the module: ``_args``, ``_args.py``,
    ``ollama_async._args``, ``cli/_main.py`` or ``cli._main``. A bare name
    must not be the tail of a longer path: ``cli/_batch`` does not name the
    top-level ``_batch``."""
    path = r"[./]".join(re.escape(part) for part in parts)
    start = r"(?:(?<![\w./])|(?<=ollama_async[./]))"
    return re.search(start + path + r"(?!\w)", text) is not None


def _contract_names() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        config = tomllib.load(f)
    contracts = config["tool"]["importlinter"]["contracts"]
    return [" ".join(contract["name"].split()) for contract in contracts]


@pytest.mark.parametrize("parts", list(_modules()), ids="/".join)
def test_page_names_every_module(parts: tuple[str, ...]) -> None:
    assert _is_named(parts, _text()), (
        f"docs/architecture.md does not mention {'/'.join(parts)}: give it a "
        "line in the module tables (its job, what it may import)"
    )


@pytest.mark.parametrize("name", _contract_names())
def test_page_names_every_contract(name: str) -> None:
    assert name in _text(), (
        f"docs/architecture.md does not name the contract {name!r}: "
        "add it to the table of import contracts"
    )


def test_module_naming_rule() -> None:
    assert _is_named(("_args",), "`_args` checks")
    assert _is_named(("_args",), "see ollama_async._args.")
    assert _is_named(("cli", "_main"), "`cli/_main.py`")
    assert not _is_named(("_batch",), "`cli/_batch.py`")
    assert not _is_named(("_arg",), "`_args`")


def _lint_imports() -> str | None:
    # The venv's own script first: PATH may not include the venv's bin/.
    beside = Path(sys.executable).with_name("lint-imports")
    return str(beside) if beside.exists() else shutil.which("lint-imports")


LINT_IMPORTS = _lint_imports()


@pytest.mark.skipif(
    LINT_IMPORTS is None,
    reason="lint-imports not installed (pip install -e '.[lint]')",
)
def test_lint_imports_contracts_hold() -> None:
    """Runs ``lint-imports``: the layer contracts of ``[tool.importlinter]``
    in pyproject.toml are kept (no cycles, one-way layers, aiohttp only in
    the transport and testing/, testing/ and cli/ apart from the client)."""
    assert LINT_IMPORTS is not None
    result = subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"lint-imports exited {result.returncode}: a contract is broken\n"
            + result.stdout
            + result.stderr,
            pytrace=False,
        )
