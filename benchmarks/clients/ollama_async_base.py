"""`ollama_async@base`: the same adapter, over ollama_async from another tree.

For comparing the package before and after a change in one run, side by
side with every other row: `BENCH_BASE_TREE` names a checkout (a git
worktree of the older commit), whose `ollama_async` is imported instead of
the one in the working directory. The worker imports nothing of
ollama_async before this module, and this module checks where it came from.

    git worktree add /tmp/base 18a9c34
    BENCH_BASE_TREE=/tmp/base python -m benchmarks --scenarios S1,S3 \\
        --clients ollama_async@base,ollama_async
"""

from __future__ import annotations

import os
import sys

from benchmarks._scenarios import BASE_TREE_ENV

_tree = os.path.realpath(os.environ.get(BASE_TREE_ENV, ""))
if not os.environ.get(BASE_TREE_ENV) or not os.path.isdir(
    os.path.join(_tree, "ollama_async")
):
    raise RuntimeError(f"{BASE_TREE_ENV} must name a tree holding ollama_async/")
if "ollama_async" in sys.modules:
    raise RuntimeError("ollama_async was imported before the base tree was chosen")
sys.path.insert(0, _tree)

import ollama_async  # noqa: E402

if not os.path.realpath(ollama_async.__file__).startswith(_tree + os.sep):
    raise RuntimeError(f"ollama_async came from {ollama_async.__file__}, not {_tree}")

from benchmarks.clients.ollama_async_client import Bench  # noqa: E402

__all__ = ["Bench"]
