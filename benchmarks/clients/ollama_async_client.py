"""ollama_async, through its public API only, as the README shows it.

Nothing here reaches below `AsyncClient`, `Limits` and the endpoint methods,
so the adapter keeps measuring whatever transport the client uses.

`telemetry` picks the row (issue 18): "default" passes no `telemetry=`
argument, so the client traces through the global OpenTelemetry providers,
which are no-ops here (the API is installed, no SDK is configured); "off"
passes `telemetry=False` and checks at the end that nothing of OpenTelemetry
was imported; "sdk" passes `Telemetry(tracer_provider=..., meter_provider=...)`
from a real SDK exporting to /dev/null (`_otel_sdk`), shut down in `close()`.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from benchmarks.clients._common import MESSAGES, MODEL
from ollama_async import AsyncClient, Limits


class Bench:
    def __init__(self, telemetry: str = "default") -> None:
        if telemetry not in ("default", "off", "sdk"):
            raise ValueError(f"telemetry={telemetry!r}")
        self.telemetry = telemetry
        self.sdk: Any = None

    async def start(self, url: str, connections: int) -> None:
        kwargs: dict[str, Any] = {}
        if self.telemetry == "off":
            kwargs["telemetry"] = False
        elif self.telemetry == "sdk":
            from benchmarks.clients._otel_sdk import Sdk
            from ollama_async import Telemetry

            self.sdk = Sdk()
            kwargs["telemetry"] = Telemetry(
                tracer_provider=self.sdk.tracer_provider,
                meter_provider=self.sdk.meter_provider,
            )
        self.client = AsyncClient(
            url, limits=Limits(max_connections=connections), **kwargs
        )

    async def stream(self, n: int) -> tuple[int, str]:
        count = 0
        parts = []
        async with self.client.chat(
            MODEL, messages=MESSAGES, stream=True, options={"num_predict": n}
        ) as stream:
            async for part in stream:
                count += 1
                parts.append(part.message.content)
        return count, "".join(parts)

    async def chat(self, n: int) -> str:
        resp = await self.client.chat(
            MODEL, messages=MESSAGES, options={"num_predict": n}
        )
        return resp.message.content

    async def embed(self, inputs: list[str]) -> list[list[float]]:
        resp = await self.client.embed(MODEL, input=inputs)
        return resp.embeddings

    async def first_chunk(self, n: int) -> float:
        t0 = time.perf_counter()
        first = 0.0
        async with self.client.chat(
            MODEL, messages=MESSAGES, stream=True, options={"num_predict": n}
        ) as stream:
            async for _ in stream:
                if not first:
                    first = time.perf_counter() - t0
        return first

    async def create_blob(self, path: str) -> str:
        return await self.client.create_blob(path)

    async def close(self) -> None:
        await self.client.aclose()
        if self.sdk is not None:
            self.sdk.shutdown()
        if self.telemetry == "off":
            loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
            if loaded:
                raise AssertionError(f"telemetry=False imported {loaded[:3]}")
