"""Running the command line in-process for tests: its exit code and
output (:func:`cli`), a stream that says it is a terminal (:class:`TTY`),
and the context a progress view needs (:func:`progress_context`)."""

from __future__ import annotations

import io
import json
from typing import Any

from ollama_async.cli._main import amain


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.lines]

    def __repr__(self) -> str:
        return f"<exit {self.code}\nout: {self.out}\nerr: {self.err}>"


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


async def cli(*argv: str, stdin: str = "", err: io.StringIO | None = None) -> Result:
    out, err = io.StringIO(), err or io.StringIO()
    code = await amain(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return Result(code, out.getvalue(), err.getvalue())


def progress_context(err: io.StringIO) -> Any:
    """What ``ProgressView`` reads of a command's context: bars on, notes
    and bars written to ``err``."""

    class Context:
        json = False
        out = io.StringIO()

        def __init__(self) -> None:
            self.err = err

        def bars(self) -> bool:
            return True

        def note(self, text: str) -> None:
            err.write(text + "\n")

    return Context()
