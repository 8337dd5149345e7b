"""The ``ollama-async`` command line, also run as ``python -m ollama_async``.

``main(argv)`` runs one command and returns its exit code (``ollama-async
--help`` lists the commands and the exit codes). The rest of this package is
private: ``_main`` (the parser, the command table, the entry points),
``_context`` (what every command gets, errors and exit codes), ``_format``
(text in and out), and one module per family of commands: ``_models``,
``_run``, ``_batch``, ``_demo``.

Built on the public API only: ``ollama_async``, ``ollama_async.types`` and
``ollama_async.testing``; never a private module of the client.
"""

from ._main import main

__all__ = ["main"]
