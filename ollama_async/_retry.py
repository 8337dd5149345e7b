"""Retrying calls that failed before any part of a response reached the
caller: the :class:`Retry` policy, its delays, and the loop that applies it.
Must not import aiohttp."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from . import _args
from ._errors import (
    ConnectError,
    ConnectTimeout,
    OllamaError,
    PoolTimeout,
    RemoteProtocolError,
    StatusError,
)
from ._telemetry import CURRENT_CALL

__all__ = ["Retry", "call_with_retries", "logger"]

T = TypeVar("T")

logger: Final = logging.getLogger("ollama_async")

# Failures that happen before the request reached the server: always safe.
_NOT_SENT: Final = (ConnectError, ConnectTimeout, PoolTimeout)


@dataclass(frozen=True, kw_only=True, slots=True)
class Retry:
    """When and how often to retry a call.

    A call is retried only while nothing of its response has been handed to
    the caller: a stream that has yielded a chunk is never replayed. Calls
    that change the server (``create``, ``copy``, ``delete``, ``push``, blob
    uploads) are retried only when their request never reached the server
    (connection refused, connect or pool timeout).

    The wait before retry ``n`` (1-based) is drawn uniformly from
    ``[0, min(max_backoff, backoff * 2 ** (n - 1))]`` ("full jitter"), or is
    the server's ``Retry-After`` when it sent one, up to ``max_retry_after``.
    """

    attempts: int = 3
    """Tries in all, the first included; 1 disables retrying."""
    backoff: float = 0.5
    """Seconds: the cap of the first wait, doubled for each retry."""
    max_backoff: float = 8.0
    """Seconds: the longest wait between two tries."""
    max_retry_after: float = 60.0
    """Seconds: the longest ``Retry-After`` honoured; longer ones fail."""
    statuses: frozenset[int] = field(default=frozenset({429, 502, 503, 504}))
    """HTTP statuses worth another try."""
    retry_broken_responses: bool = True
    """Also retry idempotent calls whose connection broke before a response
    was complete (e.g. a server restarted mid-answer)."""
    wait_for_local_server: bool = False
    """Also retry a refused connection to this machine (``localhost``,
    ``127.0.0.1``, ``::1``). Off, a local server that is not running fails at
    once; on, the tries and their backoff are how long a server that is
    starting is waited for: ``Retry(attempts=20, backoff=0.25,
    max_backoff=1.0, wait_for_local_server=True)`` waits up to about 18 s
    (about 9 s on average, the waits being jittered)."""

    def __post_init__(self) -> None:
        _args.positive_int("attempts", self.attempts)
        for name in ("backoff", "max_backoff", "max_retry_after"):
            _args.seconds(
                name, getattr(self, name), optional=False, zero=True, infinite=True
            )
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    @classmethod
    def never(cls) -> Retry:
        """A policy that makes one try only."""
        return cls(attempts=1)

    def delay(self, retry: int, exc: BaseException) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based) after
        ``exc``, or None when the server asked for longer than we accept."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(retry_after) if retry_after <= self.max_retry_after else None
        cap = min(self.max_backoff, self.backoff * 2 ** (retry - 1))
        return random.uniform(0, cap)

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        """Whether ``exc`` (raised before anything reached the caller) is worth
        another try for a call of this kind."""
        if isinstance(exc, ConnectError):
            if not exc.retryable:
                return False  # a TLS mismatch or an untrusted certificate
            if exc.refused and exc.loopback:
                return self.wait_for_local_server
            return True
        if isinstance(exc, _NOT_SENT):
            return True
        if not idempotent:
            return False
        if isinstance(exc, StatusError):
            return exc.status_code in self.statuses
        return self.retry_broken_responses and isinstance(exc, RemoteProtocolError)


async def call_with_retries(
    policy: Retry | None,
    attempt: Callable[[], Awaitable[T]],
    *,
    idempotent: bool,
    what: str,
) -> T:
    """Run ``attempt`` until it succeeds or ``policy`` gives up; the last
    error is raised as it was. Each retry is logged, and recorded on the
    call's span when it is traced."""
    if policy is None or policy.attempts == 1:
        return await attempt()
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt()
        except OllamaError as exc:
            if tries >= policy.attempts or not policy.should_retry(
                exc, idempotent=idempotent
            ):
                raise
            delay = policy.delay(tries, exc)
            if delay is None:
                raise
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "%s: retry %d of %d in %.2f s after %s: %s",
                    what,
                    tries,
                    policy.attempts - 1,
                    delay,
                    type(exc).__name__,
                    " ".join(str(exc).split()),  # one line, whatever the server said
                )
            record = CURRENT_CALL.get()
            if record is not None:
                record.retry(tries, delay, exc)
            await asyncio.sleep(delay)
