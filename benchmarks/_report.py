"""Turn worker results into statistics, console tables, docs/benchmarks.md and a chart.

All ratios are per round: a client's CPU per unit divided by the reference's
(the bare aiohttp + msgspec loop, `aiohttp+msgspec`) CPU per unit in the same
round, then the median over rounds. The official factor is the official
client's CPU per unit over ollama_async's, per round, then the median (the
lower of its two pool settings is the one checked). "Spread" is the min-max
over rounds. S7 compares wall time, not CPU.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from benchmarks._scenarios import (
    CLIENTS,
    OFFICIAL,
    REFERENCE,
    SCENARIOS,
    UVLOOP_REFERENCE,
    Scenario,
    scenario,
)

ROOT = Path(__file__).resolve().parent.parent
IMPORT_BUDGET_MS = 15.0
CHART_SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "S6")
SUBJECT = "ollama_async"
CPU_TARGET_KINDS = ("cpu", "official")  # the misses worth a cProfile
SATURATED = 0.9  # client CPU / wall in a paced scenario: it could not keep up


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _spread(xs: list[float]) -> tuple[float, float]:
    return (min(xs), max(xs)) if xs else (float("nan"), float("nan"))


def progress_line(
    name: str, r: int, repeats: int, client: str, out: dict[str, Any]
) -> str:
    head = f"{name} {r + 1}/{repeats} {client:22}"
    if "error" in out:
        return f"{head} ERROR {out['error']}"
    unit = SCENARIOS[name].unit
    if unit == "file":
        return (
            f"{head} wall {out['wall']:7.2f} s  CPU {out['cpu']:6.2f} s  "
            f"peak RSS +{out['rss_growth_mib']:.1f} MiB  "
            f"({out['blob_mib']:.0f} MiB file)  server {out['server_cpu_share']:4.0%}"
        )
    line = (
        f"{head} {out['cpu'] / out['units'] * 1e6:10.2f} us/{unit}"
        f"  wall {out['wall']:6.3f} s  server {out['server_cpu_share']:4.0%}"
    )
    if "ttfc" in out:
        line += f"  ttfc {out['ttfc'] * 1e3:.3f} ms"
    if "rss_per_stream_kib" in out:
        line += f"  {out['rss_per_stream_kib']:.1f} KiB/stream"
        if not out["all_open"]:
            line += f" (never all open: max {out['max_open']}, peak used)"
    return line


def summarise(
    runs: dict[str, dict[str, list[dict[str, Any]]]],
    imports: dict[str, Any] | None,
    quick_mode: bool = False,
) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for name, per_client in runs.items():
        ref = {
            o["repeat"]: o for o in per_client.get(REFERENCE, []) if "error" not in o
        }
        ref_uv = {
            o["repeat"]: o
            for o in per_client.get(UVLOOP_REFERENCE, [])
            if "error" not in o
        }
        subject = {
            o["repeat"]: o for o in per_client.get(SUBJECT, []) if "error" not in o
        }
        rows: dict[str, Any] = {}
        for client, outs in per_client.items():
            ok = [o for o in outs if "error" not in o]
            row: dict[str, Any] = {
                "us": [o["cpu"] / o["units"] * 1e6 for o in ok],
                "cpu_s": [o["cpu"] for o in ok],
                "wall": [o["wall"] for o in ok],
                "busy": [o["cpu"] / o["wall"] for o in ok if o["wall"] > 0],
                "requests": max((o.get("requests", 0) for o in ok), default=0),
                "server_share": [o["server_cpu_share"] for o in ok],
                "rss_mb": [o["rss_kb"] / 1024 for o in ok],
                "errors": [o["error"] for o in outs if "error" in o],
                "ratio": [],
                "ratio_same_loop": [],
                "wall_ratio": [],
                "official_factor": [],
                "ttfc_ms": [o["ttfc"] * 1e3 for o in ok if "ttfc" in o],
                "ttfc_added_ms": [],
                "kib_per_stream": [
                    o["rss_per_stream_kib"] for o in ok if "rss_per_stream_kib" in o
                ],
                "all_open": all(o.get("all_open", True) for o in ok),
                "max_open": min((o.get("max_open", 0) for o in ok), default=0),
                "rss_growth_mib": [
                    o["rss_growth_mib"] for o in ok if "rss_growth_mib" in o
                ],
                "pinned": all(o.get("pinned") for o in ok),
            }
            for o in ok:
                per_unit = o["cpu"] / o["units"]
                f = ref.get(o["repeat"])
                if f is not None:
                    row["ratio"].append(per_unit / (f["cpu"] / f["units"]))
                    row["wall_ratio"].append(o["wall"] / f["wall"])
                    if "ttfc" in o and "ttfc" in f:
                        row["ttfc_added_ms"].append((o["ttfc"] - f["ttfc"]) * 1e3)
                fu = ref_uv.get(o["repeat"])
                if CLIENTS[client].loop == "uvloop" and fu is not None:
                    row["ratio_same_loop"].append(per_unit / (fu["cpu"] / fu["units"]))
                sub = subject.get(o["repeat"])
                if client in OFFICIAL and sub is not None:
                    if SCENARIOS[name].kind == "blob":
                        row["official_factor"].append(o["wall"] / sub["wall"])
                    else:
                        row["official_factor"].append(
                            per_unit / (sub["cpu"] / sub["units"])
                        )
            rows[client] = row
        scenarios[name] = rows
    return {
        "scenarios": scenarios,
        "defs": {name: scenario(name, quick_mode) for name in scenarios},
        "imports": imports,
        "targets": targets(scenarios, imports),
    }


def official_factor(rows: dict[str, Any]) -> tuple[float, str]:
    """The official client's lowest median factor over ollama_async, and which
    pool setting gave it (the harder one for ollama_async to beat)."""
    candidates = [
        (_median(factors), client)
        for client in OFFICIAL
        if (factors := rows.get(client, {}).get("official_factor"))
    ]
    return min(candidates) if candidates else (float("nan"), "")


def _check(
    kind: str, name: str, what: str, limit: str, value: str, ok: bool, short: str = ""
) -> dict[str, Any]:
    return {
        "kind": kind,  # cpu | official | memory | blob_wall | blob_rss | import
        "scenario": name,
        "what": what,
        "limit": limit,
        "value": value,
        "pass": ok,
        "short": short or value,  # for the one-line-per-scenario summary
    }


def targets(
    scenarios: dict[str, Any], imports: dict[str, Any] | None
) -> list[dict[str, Any]]:
    out = []
    for name, rows in scenarios.items():
        s = SCENARIOS[name]  # targets do not depend on --quick sizes
        sub = rows.get(SUBJECT)
        if sub is None:
            continue
        ours = f"{name} {SUBJECT}"
        if s.kind == "blob":
            if s.target is not None and sub["wall_ratio"]:
                v = _median(sub["wall_ratio"])
                what = f"{ours} / {REFERENCE}, wall time"
                out.append(
                    _check("blob_wall", name, what, f"<= {s.target}", f"{v:.2f}",
                           v <= s.target)
                )  # fmt: skip
            if s.rss_limit_mib is not None and sub["rss_growth_mib"]:
                v = _median(sub["rss_growth_mib"])
                limit = s.rss_limit_mib
                out.append(
                    _check("blob_rss", name, f"{ours} peak RSS growth",
                           f"<= {limit:.0f} MiB", f"{v:.1f} MiB", v <= limit,
                           f"peak RSS +{v:.1f} MiB (<= {limit:.0f})")
                )  # fmt: skip
            continue
        if s.target is not None and sub["ratio"]:
            v = _median(sub["ratio"])
            what = f"{ours} / {REFERENCE}, CPU per {s.unit}"
            out.append(
                _check("cpu", name, what, f"<= {s.target}", f"{v:.2f}", v <= s.target)
            )
        if s.official_factor is not None:
            v, which = official_factor(rows)
            if which:
                what = f"{name} {which} / {SUBJECT}, CPU per {s.unit}"
                limit = s.official_factor
                out.append(
                    _check("official", name, what, f">= {limit:g}", f"{v:.1f}",
                           v >= limit)
                )  # fmt: skip
        ref = rows.get(REFERENCE)
        if s.memory and sub["kib_per_stream"] and ref and ref["kib_per_stream"]:
            v, r = _median(sub["kib_per_stream"]), _median(ref["kib_per_stream"])
            out.append(
                _check("memory", name, f"{ours} RSS per open stream",
                       f"<= {REFERENCE}'s ({r:.1f} KiB)", f"{v:.1f} KiB", v <= r,
                       f"{v:.1f} vs {r:.1f} KiB/stream")
            )  # fmt: skip
    if imports and imports["delta_ms"]:
        delta = _median(imports["delta_ms"])
        out.append(
            _check("import", "IMPORT", "import ollama_async - import aiohttp, msgspec",
                   f"<= {IMPORT_BUDGET_MS:.0f} ms", f"{delta:+.1f} ms",
                   delta <= IMPORT_BUDGET_MS)
        )  # fmt: skip
    return out


def missed_scenarios(results: dict[str, Any]) -> list[str]:
    """Scenarios whose CPU targets ollama_async missed (worth a profile)."""
    names = [
        t["scenario"]
        for t in results["targets"]
        if not t["pass"] and t["kind"] in CPU_TARGET_KINDS
    ]
    return [n for n in dict.fromkeys(names) if n in SCENARIOS]


def failures(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[str]:
    return [
        f"{name} {client} round {o.get('repeat', '?') + 1}: {o['error']}"
        for name, per_client in runs.items()
        for client, outs in per_client.items()
        for o in outs
        if "error" in o
    ]


# -- metadata ---------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return proc.stdout.strip()


def metadata(
    notes: list[str], repeats: int, quick: bool, elapsed: float
) -> dict[str, Any]:
    version = "?"
    with_version = ROOT / "ollama_async" / "_version.py"
    if with_version.exists():
        m = re.search(r"['\"]([^'\"]+)['\"]", with_version.read_text())
        version = m.group(1) if m else "?"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {
            "ollama_async": f"{version} (git {_git('rev-parse', '--short', 'HEAD')})",
            "aiohttp": _version("aiohttp"),
            "msgspec": _version("msgspec"),
            "ollama": _version("ollama"),
            "httpx": _version("httpx"),
            "uvloop": _version("uvloop"),
        },
        "notes": notes,
        "repeats": repeats,
        "quick": quick,
        "elapsed": elapsed,
        "command": "python -m benchmarks" + (" --quick" if quick else ""),
    }


# -- rendering --------------------------------------------------------------


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _scenario_rows(
    s: Scenario, rows: dict[str, Any]
) -> tuple[list[str], list[list[str]]]:
    name = s.name
    if s.kind == "blob":
        return _blob_rows(rows)
    header = [
        "client",
        f"µs CPU/{s.unit}",
        "spread",
        f"ratio to {REFERENCE}",
        "spread",
        "wall s",
        "server CPU",
    ]
    paced = s.pace_ms > 0 and s.kind == "stream"
    if paced:
        header.append("client CPU/wall")
    if name == "TTFC":
        header += ["first chunk ms", f"added vs {REFERENCE} ms"]
    if s.memory:
        header.append("KiB RSS per open stream")
    body = []
    for client, row in rows.items():
        if not row["us"]:
            body.append([client, "FAILED: " + "; ".join(row["errors"])[:80]])
            continue
        lo, hi = _spread(row["us"])
        rlo, rhi = _spread(row["ratio"])
        ratio_text = _fmt(_median(row["ratio"]))
        if row["ratio_same_loop"]:
            ratio_text += (
                f" ({_fmt(_median(row['ratio_same_loop']))} vs {UVLOOP_REFERENCE})"
            )
        label = client
        if row["requests"] and row["requests"] != s.requests:
            label += f" ({row['requests']:,} streams)"
        line = [
            label,
            _fmt(_median(row["us"])),
            f"{_fmt(lo)}..{_fmt(hi)}",
            ratio_text,
            f"{_fmt(rlo)}..{_fmt(rhi)}" if row["ratio"] else "-",
            f"{_median(row['wall']):.3f}",
            f"{_median(row['server_share']):.0%} (max {max(row['server_share']):.0%})",
        ]
        if paced:
            line.append(f"{_median(row['busy']):.0%}")
        if name == "TTFC":
            line += [
                f"{_median(row['ttfc_ms']):.3f}",
                f"{_median(row['ttfc_added_ms']):+.3f}",
            ]
        if s.memory:
            kib = _fmt(_median(row["kib_per_stream"]))
            if not row["all_open"]:
                kib += f" (peak; at most {row['max_open']:,} open at once)"
            line.append(kib)
        if row["errors"]:
            line[0] += f" ({len(row['errors'])} failed)"
        body.append(line)
    return header, body


def _blob_rows(rows: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "client",
        "wall s",
        "spread",
        f"wall ratio to {REFERENCE}",
        "spread",
        "peak RSS growth MiB",
        "spread",
        "CPU s",
        "server CPU",
    ]
    body = []
    for client, row in rows.items():
        if not row["wall"]:
            body.append([client, "FAILED: " + "; ".join(row["errors"])[:80]])
            continue
        lo, hi = _spread(row["wall"])
        rlo, rhi = _spread(row["wall_ratio"])
        mlo, mhi = _spread(row["rss_growth_mib"])
        line = [
            client,
            f"{_median(row['wall']):.2f}",
            f"{lo:.2f}..{hi:.2f}",
            _fmt(_median(row["wall_ratio"])),
            f"{_fmt(rlo)}..{_fmt(rhi)}" if row["wall_ratio"] else "-",
            f"{_median(row['rss_growth_mib']):.1f}",
            f"{mlo:.1f}..{mhi:.1f}",
            f"{_median(row['cpu_s']):.2f}",
            f"{_median(row['server_share']):.0%}",
        ]
        if row["errors"]:
            line[0] += f" ({len(row['errors'])} failed)"
        body.append(line)
    return header, body


def _text_table(header: list[str], body: list[list[str]]) -> str:
    widths = [
        max(len(r[i]) if i < len(r) else 0 for r in [header, *body])
        for i in range(len(header))
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    for r in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))
    return "\n".join(lines)


def _md_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in body:
        cells = r + [""] * (len(header) - len(r))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(ok: bool, *, md: bool) -> str:
    return "PASS" if ok else ("**MISS**" if md else "MISS")


def _summary_table(
    results: dict[str, Any], *, md: bool = False
) -> tuple[list[str], list[list[str]]]:
    """One line per scenario: the issue-14 checks side by side."""
    header = [
        "scenario",
        f"{SUBJECT} / {REFERENCE}",
        "target",
        "result",
        f"official / {SUBJECT}",
        ">= 10x",
        "memory",
    ]
    found = {(t["scenario"], t["kind"]): t for t in results["targets"]}
    body = []
    for name, rows in results["scenarios"].items():
        s = results["defs"][name]
        sub = rows.get(SUBJECT)
        if sub is None or name == "TTFC":
            continue
        blob = s.kind == "blob"
        ratios = sub["wall_ratio"] if blob else sub["ratio"]
        ratio = _fmt(_median(ratios)) + (" (wall)" if blob else "")
        main = found.get((name, "blob_wall" if blob else "cpu"))
        factor, which = official_factor(rows)
        factor_text = "-"
        if which:
            factor_text = f"{factor:.1f} ({which}{', wall' if blob else ''})"
        tenx = found.get((name, "official"))
        memory = "-"
        mem = found.get((name, "blob_rss" if blob else "memory"))
        if mem is not None:
            memory = f"{mem['short']}: {_verdict(mem['pass'], md=md)}"
        body.append(
            [
                f"{name}: {s.title}",
                ratio,
                f"<= {s.target}" if s.target is not None else "-",
                _verdict(main["pass"], md=md) if main else "-",
                factor_text,
                _verdict(tenx["pass"], md=md) if tenx else "-",
                memory,
            ]
        )
    return header, body


def _targets_table(
    results: dict[str, Any], *, md: bool = False
) -> tuple[list[str], list[list[str]]]:
    header = ["target", "limit", "measured (median)", "result"]
    body = [
        [t["what"], t["limit"], t["value"], _verdict(t["pass"], md=md)]
        for t in results["targets"]
    ]
    return header, body


def _imports_table(imports: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["import", "median ms", "spread ms"]
    body = []
    for name, ms in imports["ms"].items():
        lo, hi = _spread(ms)
        body.append([name, f"{_median(ms):.1f}", f"{lo:.1f}..{hi:.1f}"])
    if imports["delta_ms"]:
        lo, hi = _spread(imports["delta_ms"])
        body.append(
            [
                "ollama_async minus aiohttp+msgspec (paired)",
                f"{_median(imports['delta_ms']):+.1f}",
                f"{lo:+.1f}..{hi:+.1f}",
            ]
        )
    return header, body


def _rss_table(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows = results["scenarios"].get("S2", {})
    header = ["client", "peak RSS MiB (median)", "spread"]
    body = []
    for client, row in rows.items():
        if row["rss_mb"]:
            lo, hi = _spread(row["rss_mb"])
            body.append(
                [client, f"{_median(row['rss_mb']):.1f}", f"{lo:.1f}..{hi:.1f}"]
            )
    return header, body


def _notes(results: dict[str, Any]) -> list[str]:
    out = []
    for s in results["defs"].values():
        cut = ", ".join(
            f"{client} runs {n:,} streams, not {s.requests:,}"
            for client, n in s.reduced
            if client in results["scenarios"][s.name]
        )
        if cut or s.note:
            out.append(f"{s.name}: " + "; ".join(x for x in (cut, s.note) if x))
        if s.pace_ms > 0 and s.kind == "stream":
            rows = results["scenarios"][s.name]
            busy = [c for c, row in rows.items() if _median(row["busy"]) >= SATURATED]
            if busy:
                out.append(
                    f"{s.name}: {', '.join(busy)} used >= {SATURATED:.0%} of the "
                    "client's core: the pacing outran it, so chunks queued and "
                    "arrived several per read; their CPU per chunk is a throughput "
                    "under overload, not the cost of one wake-up per chunk."
                )
    return out


def text(results: dict[str, Any], meta: dict[str, Any]) -> str:
    out = [""]
    for name, rows in results["scenarios"].items():
        s = results["defs"][name]
        out += [f"== {name}: {s.title}", _text_table(*_scenario_rows(s, rows)), ""]
    if results["imports"]:
        out += ["== import time", _text_table(*_imports_table(results["imports"])), ""]
    if "S2" in results["scenarios"]:
        out += ["== peak RSS in S2", _text_table(*_rss_table(results)), ""]
    summary = _summary_table(results)
    if summary[1]:
        out += [
            f"== summary (issue 14): ratios to {REFERENCE}, same round, median",
            _text_table(*summary),
            "",
        ]
    if results["targets"]:
        out += ["== targets", _text_table(*_targets_table(results)), ""]
    out += [f"note: {n}" for n in [*_notes(results), *meta["notes"]]]
    out.append(f"{meta['repeats']} rounds, {meta['elapsed']:.0f} s in all")
    return "\n".join(out)


def write_markdown(
    path: Path,
    results: dict[str, Any],
    meta: dict[str, Any],
    profiles: dict[str, list[dict[str, Any]]],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = path.with_suffix(".png")
    chart_note = write_chart(chart, results)
    v = meta["versions"]
    md = [
        "# Benchmarks",
        "",
        f"Generated by `{meta['command']}` on {meta['date']} "
        f"({meta['repeats']} rounds, {meta['elapsed']:.0f} s). Regenerate rather than "
        "edit; the harness is described in `benchmarks/README.md`.",
        "",
        "## Targets (issue 14)",
        "",
        f"The reference is `{REFERENCE}`: the loop a careful user writes by hand "
        "(one `aiohttp.ClientSession` with `TCPConnector(limit=concurrency)`, "
        "`resp.content.iter_any()`, a split on newlines, msgspec). Each ratio is "
        f"{SUBJECT}'s CPU per chunk or request over the reference's in the same "
        "round, median over rounds, default asyncio loop. The official factor is "
        f"the official client's CPU over {SUBJECT}'s, with the pool setting (default "
        "or raised) that gives the lower factor. S6 also compares resident memory "
        f"per open stream with the reference's; S7 ({SUBJECT}'s `create_blob`) "
        "compares wall time with hashing plus a raw aiohttp upload, and bounds "
        "the peak RSS growth during the call.",
        "",
        _md_table(*_summary_table(results, md=True)),
        "",
        "Every check:",
        "",
        _md_table(*_targets_table(results, md=True)),
        "",
        *[f"- {n}" for n in _notes(results)],
        "",
        "## Machine and versions",
        "",
        f"- CPU: {meta['cpu']}, {meta['cores']} logical CPUs; {meta['kernel']}; "
        "a shared, noisy VM",
        f"- Python {meta['python']}; "
        + ", ".join(f"{k} {val}" for k, val in v.items()),
        "- Server pinned to CPU 0, each client process to CPU 1 "
        "(`os.sched_setaffinity`)"
        + ("" if _all_pinned(results) else " — **pinning failed for some runs**"),
        *[f"- Note: {n}" for n in meta["notes"]],
        "",
        "## Method",
        "",
        "- Server: `benchmarks/_server.py`, raw asyncio Protocols on uvloop, "
        "pre-encoded Ollama-shaped NDJSON (chunked, one HTTP chunk per line); "
        "burst mode (many chunks per write) for S1-S4, paced mode (one chunk per "
        "write every 20 ms per stream in S5, 100 ms in S6) for S5 and S6. For S7 "
        "it answers `HEAD /api/blobs/<digest>` with 404 and reads, counts and "
        "discards `POST /api/blobs/<digest>` bodies (Content-Length or chunked), "
        "answering 201. Its CPU share (its `process_time` over the scenario's wall "
        "time, max over a worker's passes) is in each table.",
        "- Each (client, scenario, round) runs in a fresh process; clients are "
        "interleaved A B C A B C within each round. A smaller warm-up run of the "
        "same shape comes first (connections opened, caches hot), then "
        "`gc.collect()`, then `time.process_time()` around the measured section "
        "only, for up to 5 passes while they fit in 0.8 s (the process reports "
        "their median; slow clients get one pass). Every pass's results are "
        "checked (text joined from every chunk, vector shapes and values); a "
        "wrong result fails the run.",
        "- Per-chunk work is the same in every client: count the line, keep "
        "`message.content`, join at the end. Chunk counts include the final done "
        "line.",
        f"- `{REFERENCE}` (the reference): one `ClientSession`, "
        "`TCPConnector(limit=concurrency)`, `async with session.post(...)`, "
        "`iter_any()`, split on `\\n`, one msgspec Decoder; public aiohttp API "
        "only. `floor` (informational): `asyncio.open_connection`, hand-written "
        "HTTP/1.1, chunked de-framing, a LIFO keep-alive pool. `official`: "
        "`ollama.AsyncClient` with httpx's default pool (100 connections, 20 kept "
        "alive); `official+pool`: `httpx.Limits` sized to the scenario's "
        "concurrency. uvloop rows are informational, their second ratio against "
        f"`{UVLOOP_REFERENCE}`.",
        "- S6 memory: after an 8-stream warm-up and `gc.collect()`, the worker "
        "reads its RSS, then opens every stream at once (the warm-up pass of the "
        "full shape, which also opens the connections); a thread polls the "
        "server's count of open streams every 20 ms and keeps the highest RSS "
        "seen while all are open. Per stream = (that RSS - the RSS before) / "
        "streams: connection, buffers and the client's per-stream state.",
        "- S7: the runner writes the file once (not sparse: one `os.urandom` MiB "
        "repeated with its index over the first 8 bytes, fsynced, so it is read "
        "from the page cache by every client), plus a 4 MiB warm-up file. Each "
        "worker uploads the small file, then `create_blob`s the big one while a "
        "thread samples `/proc/self/statm` every 2 ms; growth = highest sample "
        "(or a new `ru_maxrss` mark) minus the RSS before the call. The reference "
        "hashes with `hashlib.sha256` over 1 MiB reads in a thread, then "
        "`session.post(url, data=open(path, 'rb'))`. Digest returned, byte count "
        "and digest seen by the server are checked.",
        "- Spread is min..max over rounds. Import time: `perf_counter` around the "
        "import in a fresh interpreter, targets interleaved, paired difference per "
        "round.",
        "",
        "## Results",
        "",
    ]
    for name, rows in results["scenarios"].items():
        s = results["defs"][name]
        md += [f"### {name}: {s.title}", "", _md_table(*_scenario_rows(s, rows)), ""]
    if results["imports"]:
        md += [
            "### Import time",
            "",
            _md_table(*_imports_table(results["imports"])),
            "",
        ]
        own = results["imports"].get("own_modules") or []
        if own:
            md += [
                "Slowest own modules (`-X importtime` self time): "
                + ", ".join(f"`{m}` {ms:.1f} ms" for m, ms in own[:5]),
                "",
            ]
    if "S2" in results["scenarios"]:
        md += [
            "### Peak RSS (ru_maxrss) at the end of S2",
            "",
            _md_table(*_rss_table(results)),
            "",
        ]
    md += ["## Chart", "", chart_note, ""]
    if profiles:
        md += [
            "## Where ollama_async's CPU goes (missed targets)",
            "",
            "cProfile of one `ollama_async` run of the scenario (default loop), top "
            "functions by own time in µs per chunk/request. cProfile inflates "
            "call-heavy code, so read the order, not the absolute numbers; its "
            "call counts include coroutine resumptions (2 calls = one suspension).",
            "",
        ]
        for name, rows in profiles.items():
            md += [f"### {name}", "", _md_table(*_profile_table(rows)), ""]
    # What earlier profiles showed and what was changed: hand-written, kept
    # across regenerations.
    history = Path(__file__).with_name("HISTORY.md")
    if history.exists():
        md += [history.read_text().rstrip(), ""]
    path.write_text("\n".join(md))


def _profile_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["function", "calls/unit", "own µs/unit", "cum µs/unit"]
    body = [
        [
            f"`{r['function']}`",
            f"{r['calls_per_unit']:.2f}",
            f"{r['own_us']:.2f}",
            f"{r['cum_us']:.2f}",
        ]
        for r in rows
    ]
    return header, body


def _all_pinned(results: dict[str, Any]) -> bool:
    return all(
        row["pinned"] for rows in results["scenarios"].values() for row in rows.values()
    )


def write_chart(path: Path, results: dict[str, Any]) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: chart skipped (`pip install matplotlib`)."
    names = [n for n in CHART_SCENARIOS if n in results["scenarios"]]
    if not names:
        return "No CPU scenario in this run: no chart."
    clients = [
        c
        for c in CLIENTS
        if c != REFERENCE and any(c in results["scenarios"][n] for n in names)
    ]
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / max(1, len(clients))
    for i, client in enumerate(clients):
        xs, ys, lo, hi = [], [], [], []
        for j, name in enumerate(names):
            ratios = results["scenarios"][name].get(client, {}).get("ratio") or []
            if ratios:
                med = _median(ratios)
                xs.append(j + (i - (len(clients) - 1) / 2) * width)
                ys.append(med)
                lo.append(med - min(ratios))
                hi.append(max(ratios) - med)
        ax.bar(xs, ys, width, label=client, yerr=[lo, hi], capsize=2)
    for j, name in enumerate(names):
        target = SCENARIOS[name].target
        if target:
            ax.hlines(target, j - 0.45, j + 0.45, colors="black", linestyles="dashed")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel(f"client CPU / {REFERENCE} CPU (log)\ndashed: {SUBJECT} target")
    ax.set_title(
        f"ollama_async benchmarks: CPU per chunk or request relative to {REFERENCE}"
    )
    ax.legend(fontsize=8, ncols=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"![client CPU relative to {REFERENCE}]({path.name})"


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `python -m benchmarks`")
