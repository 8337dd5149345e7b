"""Fault descriptions and their selection for one request.

Owns `Fault`, the ``X-Fake-Fault`` header syntax and the bookkeeping of global
faults (filters, ``times`` budgets). Imports only the standard library.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

FAULT_HEADER: Final = "X-Fake-Fault"
BUSY_MESSAGE: Final = (
    "server busy, please try again.  maximum pending requests exceeded"
)
# What Ollama says when the runner dies mid-answer: llama-server's stream ends
# early (``llm/llama_server.go``, "unexpected EOF" when it left no message).
RUN_ERROR: Final = "an error was encountered while running the model: unexpected EOF"

# Go's texts where a status has one that needs no name: the runner crashing
# while loading (500), cloud being off (403), the queue (503). The others name
# a model or relay ollama.com, so they are generic.
_DEFAULT_MESSAGES: Final = {
    400: "invalid request",
    401: "unauthorized",
    403: "ollama cloud is disabled",
    404: "not found",
    429: "too many requests, please try again later",
    500: "llama-server process has terminated: exit status 2",
    502: "bad gateway",
    503: BUSY_MESSAGE,
}


@dataclass(frozen=True, kw_only=True)
class Fault:
    """A misbehaviour to inject into matching requests.

    Args:
        status: answer with this HTTP status and a realistic ``{"error": ...}``
            body instead of handling the request (503 uses Ollama's queue-full text).
        message: the error text for ``status`` or ``error_after``.
        error_after: on a streamed reply, send an ``{"error": ...}`` line after this
            many lines, and no ``done`` line. 0 fails before the first line, which
            Ollama reports as a plain HTTP 500. Without streaming: a 500 reply.
        disconnect_after: abort the TCP connection after this many lines.
        stall_before: seconds to wait before the response headers.
        stall_after: after this many lines, wait ``stall_for`` seconds.
        stall_for: see ``stall_after``.
        malformed_after: after this many lines, insert a line that is not JSON.
        huge_line: make one line at least this many bytes (the ``context`` array of
            generate's final line; a long content chunk for chat).
        retry_after: seconds for a ``Retry-After`` header on a ``status`` reply.
        path: only requests to this path (e.g. ``"/api/chat"``).
        model: only requests naming this model (matched like Ollama matches names).
        times: fire at most this many times, then the fault is spent (None: always).
        probability: fire on a matching request with this probability (0..1),
            drawn from the server's seeded random generator, so the n-th
            matching request of a run always gets the same draw. A fault that
            does not fire lets the next global fault match; ``times`` counts
            firings only.

    A line count larger than the reply fires at the last line instead, so a fault
    always fires on the request it was selected for.
    """

    status: int | None = None
    message: str | None = None
    error_after: int | None = None
    disconnect_after: int | None = None
    stall_before: float = 0.0
    stall_after: int | None = None
    stall_for: float = 0.0
    malformed_after: int | None = None
    huge_line: int | None = None
    retry_after: float | None = None
    path: str | None = None
    model: str | None = None
    times: int | None = None
    probability: float | None = None

    def __post_init__(self) -> None:
        p = self.probability
        if p is not None and (
            isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1
        ):
            raise ValueError(f"probability must be between 0 and 1, got {p!r}")

    def status_message(self) -> str:
        """The error text sent with ``status``."""
        if self.message is not None:
            return self.message
        assert self.status is not None
        default = _DEFAULT_MESSAGES.get(self.status)
        if default is not None:
            return default
        try:
            return HTTPStatus(self.status).phrase.lower()
        except ValueError:
            return f"status {self.status}"

    def run_error(self) -> str:
        """The error text sent for ``error_after``."""
        return self.message if self.message is not None else RUN_ERROR


_FIELDS: Final = {f.name: f.type for f in dataclasses.fields(Fault)}


def parse_fault_header(value: str) -> Fault:
    """Parse ``error_after=3; message=boom`` (``;`` or ``,`` separated).

    Raises ValueError naming the bad part.
    """
    kwargs: dict[str, object] = {}
    for part in re.split(r"[;,]", value):
        if not part.strip():
            continue
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        kind = _FIELDS.get(key)
        if not sep or kind is None:
            raise ValueError(f"unknown fault field {key!r}")
        try:
            if "int" in str(kind):
                kwargs[key] = int(raw)
            elif "float" in str(kind):
                kwargs[key] = float(raw)
            else:
                kwargs[key] = raw
        except ValueError:
            raise ValueError(f"bad value for {key}: {raw!r}") from None
    return Fault(**kwargs)  # type: ignore[arg-type]


@dataclass
class _Entry:
    fault: Fault
    left: int | None


class FaultBook:
    """Global faults in insertion order, with their remaining ``times``, and
    the seeded random generator that decides ``probability`` faults."""

    def __init__(self, seed: int = 0) -> None:
        self._entries: list[_Entry] = []
        self._rng = random.Random(seed)

    def fires(self, fault: Fault) -> bool:
        """Whether ``fault`` fires on this request: always, unless it has a
        ``probability``, which takes one draw."""
        if fault.probability is None:
            return True
        return self._rng.random() < fault.probability

    def add(self, fault: Fault) -> None:
        """Register a fault."""
        self._entries.append(_Entry(fault, fault.times))

    def clear(self) -> None:
        """Drop every fault."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def take(
        self, path: str, model_key: str | None, key_of: Callable[[str], str | None]
    ) -> Fault | None:
        """The first live fault matching this request that fires; spends one of
        its ``times``.

        ``key_of`` normalises a fault's ``model`` filter the way request names are.
        """
        for entry in self._entries:
            fault = entry.fault
            if entry.left is not None and entry.left <= 0:
                continue
            if fault.path is not None and fault.path.rstrip("/") != path:
                continue
            if fault.model is not None and key_of(fault.model) != model_key:
                continue
            if not self.fires(fault):
                continue
            if entry.left is not None:
                entry.left -= 1
            return fault
        return None
