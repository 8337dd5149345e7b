"""Ctrl-C that stops a stream in terminal IPython (``%autoawait``).

Jupyter kernels cancel a cell's coroutine when it is interrupted, so the
stream closes and Ollama stops generating. Terminal IPython runs a cell with
``loop.run_until_complete``: Ctrl-C stops the loop and leaves the cell's task
pending, with its connection open. Ollama keeps generating, and the task
carries on (printing into a later cell) the next time a cell awaits.

This extension makes terminal IPython do what Jupyter does::

    %load_ext ollama_async.ipython

Ctrl-C then cancels the cell's task and runs the loop until the task has
finished cancelling (the stream closes, the server sees the disconnect),
then shows the ``KeyboardInterrupt`` as usual. Without the extension:
``%autoawait cancel_on_interrupt`` after
``from ollama_async.ipython import cancel_on_interrupt``. It changes nothing
in a Jupyter kernel, whose cells do not go through the runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["cancel_on_interrupt", "load_ipython_extension"]

T = TypeVar("T")


def cancel_on_interrupt(coroutine: Coroutine[Any, Any, T]) -> T:
    """IPython's asyncio runner, except that Ctrl-C cancels the cell's task
    and waits for it to finish cancelling before raising
    ``KeyboardInterrupt``. Runs on IPython's own loop, so clients made in
    earlier cells keep working."""
    from IPython.core.async_helpers import get_asyncio_loop

    loop: asyncio.AbstractEventLoop = get_asyncio_loop()  # type: ignore[no-untyped-call]
    task = loop.create_task(coroutine)
    try:
        return loop.run_until_complete(task)
    except KeyboardInterrupt:
        task.cancel()
        try:
            loop.run_until_complete(task)
        except (asyncio.CancelledError, Exception):
            pass  # cancelled, as asked; what the cell raised on the way out
        # A fresh one: the original's traceback is the event loop's insides.
        raise KeyboardInterrupt from None


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext ollama_async.ipython``: top-level ``await`` on, through
    :func:`cancel_on_interrupt`."""
    ipython.autoawait = True
    ipython.loop_runner = cancel_on_interrupt
