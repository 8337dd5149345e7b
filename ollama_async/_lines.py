"""Sans-IO NDJSON splitting: bytes in, complete lines out. Must not import
aiohttp or asyncio.

Lines are split on ``b"\\n"`` only. ``str.splitlines()`` would also split on
U+0085, U+2028 and U+2029, and Go's JSON encoder leaves U+0085 raw inside
strings, so a valid line would be cut in two. A trailing ``\\r`` is left in
place: JSON treats it as whitespace.
"""

from __future__ import annotations

from . import _args
from ._errors import LineTooLongError

__all__ = ["DEFAULT_MAX_LINE_SIZE", "LineSplitter"]

DEFAULT_MAX_LINE_SIZE = 64 * 1024 * 1024


class LineSplitter:
    """Accumulates bytes and hands out complete lines.

    A partial line is kept as a list of pieces (joined once, when its newline
    arrives), so a multi-megabyte line fed in small pieces costs linear time.
    """

    __slots__ = ("_max", "_pending", "_pending_size")

    def __init__(self, max_line_size: int = DEFAULT_MAX_LINE_SIZE) -> None:
        self._max = _args.positive_int("max_line_size", max_line_size)
        self._pending: list[bytes] = []
        self._pending_size = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the lines it completed, without their ``\\n``.

        Empty lines are returned too; callers skip them.
        """
        lines = data.split(b"\n")
        tail = lines.pop()
        if self._pending:
            if not lines:  # still inside the same line
                self._keep(tail)
                return lines
            self._pending.append(lines[0])
            lines[0] = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        if tail:
            self._keep(tail)
        if len(data) > self._max or (lines and len(lines[0]) > self._max):
            self._check(lines)
        return lines

    def flush(self) -> bytes | None:
        """The last line when the input ended without a newline, else None."""
        if not self._pending:
            return None
        line = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return line

    def _keep(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > self._max:
            head = self._pending[0][:200]
            self._pending.clear()
            self._pending_size = 0
            raise LineTooLongError(
                f"stream line longer than max_line_size={self._max} bytes", data=head
            )

    def _check(self, lines: list[bytes]) -> None:
        for line in lines:
            if len(line) > self._max:
                raise LineTooLongError(
                    f"stream line of {len(line)} bytes exceeds "
                    f"max_line_size={self._max} bytes",
                    data=line[:200],
                )
