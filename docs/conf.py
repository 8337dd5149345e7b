"""Sphinx configuration: Furo theme, MyST Markdown pages, autodoc over the
public API, and notebooks executed on every build (a failing cell fails it).

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
Nothing here reaches the network: no intersphinx, no remote images.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package from this checkout, installed or not

from sphinx.ext.napoleon import Config as NapoleonConfig  # noqa: E402
from sphinx.ext.napoleon.docstring import GoogleDocstring  # noqa: E402

from ollama_async import __version__  # noqa: E402

project = "ollama_async"
author = "ollama_async developers"
copyright = "ollama_async developers"
version = release = __version__

extensions = [
    "myst_nb",  # MyST Markdown (includes myst_parser) + notebook execution
    "sphinx.ext.autodoc",
]

# docs/README.md is about building these docs, not a page of the site.
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# -- MyST ----------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links

# -- notebooks (examples/notebook.ipynb, docs/notebooks.md) ----------------------
# Run every notebook on every build, against the emulator it starts itself; a
# cell that raises fails the build instead of rendering a traceback.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 120
nb_merge_streams = True  # one output block per cell for print(..., end="")

# -- autodoc -------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "separated"
autodoc_preserve_defaults = True
# Google-style sections (Args:, Returns:, Raises:) are converted by napoleon,
# called from setup() below rather than loaded as an extension: napoleon reads
# the first line of an attribute's docstring as "type: text", which would turn
# field docs such as "Final chunk: the conversation encoding" into a type.
_NAPOLEON = NapoleonConfig(
    napoleon_google_docstring=True,
    napoleon_numpy_docstring=False,
    napoleon_use_rtype=False,
)

# -- HTML ----------------------------------------------------------------------
html_theme = "furo"
html_title = f"ollama_async {release}"
html_static_path: list[str] = []

# Signatures such as ``parse(self, type: type[T])`` link the builtin ``type``,
# which Sphinx also finds as the ``type`` field of several Structs; the
# ambiguity is harmless (``ref.python`` covers only these "more than one
# target" notes).
suppress_warnings = ["ref.python"]


def _skip_class_aliases(
    app: object,
    what: str,
    name: str,
    obj: object,
    skip: bool,  # noqa: FBT001 - the autodoc-skip-member signature
    options: object,
) -> bool | None:
    # ``Message.ToolCall`` and ``ToolCall.Function`` are aliases kept for the
    # official client's spelling; the classes are documented once, at module
    # level.
    if what == "class" and isinstance(obj, type):
        return True
    return None


# Pages link to repository files outside docs/ relatively (``../benchmarks/``),
# which works when reading them on GitHub; on the site those links point to
# the repository instead.
REPOSITORY = "https://github.com/ollama-async/ollama-async/blob/main/"
_OUTSIDE_DOCS = re.compile(r"\]\(\.\./([^)\s]+)\)")


def _link_outside_docs(app: object, docname: str, source: list[str]) -> None:
    source[0] = _OUTSIDE_DOCS.sub(lambda m: f"]({REPOSITORY}{m[1]})", source[0])


def _google_sections(
    app: object,
    what: str,
    name: str,
    obj: object,
    options: object,
    lines: list[str],
) -> None:
    if what in ("attribute", "property", "data"):
        return
    doc = GoogleDocstring(lines, _NAPOLEON, app, what, name, obj, options)  # type: ignore[arg-type]
    lines[:] = doc.lines()


def setup(app: object) -> None:
    app.connect("autodoc-process-docstring", _google_sections)  # type: ignore[attr-defined]
    app.connect("autodoc-skip-member", _skip_class_aliases)  # type: ignore[attr-defined]
    app.connect("source-read", _link_outside_docs)  # type: ignore[attr-defined]
