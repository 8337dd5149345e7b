"""Request constants every adapter sends (stdlib only)."""

from __future__ import annotations

MODEL = "bench"
MESSAGES = [{"role": "user", "content": "hi"}]
