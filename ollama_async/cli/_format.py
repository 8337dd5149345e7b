"""Text in and out of the CLI: sizes and times as the ``ollama`` CLI prints
them, aligned tables, and the values of arguments (KEY=VALUE options, Modelfile
values, positive counts). Pure functions; standard library and msgspec only."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ._context import CliError

if TYPE_CHECKING:
    from ._context import Context


def human_bytes(size: float | None) -> str:
    """Decimal units as the ``ollama`` CLI prints them: ``2.0 GB``, ``274 MB``."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            break
        value /= 1000
    if unit == "B" or value >= 10 or value == int(value):
        return f"{int(value)} {unit}"
    return f"{value:.1f} {unit}"


def relative_time(when: datetime.datetime | None, now: datetime.datetime) -> str:
    """``3 weeks ago`` / ``4 minutes from now``."""
    if when is None:
        return "-"
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 1:
        return "now"
    amount, unit = int(seconds), "second"
    for size, name in (
        (60, "minute"),
        (3600, "hour"),
        (86400, "day"),
        (7 * 86400, "week"),
        (30 * 86400, "month"),
        (365 * 86400, "year"),
    ):
        if seconds >= size:
            amount, unit = int(seconds // size), name
    plural = "" if amount == 1 else "s"
    return f"{amount} {unit}{plural} {'from now' if future else 'ago'}"


def table(ctx: Context, rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns, as ``ollama list`` prints them."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        ctx.write("    ".join(cells).rstrip())


def parse_value(text: str) -> Any:
    """A command-line or Modelfile value: JSON when it parses (numbers,
    booleans, quoted strings, lists), else the text itself."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


def key_values(pairs: Sequence[str] | None) -> dict[str, Any] | None:
    """``["temperature=0.2", "stop=[\\"\\\\n\\"]"]`` -> a dict of options."""
    if not pairs:
        return None
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"expected KEY=VALUE, got {pair!r}")
        options[key.strip()] = parse_value(value.strip())
    return options


def positive(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
