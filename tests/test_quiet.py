"""A library prints nothing unless its user configures logging (issue 18):
a batch against a server answering 30% of requests with 503 leaves stderr
empty, in a fresh interpreter where nothing configured logging; the same
batch with logging configured shows each retry as one INFO line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BATCH = textwrap.dedent(
    """
    import asyncio
    import logging
    import sys

    from ollama_async import AsyncClient, Retry
    from ollama_async.testing import Fault, FakeOllama

    if sys.argv[1:] == ["configured"]:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")


    async def main() -> None:
        async with FakeOllama() as server:
            server.add_fault(Fault(status=503, probability=0.3, path="/api/chat"))
            retry = Retry(attempts=10, backoff=0.001, max_backoff=0.002)
            async with AsyncClient(server.url, retry=retry) as client:
                hi = [{"role": "user", "content": "Hi"}]
                requests = ({"model": "llama3.2", "messages": hi} for _ in range(100))
                async with client.batch(requests, concurrency=8) as batch:
                    results = [r async for r in batch]
            assert all(r.error is None for r in results)
            sent = sum(1 for r in server.requests if r.path == "/api/chat")
            print(len(results), "answers", sent - len(results), "503s")


    asyncio.run(main())
    """
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", BATCH, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_a_batch_with_503s_prints_nothing_to_stderr_by_default() -> None:
    run = _run()
    answers, _, busy, _ = run.stdout.split()
    assert answers == "100" and int(busy) >= 10  # retries happened
    assert run.stderr == ""


def test_with_logging_configured_each_retry_is_one_info_line() -> None:
    run = _run("configured")
    busy = int(run.stdout.split()[2])
    lines = run.stderr.splitlines()
    assert len(lines) == busy  # one line per retry, nothing else
    assert all(line.startswith("INFO POST /api/chat: retry ") for line in lines)
    assert all("after ServerBusyError: server busy" in line for line in lines)


def test_even_a_warning_record_stays_quiet_until_logging_is_configured() -> None:
    # Python's last-resort handler prints WARNING records of loggers with no
    # handler: another library's logger shows that it is on in this run.
    script = (
        "import logging, ollama_async\n"
        "logging.getLogger('ollama_async._routing').warning('ours')\n"
        "logging.getLogger('another_library').warning('theirs')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert run.stderr == "theirs\n"
