"""Ollama's limits on model-running requests: ``OLLAMA_NUM_PARALLEL`` slots and
a first-come, first-served queue bounded by ``OLLAMA_MAX_QUEUE``.

A request that will generate or embed takes a slot before it runs and gives it
back once its answer is written or its client has left; without a free slot it
waits in the queue, which it leaves if cancelled while waiting. Imports only the
standard library.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Slots", "Ticket"]


@dataclass
class Ticket:
    """One request's claim on a slot."""

    queued_ns: int = 0
    """Nanoseconds it waited in the queue."""
    running: bool = False
    """Whether it holds a slot, to give back when the request ends."""


class Slots:
    """The requests running, the queue of those waiting, and the peak.

    The limits are passed on each call rather than kept here, so that a test
    may change ``FakeOllama.num_parallel`` while serving.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.running = 0
        self.peak = 0
        self._queue: deque[tuple[asyncio.Future[None], Ticket]] = deque()
        self._on_change = on_change

    @property
    def queued(self) -> int:
        """Requests waiting for a slot."""
        return len(self._queue)

    async def take(
        self, ticket: Ticket, num_parallel: int | None, max_queue: int | None
    ) -> bool:
        """Run now, or wait until the requests queued earlier have run.

        Returns False, without waiting, when ``max_queue`` requests wait already.
        """
        self._hand_over(num_parallel)  # to those a raised limit lets run
        if num_parallel is None or (not self._queue and self.running < num_parallel):
            self._start(ticket)
            return True
        if max_queue is not None and len(self._queue) >= max_queue:
            return False
        entry = (asyncio.get_running_loop().create_future(), ticket)
        self._queue.append(entry)
        self._on_change()
        start = time.perf_counter_ns()
        try:
            await entry[0]
        except BaseException:
            # Cancelled (its client left) before its turn came: leave the queue.
            # After its turn it holds a slot, which give_back returns.
            if entry in self._queue:
                self._queue.remove(entry)
                self._on_change()
            raise
        finally:
            ticket.queued_ns = time.perf_counter_ns() - start
        return True

    def give_back(self, ticket: Ticket, num_parallel: int | None) -> None:
        """End ``ticket``'s run, if it had one: its slot goes to the next in line."""
        if ticket.running:
            ticket.running = False
            self.running -= 1
            self._hand_over(num_parallel)
            self._on_change()

    def _hand_over(self, num_parallel: int | None) -> None:
        while self._queue and (num_parallel is None or self.running < num_parallel):
            waiter, ticket = self._queue.popleft()
            if waiter.done():
                continue  # cancelled, its task not yet resumed to leave
            self._start(ticket)
            waiter.set_result(None)

    def _start(self, ticket: Ticket) -> None:
        ticket.running = True
        self.running += 1
        self.peak = max(self.peak, self.running)
        self._on_change()
