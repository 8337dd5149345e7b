"""Run the benchmarks: `python -m benchmarks` or `python benchmarks/run.py`.

For each scenario this starts the bench server (`_server.py`, pinned to CPU 0),
then runs every client in a fresh worker process (`_worker.py`, pinned to CPU
1), interleaved A B C A B C ... for `--repeats` rounds, so slow drift on a
shared machine hits all clients alike. Ratios to the reference (the bare
aiohttp + msgspec loop) are taken inside each round, then medianed. Import
time is measured in fresh interpreters. S7 writes its file (2 GiB, 256 MiB
with --quick) in a temporary directory and deletes it at the end. A full run
writes docs/benchmarks.md and docs/benchmarks.png.

    python -m benchmarks                      # everything, ~15 min on 2 cores
    python -m benchmarks --quick              # smoke run, ~3 min, docs untouched
    python -m benchmarks --scenarios S6,S7 --quick
    python -m benchmarks --scenarios S1,S3 --clients ollama_async,official
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _report
from benchmarks._scenarios import CLIENTS, REFERENCE, SCENARIOS, Scenario, scenario
from benchmarks._server import raise_nofile

ROOT = Path(__file__).resolve().parent.parent

PY = sys.executable
SERVER_CPU = 0
CLIENT_CPU = 1
WORKER_TIMEOUT = 300.0
BLOB_WORKER_TIMEOUT = 900.0  # the official client's 2 GiB upload is slow
BLOB_SPARE = 4 << 30  # free disk wanted beyond the S7 file itself
WARM_BLOB = 4 << 20  # the small file each S7 worker uploads first
MIB = 1 << 20
EXTRA = ("IMPORT",)  # pseudo-scenarios selectable with --scenarios
IMPORT_TARGETS = [
    ("aiohttp+msgspec", "import aiohttp, msgspec"),
    ("ollama_async", "import ollama_async"),
    ("ollama (official)", "import ollama"),
]

# Every child we start, so an error or Ctrl-C still stops each one by PID.
_children: list[subprocess.Popen[bytes]] = []


def _pin_to(cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        if (os.cpu_count() or 1) >= 2:
            os.sched_setaffinity(0, {cpu})


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in _children:
        _children.remove(proc)


def stop_all() -> None:
    for proc in list(_children):
        _stop(proc)


def start_server(
    pace_ms: float, *, verify_blobs: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    cmd = [PY, "-m", "benchmarks._server", "--port", "0", "--cpu", str(SERVER_CPU)]
    cmd += ["--pace-ms", str(pace_ms)]
    if verify_blobs:
        cmd.append("--verify-blobs")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE)
    _children.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("PORT "):
        _stop(proc)
        raise RuntimeError(f"bench server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def run_worker(
    client: str,
    name: str,
    url: str,
    quick_mode: bool,
    profile: int = 0,
    blob_dir: str | None = None,
) -> dict[str, Any]:
    cmd = [PY, "-m", "benchmarks._worker", client, name, url]
    if quick_mode:
        cmd += ["--quick", "--passes", "1"]
    if profile:
        cmd += ["--profile", str(profile)]
    if blob_dir:
        cmd += ["--blob-dir", blob_dir]
    timeout = BLOB_WORKER_TIMEOUT if blob_dir else WORKER_TIMEOUT
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _children.append(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        if proc in _children:
            _children.remove(proc)
    lines = out.decode().strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = err.decode().strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return result


def importable(module: str) -> bool:
    probe = subprocess.run(
        [PY, "-c", f"import {module}"], cwd=ROOT, capture_output=True, check=False
    )
    return probe.returncode == 0


def ollama_async_ready() -> tuple[bool, str]:
    code = "from ollama_async import AsyncClient, Limits"
    probe = subprocess.run(
        [PY, "-c", code], cwd=ROOT, capture_output=True, check=False, text=True
    )
    if probe.returncode == 0:
        return True, ""
    return False, (probe.stderr.strip().splitlines() or ["?"])[-1]


def measure_imports(rounds: int) -> dict[str, Any]:
    """Fresh interpreter per import, targets interleaved, perf_counter around it."""
    times: dict[str, list[float]] = {name: [] for name, _ in IMPORT_TARGETS}
    deltas: list[float] = []
    for _ in range(rounds):
        this_round = {}
        for name, stmt in IMPORT_TARGETS:
            code = (
                "import time; t = time.perf_counter(); "
                f"{stmt}; print(time.perf_counter() - t)"
            )
            proc = subprocess.run(
                [PY, "-c", code],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
                preexec_fn=lambda: _pin_to(CLIENT_CPU),
            )
            if proc.returncode == 0:
                this_round[name] = float(proc.stdout.strip()) * 1000
                times[name].append(this_round[name])
        if "ollama_async" in this_round and "aiohttp+msgspec" in this_round:
            deltas.append(this_round["ollama_async"] - this_round["aiohttp+msgspec"])
    return {
        "ms": {k: v for k, v in times.items() if v},
        "delta_ms": deltas,
        "own_modules": import_breakdown(),
    }


def import_breakdown() -> list[tuple[str, float]]:
    """Self time (ms) of ollama_async's own modules, from `-X importtime`."""
    proc = subprocess.run(
        [PY, "-X", "importtime", "-c", "import ollama_async"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and m.group(4).startswith("ollama_async"):
            rows.append((m.group(4), int(m.group(1)) / 1000))
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[:8]


def make_blobs(directory: str, mib: int) -> None:
    """The S7 file: `mib` MiB of real data, plus a small warm-up file.

    Not sparse: every MiB is one os.urandom block with its index written over
    the first 8 bytes, so no two MiB are alike and every byte is on disk (and,
    after the write, in the page cache: every client reads it from memory).
    Digests are computed while writing and go to digests.json for the checks.
    """
    block = bytearray(os.urandom(MIB))
    files = {}
    for name, size, first in (("big", mib * MIB, 0), ("warm", WARM_BLOB, 1 << 40)):
        path = os.path.join(directory, f"{name}.bin")
        sha = hashlib.sha256()
        with open(path, "wb") as f:
            for i in range(first, first + size // MIB):
                block[:8] = i.to_bytes(8, "little")
                f.write(block)
                sha.update(block)
            f.flush()
            os.fsync(f.fileno())  # no writeback running under the measurements
        files[name] = {
            "path": path,
            "size": size,
            "digest": f"sha256:{sha.hexdigest()}",
        }
    with open(os.path.join(directory, "digests.json"), "w") as f:
        json.dump(files, f)


def prepare_blob(s: Scenario, base: str | None) -> tuple[str | None, str]:
    """A temporary directory holding the S7 files, or (None, why not)."""
    base = base or tempfile.gettempdir()
    free = shutil.disk_usage(base).free
    need = s.blob_mib * MIB + BLOB_SPARE
    if free < need:
        return None, (
            f"{s.name} skipped: {free / (1 << 30):.1f} GiB free in {base}, it needs "
            f"{need / (1 << 30):.1f} GiB (a {s.blob_mib} MiB file + 4 GiB spare); "
            "use --blob-dir to put the file elsewhere"
        )
    directory = tempfile.mkdtemp(prefix="ollama-async-bench-", dir=base)
    t0 = time.perf_counter()
    try:
        make_blobs(directory, s.blob_mib)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    took = time.perf_counter() - t0
    return directory, f"{s.name}: wrote a {s.blob_mib} MiB file in {took:.1f} s"


def choose_clients(selected: list[str] | None) -> tuple[list[str], list[str]]:
    notes = []
    names = selected or list(CLIENTS)
    unknown = [n for n in names if n not in CLIENTS]
    if unknown:
        raise SystemExit(f"unknown clients {unknown}; choose from {sorted(CLIENTS)}")
    if REFERENCE not in names:
        names.insert(0, REFERENCE)  # the denominator of every ratio
    if any(CLIENTS[n].loop == "uvloop" for n in names) and not importable("uvloop"):
        names = [n for n in names if CLIENTS[n].loop != "uvloop"]
        notes.append("uvloop is not installed: uvloop rows skipped")
    if any(CLIENTS[n].module == "ollama_async_client" for n in names):
        ok, why = ollama_async_ready()
        if not ok:
            names = [n for n in names if CLIENTS[n].module != "ollama_async_client"]
            notes.append(f"ollama_async not importable ({why}): its rows skipped")
    if any(CLIENTS[n].module == "official" for n in names) and not importable("ollama"):
        names = [n for n in names if CLIENTS[n].module != "official"]
        notes.append("official `ollama` client not installed: its rows skipped")
    return names, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--quick", action="store_true", help="smoke run (~1 min)")
    ap.add_argument(
        "--scenarios", help="comma list of " + ",".join([*SCENARIOS, *EXTRA])
    )
    ap.add_argument("--clients", help="comma list of " + ",".join(CLIENTS))
    ap.add_argument(
        "--repeats", type=int, help="rounds per scenario (default 5, quick 2)"
    )
    ap.add_argument("--out", type=Path, help="markdown report path")
    ap.add_argument("--no-docs", action="store_true", help="print only, write nothing")
    ap.add_argument("--no-profile", action="store_true", help="skip cProfile of misses")
    ap.add_argument(
        "--blob-dir", help="where S7 writes its temporary file (default: the temp dir)"
    )
    ap.add_argument(
        "--verify-blobs",
        action="store_true",
        help="S7: the server hashes each upload and checks it against its digest",
    )
    args = ap.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C: children stopped, S7's file deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.perf_counter()
    _pin_to(SERVER_CPU)  # the runner mostly sleeps; keep CPU 1 for the client
    repeats = args.repeats or (2 if args.quick else 5)
    wanted = args.scenarios.split(",") if args.scenarios else [*SCENARIOS, *EXTRA]
    for name in wanted:
        if name not in SCENARIOS and name not in EXTRA:
            raise SystemExit(f"unknown scenario {name!r}")
    clients, notes = choose_clients(args.clients.split(",") if args.clients else None)
    for note in notes:
        print(f"note: {note}")

    # Thousands of sockets in S6: the runner's limit is what children inherit,
    # and server and worker raise their own soft limit to the hard one too.
    nofile = raise_nofile()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    profiles: dict[str, list[dict[str, Any]]] = {}
    imports: dict[str, Any] | None = None
    blob_dir: str | None = None
    try:
        if "IMPORT" in wanted:
            print("import time ...", flush=True)
            imports = measure_imports(3 if args.quick else 9)
        for name in wanted:
            if name not in SCENARIOS:
                continue
            this = scenario(name, args.quick)
            if this.concurrency + 64 > nofile:
                note = (
                    f"{name} skipped: open-file limit {nofile} (`ulimit -Hn`) is "
                    f"below its {this.concurrency} connections + 64"
                )
                print(f"note: {note}")
                notes.append(note)
                continue
            this_dir = None
            if this.kind == "blob":
                print(f"{name}: writing a {this.blob_mib} MiB file ...", flush=True)
                blob_dir, note = prepare_blob(this, args.blob_dir)
                print(f"note: {note}")
                if blob_dir is None:
                    notes.append(note)
                    continue
                this_dir = blob_dir
            try:
                runs[name] = run_scenario(
                    name, clients, repeats, args.quick, this_dir, args.verify_blobs
                )
            finally:
                if blob_dir is not None:
                    shutil.rmtree(blob_dir, ignore_errors=True)
                    blob_dir = None
        results = _report.summarise(runs, imports, args.quick)
        out_path = args.out or (None if args.quick else ROOT / "docs" / "benchmarks.md")
        if args.no_docs:
            out_path = None
        # Profiles only go to the markdown report: none when nothing is written.
        if not args.no_profile and out_path is not None and "ollama_async" in clients:
            for name in _report.missed_scenarios(results):
                print(f"profiling ollama_async in {name} ...", flush=True)
                server, url = start_server(SCENARIOS[name].pace_ms)
                try:
                    out = run_worker("ollama_async", name, url, args.quick, profile=15)
                finally:
                    _stop(server)
                if "profile" in out:
                    profiles[name] = out["profile"]
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        stop_all()
        if blob_dir is not None:
            shutil.rmtree(blob_dir, ignore_errors=True)

    meta = _report.metadata(notes, repeats, args.quick, time.perf_counter() - started)
    print(_report.text(results, meta))
    if out_path is not None:
        _report.write_markdown(out_path, results, meta, profiles)
        print(f"wrote {out_path} and its .png chart")
    failures = _report.failures(runs)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def run_scenario(
    name: str,
    clients: list[str],
    repeats: int,
    quick_mode: bool,
    blob_dir: str | None = None,
    verify_blobs: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    this = scenario(name, quick_mode)
    print(f"{name}: {this.title}", flush=True)
    if this.clients is not None:
        clients = [c for c in clients if c in this.clients]
    repeats = min(repeats, this.rounds or repeats)
    server, url = start_server(this.pace_ms, verify_blobs=verify_blobs)
    per_client: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    try:
        for r in range(repeats):
            for client in clients:
                out = run_worker(client, name, url, quick_mode, blob_dir=blob_dir)
                out["repeat"] = r
                per_client[client].append(out)
                print("  " + _report.progress_line(name, r, repeats, client, out))
    finally:
        _stop(server)
    return per_client


if __name__ == "__main__":
    sys.exit(main())
