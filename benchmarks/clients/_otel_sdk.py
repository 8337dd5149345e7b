"""A real OpenTelemetry SDK for `ollama_async+otel`, exporting to /dev/null.

Imported only by the worker that measures that row, so the other rows load
nothing of the SDK. Traces: an SDK `TracerProvider` (default sampler, every
span recorded) with a `BatchSpanProcessor` at its defaults (batches of 512,
a 5 s timer, its own thread) over a `ConsoleSpanExporter` writing to
/dev/null: each span is serialised in full (`ReadableSpan.to_json()`, every
attribute, event and the resource, JSON-encoded) and written, so the export
work is real while the write costs nothing. The OTLP exporters are not
installed here; the console formatter does at least as much Python work per
span as OTLP's protobuf encoding, so it errs on the expensive side, where an
in-memory exporter would do none. Metrics: an SDK `MeterProvider` with a
`PeriodicExportingMetricReader` (default 60 s interval) over a
`ConsoleMetricExporter` to /dev/null: every call's histogram records are
aggregated as they happen; the periodic export, a cost per interval and not
per call, fires only at shutdown.

Both providers are shut down in `close()`, after the measured passes as for
every client: the spans still queued then (S3: fewer than 512; S1: its one
span per pass) are exported there, the rest were exported by the batch
thread during the passes, and `process_time()` counts that thread.
`shutdown()` then checks that the SDK really saw the calls: as many spans
exported as durations recorded, and at least one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExportResult,
)

DURATION = "gen_ai.client.operation.duration"


class _Spans(ConsoleSpanExporter):
    """The console exporter, counting what it serialised."""

    def __init__(self, out: Any) -> None:
        super().__init__(out=out)
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = super().export(spans)
        self.exported += len(spans)
        return result


class _Metrics(ConsoleMetricExporter):
    """The console exporter, keeping the duration histogram's count."""

    def __init__(self, out: Any) -> None:
        super().__init__(out=out)
        self.durations = 0

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        result = super().export(metrics_data, timeout_millis, **kwargs)
        count = 0
        for resource in metrics_data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == DURATION:
                        count += sum(p.count for p in metric.data.data_points)  # type: ignore[union-attr]
        self.durations = max(self.durations, count)  # cumulative temporality
        return result


class Sdk:
    """The two providers, and the check that they saw every call."""

    def __init__(self) -> None:
        self._out = open(os.devnull, "w")  # noqa: SIM115 - closed in shutdown()
        self._spans = _Spans(self._out)
        self._metrics = _Metrics(self._out)
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self._spans))
        self.meter_provider = MeterProvider(
            metric_readers=[PeriodicExportingMetricReader(self._metrics)]
        )

    def shutdown(self) -> None:
        """Export what is left, stop both threads, check the counts."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self._out.close()
        spans, durations = self._spans.exported, self._metrics.durations
        if not spans or spans != durations:
            raise AssertionError(
                f"otel: {spans} spans exported, {durations} durations recorded"
            )
