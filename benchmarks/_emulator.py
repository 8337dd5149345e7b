"""Emulator hosts in their own processes, for the benchmarks that need a
fleet (``fleet``, ``ray_scaling``): each is ``python -m ollama_async.testing``
on a free port, stopped by its PID."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

__all__ = ["Emulator"]


@dataclass
class Emulator:
    proc: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls, *options: str) -> Emulator:
        """A host started with the emulator's command-line ``options``,
        once it listens."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "ollama_async.testing", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = "FakeOllama listening on "
        if not line.startswith(prefix):
            proc.kill()
            proc.wait()
            raise RuntimeError(f"emulator did not start: {line!r}")
        return cls(proc, line.removeprefix(prefix))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
