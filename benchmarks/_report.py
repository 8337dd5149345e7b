"""Turn worker results into statistics, console tables, docs/benchmarks.md and a chart.

All ratios are per round: client CPU per unit divided by the floor's CPU per
unit in the same round, then the median over rounds. "Spread" is the min-max
over rounds.
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

from benchmarks._scenarios import CLIENTS, FLOOR, SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
IMPORT_BUDGET_MS = 15.0
CHART_SCENARIOS = ("S1", "S2", "S3", "S4", "S5")


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _spread(xs: list[float]) -> tuple[float, float]:
    return (min(xs), max(xs)) if xs else (float("nan"), float("nan"))


def progress_line(
    name: str, r: int, repeats: int, client: str, out: dict[str, Any]
) -> str:
    head = f"{name} {r + 1}/{repeats} {client:20}"
    if "error" in out:
        return f"{head} ERROR {out['error']}"
    unit = SCENARIOS[name].unit
    line = (
        f"{head} {out['cpu'] / out['units'] * 1e6:10.2f} us/{unit}"
        f"  wall {out['wall']:6.3f} s  server {out['server_cpu_share']:4.0%}"
    )
    if "ttfc" in out:
        line += f"  ttfc {out['ttfc'] * 1e3:.3f} ms"
    return line


def summarise(
    runs: dict[str, dict[str, list[dict[str, Any]]]], imports: dict[str, Any] | None
) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for name, per_client in runs.items():
        floor = {o["repeat"]: o for o in per_client.get(FLOOR, []) if "error" not in o}
        floor_uv = {
            o["repeat"]: o
            for o in per_client.get("floor+uvloop", [])
            if "error" not in o
        }
        rows: dict[str, Any] = {}
        for client, outs in per_client.items():
            ok = [o for o in outs if "error" not in o]
            row: dict[str, Any] = {
                "us": [o["cpu"] / o["units"] * 1e6 for o in ok],
                "wall": [o["wall"] for o in ok],
                "server_share": [o["server_cpu_share"] for o in ok],
                "rss_mb": [o["rss_kb"] / 1024 for o in ok],
                "errors": [o["error"] for o in outs if "error" in o],
                "ratio": [],
                "ratio_same_loop": [],
                "ttfc_ms": [o["ttfc"] * 1e3 for o in ok if "ttfc" in o],
                "ttfc_added_ms": [],
                "pinned": all(o.get("pinned") for o in ok),
            }
            for o in ok:
                f = floor.get(o["repeat"])
                if f is not None:
                    row["ratio"].append(
                        (o["cpu"] / o["units"]) / (f["cpu"] / f["units"])
                    )
                    if "ttfc" in o and "ttfc" in f:
                        row["ttfc_added_ms"].append((o["ttfc"] - f["ttfc"]) * 1e3)
                fu = floor_uv.get(o["repeat"])
                if CLIENTS[client].loop == "uvloop" and fu is not None:
                    row["ratio_same_loop"].append(
                        (o["cpu"] / o["units"]) / (fu["cpu"] / fu["units"])
                    )
            rows[client] = row
        scenarios[name] = rows
    return {
        "scenarios": scenarios,
        "imports": imports,
        "targets": targets(scenarios, imports),
    }


def targets(
    scenarios: dict[str, Any], imports: dict[str, Any] | None
) -> list[dict[str, Any]]:
    out = []
    for name, rows in scenarios.items():
        s = SCENARIOS[name]
        for client, limit in (
            ("ollama_async", s.target),
            ("ollama_async+uvloop", s.target_uvloop),
        ):
            if limit is None or client not in rows or not rows[client]["ratio"]:
                continue
            value = _median(rows[client]["ratio"])
            out.append(
                {
                    "what": f"{name} {client} / floor",
                    "scenario": name,
                    "limit": f"<= {limit}",
                    "value": f"{value:.2f}",
                    "pass": value <= limit,
                }
            )
    if imports and imports["delta_ms"]:
        delta = _median(imports["delta_ms"])
        out.append(
            {
                "what": "import ollama_async - import aiohttp, msgspec",
                "scenario": "IMPORT",
                "limit": f"<= {IMPORT_BUDGET_MS:.0f} ms",
                "value": f"{delta:+.1f} ms",
                "pass": delta <= IMPORT_BUDGET_MS,
            }
        )
    return out


def missed_scenarios(results: dict[str, Any]) -> list[str]:
    names = [t["scenario"] for t in results["targets"] if not t["pass"]]
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
    name: str, rows: dict[str, Any]
) -> tuple[list[str], list[list[str]]]:
    unit = SCENARIOS[name].unit
    header = [
        "client",
        f"µs CPU/{unit}",
        "spread",
        "ratio to floor",
        "spread",
        "wall s",
        "server CPU",
    ]
    if name == "TTFC":
        header += ["first chunk ms", "added vs floor ms"]
    body = []
    for client, row in rows.items():
        if not row["us"]:
            body.append([client, "FAILED: " + "; ".join(row["errors"])[:80]])
            continue
        lo, hi = _spread(row["us"])
        rlo, rhi = _spread(row["ratio"])
        ratio = _median(row["ratio"])
        ratio_text = _fmt(ratio)
        if row["ratio_same_loop"]:
            ratio_text += f" ({_fmt(_median(row['ratio_same_loop']))} vs floor+uvloop)"
        line = [
            client,
            _fmt(_median(row["us"])),
            f"{_fmt(lo)}..{_fmt(hi)}",
            ratio_text,
            f"{_fmt(rlo)}..{_fmt(rhi)}" if row["ratio"] else "-",
            f"{_median(row['wall']):.3f}",
            f"{_median(row['server_share']):.0%} (max {max(row['server_share']):.0%})",
        ]
        if name == "TTFC":
            line += [
                f"{_median(row['ttfc_ms']):.3f}",
                f"{_median(row['ttfc_added_ms']):+.3f}",
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


def _targets_table(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["target", "limit", "measured (median)", "result"]
    body = [
        [t["what"], t["limit"], t["value"], "PASS" if t["pass"] else "**MISS**"]
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


def text(results: dict[str, Any], meta: dict[str, Any]) -> str:
    out = [""]
    for name, rows in results["scenarios"].items():
        out += [
            f"== {name}: {SCENARIOS[name].title}",
            _text_table(*_scenario_rows(name, rows)),
            "",
        ]
    if results["imports"]:
        out += ["== import time", _text_table(*_imports_table(results["imports"])), ""]
    if "S2" in results["scenarios"]:
        out += ["== peak RSS in S2", _text_table(*_rss_table(results)), ""]
    if results["targets"]:
        out += ["== targets (issue 4)", _text_table(*_targets_table(results)), ""]
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
        "## Targets (issue 4)",
        "",
        "Client CPU per chunk or request, median over rounds, as a ratio to the "
        "floor measured in the same round (default asyncio loop; the uvloop target "
        "divides ollama_async on uvloop by the same default-loop floor).",
        "",
        _md_table(*_targets_table(results)),
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
        "write every 20 ms per stream) for S5. Its CPU share (its `process_time` "
        "over the scenario's wall time, max over a worker's passes) is in each table. "
        "It stays well below its core except in S3 against `floor+uvloop`, an "
        "informational row (~13 µs per request on each side).",
        "- Each (client, scenario, round) runs in a fresh process; clients are "
        "interleaved A B C A B C within each round. A smaller warm-up run of the "
        "same shape comes first (connections opened, caches hot), then "
        "`gc.collect()`, then `time.process_time()` around the measured section "
        "only, for up to 5 passes while they fit in 0.8 s (the process reports "
        "their median; slow clients get one pass). Every pass's results are "
        "checked (text joined from every chunk, vector shapes and values); a "
        "wrong result fails the run.",
        "- Per-chunk work is the same in every client: count the line, keep "
        "`message.content`, join at the end. Chunk counts include the final done line.",
        "- `floor`: `asyncio.open_connection`, hand-written HTTP/1.1, chunked "
        "de-framing, one msgspec Decoder, chunks yielded through an async generator, "
        "a LIFO keep-alive pool. `aiohttp+msgspec`: plain session loop over "
        "`iter_any()`. `official`: `ollama.AsyncClient` with httpx's default pool "
        "(100 connections, 20 kept alive); `official+pool`: `httpx.Limits` sized to "
        "the scenario's concurrency.",
        "- Spread is min..max over rounds. Import time: `perf_counter` around the "
        "import in a fresh interpreter, targets interleaved, paired difference per "
        "round.",
        "",
        "## Results",
        "",
    ]
    for name, rows in results["scenarios"].items():
        md += [
            f"### {name}: {SCENARIOS[name].title}",
            "",
            _md_table(*_scenario_rows(name, rows)),
            "",
        ]
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
        if c != FLOOR and any(c in results["scenarios"][n] for n in names)
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
        target, target_uv = SCENARIOS[name].target, SCENARIOS[name].target_uvloop
        if target:
            ax.hlines(target, j - 0.45, j + 0.45, colors="black", linestyles="dashed")
        if target_uv:
            ax.hlines(
                target_uv, j - 0.45, j + 0.45, colors="black", linestyles="dotted"
            )
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("client CPU / floor CPU (log)\ndashed: target, dotted: uvloop target")
    ax.set_title(
        "ollama_async benchmarks: CPU per chunk or request relative to the floor"
    )
    ax.legend(fontsize=8, ncols=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"![client CPU relative to the floor]({path.name})"


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `python -m benchmarks`")
