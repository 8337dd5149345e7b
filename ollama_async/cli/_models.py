"""CLI commands for model management: list, ps, show, pull, push, create, cp,
rm, stop, version; plus the progress display of pull/push/create and the
Modelfile reader. Public API of ``ollama_async`` only; tqdm imported lazily.
"""

from __future__ import annotations

import datetime
import importlib
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ollama_async import (
    AsyncClient,
    ProgressResponse,
    ShowResponse,
    Stream,
    TransportError,
    __version__,
)

from ._context import EXIT_CONNECTION, EXIT_OK, CliError, Context
from ._format import human_bytes, parse_value, relative_time, table

# -- listings ---------------------------------------------------------------------


async def list_models(ctx: Context) -> int:
    async with ctx.client() as client:
        reply = await client.list()
    if ctx.json:  # explicit, so that no models is {"models": []}, not {}
        ctx.emit({"models": reply.models})
        return EXIT_OK
    now = datetime.datetime.now(datetime.UTC)
    rows = [("NAME", "ID", "SIZE", "MODIFIED")]
    rows += [
        (
            m.model or m.name,
            (m.digest or "")[:12],
            human_bytes(m.size),
            relative_time(m.modified_at, now),
        )
        for m in reply.models
    ]
    table(ctx, rows)
    return EXIT_OK


def _processor(size: int | None, vram: int | None) -> str:
    if not size:
        return "-"
    vram = vram or 0
    if vram == 0:
        return "100% CPU"
    if vram >= size:
        return "100% GPU"
    cpu = round(100 * (size - vram) / size)
    return f"{cpu}%/{100 - cpu}% CPU/GPU"


async def ps(ctx: Context) -> int:
    async with ctx.client() as client:
        reply = await client.ps()
    if ctx.json:
        ctx.emit({"models": reply.models})
        return EXIT_OK
    now = datetime.datetime.now(datetime.UTC)
    rows = [("NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL")]
    for m in reply.models:
        until = "-"
        if m.expires_at is not None:
            far = m.expires_at.year - now.year > 100
            until = "Forever" if far else relative_time(m.expires_at, now)
        rows.append(
            (
                m.model or m.name,
                (m.digest or "")[:12],
                human_bytes(m.size),
                _processor(m.size, m.size_vram),
                str(m.context_length or "-"),
                until,
            )
        )
    table(ctx, rows)
    return EXIT_OK


async def show(ctx: Context) -> int:
    args = ctx.args
    async with ctx.client() as client:
        reply = await client.show(args.model, verbose=args.verbose or None)
    if ctx.json:
        ctx.emit(reply)
        return EXIT_OK
    if args.part:
        ctx.write((getattr(reply, args.part) or "").rstrip("\n"))
        return EXIT_OK
    show_info(ctx, reply, verbose=args.verbose)
    return EXIT_OK


def show_info(ctx: Context, reply: ShowResponse, *, verbose: bool = False) -> None:
    """A model's sections, as ``ollama show`` (and ``/show info``) prints them."""
    info = reply.model_info or {}
    details = reply.details
    arch = str(info.get("general.architecture") or (details and details.family) or "")
    model_rows = [
        ("architecture", arch),
        ("parameters", (details and details.parameter_size) or ""),
        ("context length", str(info.get(f"{arch}.context_length") or "")),
        ("embedding length", str(info.get(f"{arch}.embedding_length") or "")),
        ("quantization", (details and details.quantization_level) or ""),
    ]
    _section(ctx, "Model", [row for row in model_rows if row[1]], first=True)
    if reply.capabilities:
        _section(ctx, "Capabilities", [(c,) for c in reply.capabilities])
    if reply.parameters:
        rows = []
        for line in reply.parameters.splitlines():
            key, _, value = line.strip().partition(" ")
            rows.append((key, value.strip()))
        _section(ctx, "Parameters", rows)
    if reply.system:
        _section(ctx, "System", [(line,) for line in reply.system.splitlines()[:2]])
    if reply.license:
        lines = [line for line in reply.license.splitlines() if line.strip()]
        shown = [(line.strip(),) for line in lines[:2]]
        _section(ctx, "License", shown + ([("...",)] if len(lines) > 2 else []))
    if verbose and info:
        _section(ctx, "Metadata", [(k, str(v)[:60]) for k, v in sorted(info.items())])
    ctx.write()


def _section(
    ctx: Context, title: str, rows: Sequence[tuple[str, ...]], *, first: bool = False
) -> None:
    if not first:
        ctx.write()
    ctx.write(f"  {title}")
    width = max((len(row[0]) for row in rows if len(row) > 1), default=0)
    for row in rows:
        if len(row) > 1:
            ctx.write(f"    {row[0].ljust(width)}    {row[1]}".rstrip())
        else:
            ctx.write(f"    {row[0]}")


# -- progress (pull, push, create) -------------------------------------------------


_BAR_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}B/{total_fmt}B {rate_fmt} ETA {remaining}"
)
"""A layer's bar: its bytes with units (``815MB/2.02GB``), speed and ETA."""


class ProgressView:
    """Shows a progress stream: a tqdm bar per layer (bytes, speed, ETA) on a
    terminal; otherwise one line per status and per finished layer; with
    --json, each line as the server sent it.

    A bar is never left showing old numbers: it is drawn at once when its
    layer completes, and closed (drawn one last time) when the next layer
    starts, when a line without a layer comes, and when the stream ends,
    however it ends (:meth:`close_bars`)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tqdm: Any = None
        if not ctx.json and ctx.bars():
            self.tqdm = importlib.import_module("tqdm").tqdm
        self.bars: dict[str, Any] = {}
        self.layers: dict[str, tuple[float, float]] = {}  # digest -> started, shown
        self.status: str | None = None

    def update(self, line: ProgressResponse) -> None:
        if self.ctx.json:
            self.ctx.emit(line)
            return
        if line.digest and line.total:
            if self.tqdm is not None:
                self._bar(line, line.digest, line.total)
            else:
                self._plain(line, line.digest, line.total)
        elif line.status != self.status:
            self.close_bars()
            self.ctx.note(line.status)
        self.status = line.status

    def _bar(self, line: ProgressResponse, digest: str, total: int) -> None:
        bar = self.bars.get(digest)
        if bar is None:
            self.close_bars()  # the layer before is done, or given up
            bar = self.bars[digest] = self.tqdm(
                total=total,
                desc=line.status,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                bar_format=_BAR_FORMAT,
                file=self.ctx.err,
                leave=True,
            )
        elif bar.total != total:  # the server learned the layer's real size
            bar.total = total
        bar.update(max(0, (line.completed or 0) - bar.n))
        if bar.n >= total:
            bar.refresh()  # tqdm skips draws within 0.1 s: show the end now

    def _plain(self, line: ProgressResponse, digest: str, total: int) -> None:
        now = time.monotonic()
        started, shown = self.layers.get(digest, (now, now))
        done = line.completed or 0
        if shown < 0:  # already reported complete
            return
        elapsed = now - started
        rate = f" ({human_bytes(done / elapsed)}/s)" if elapsed >= 0.1 else ""
        if done >= total:
            self.ctx.note(
                f"{line.status}: {human_bytes(total)} in {elapsed:.1f}s{rate}"
            )
            shown = -1.0
        elif now - shown >= 2.0:
            self.ctx.note(
                f"{line.status}: {100 * done // total}% of {human_bytes(total)}{rate}"
            )
            shown = now
        self.layers[digest] = (started, shown)

    def close_bars(self) -> None:
        """Close every bar; each draws its last numbers as it closes."""
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


async def show_progress(ctx: Context, stream: Stream[ProgressResponse]) -> None:
    view = ProgressView(ctx)
    try:
        async with stream:
            async for line in stream:
                view.update(line)
    finally:
        view.close_bars()


async def pull(ctx: Context) -> int:
    async with ctx.client() as client:
        stream = client.pull(ctx.args.model, insecure=ctx.args.insecure, stream=True)
        await show_progress(ctx, stream)
    return EXIT_OK


async def push(ctx: Context) -> int:
    async with ctx.client() as client:
        stream = client.push(ctx.args.model, insecure=ctx.args.insecure, stream=True)
        await show_progress(ctx, stream)
    return EXIT_OK


# -- create -----------------------------------------------------------------------

_INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)\s*(.*)$")


def parse_modelfile(text: str) -> list[tuple[str, str]]:
    """A Modelfile as ``(INSTRUCTION, argument)`` pairs; ``\"\"\"`` quotes
    span lines, ``"..."`` quotes are removed, ``#`` starts a comment line."""
    result: list[tuple[str, str]] = []
    lines = iter(text.splitlines())
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _INSTRUCTION.match(line)
        if match is None:
            raise CliError(f"Modelfile line {number}: cannot read {line!r}")
        word, rest = match.group(1).upper(), match.group(2)
        head, quote, tail = rest.partition('"""')
        if quote:
            body = [tail]
            while '"""' not in body[-1]:
                nxt = next(lines, None)
                if nxt is None:
                    raise CliError(f'Modelfile line {number}: unterminated """')
                body.append(nxt)
            value = head + "\n".join(body).partition('"""')[0]
        else:
            value = rest.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
        result.append((word, value))
    return result


def _local_file(value: str, base: Path) -> Path | None:
    """The file a FROM/ADAPTER names, when it names one rather than a model."""
    looks_like_path = value.startswith(("/", "./", "../", "~")) or value.endswith(
        (".gguf", ".bin", ".safetensors")
    )
    path = (base / Path(value).expanduser()).resolve()
    if path.is_file():
        return path
    if path.is_dir():
        raise CliError(f"{value}: directories are not supported; name a .gguf file")
    if looks_like_path:
        raise CliError(f"{value}: no such file")
    return None


async def _create_kwargs(
    ctx: Context, client: AsyncClient, instructions: list[tuple[str, str]], base: Path
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    licenses: list[str] = []
    messages: list[dict[str, str]] = []
    for word, value in instructions:
        if word in ("FROM", "ADAPTER"):
            path = _local_file(value, base)
            if path is None and word == "FROM":
                kwargs["from_"] = value
            elif path is None:
                raise CliError(f"ADAPTER {value}: no such file")
            else:
                ctx.note(f"uploading {path.name}")
                digest = await client.create_blob(path)
                key = "files" if word == "FROM" else "adapters"
                kwargs.setdefault(key, {})[path.name] = digest
        elif word == "PARAMETER":
            name, _, raw = value.partition(" ")
            parsed = parse_value(raw.strip())
            if name == "stop":
                parameters.setdefault("stop", []).append(str(parsed))
            else:
                parameters[name] = parsed
        elif word in ("TEMPLATE", "SYSTEM"):
            kwargs[word.lower()] = value
        elif word == "LICENSE":
            licenses.append(value)
        elif word == "MESSAGE":
            role, _, content = value.partition(" ")
            messages.append({"role": role, "content": content.strip()})
        else:
            raise CliError(f"Modelfile: unknown instruction {word}")
    if parameters:
        kwargs["parameters"] = parameters
    if licenses:
        kwargs["license"] = licenses[0] if len(licenses) == 1 else licenses
    if messages:
        kwargs["messages"] = messages
    return kwargs


async def create(ctx: Context) -> int:
    args = ctx.args
    path = Path(args.file) if args.file else Path("Modelfile")
    instructions: list[tuple[str, str]] = []
    if args.file or (args.from_ is None and path.is_file()):
        instructions = parse_modelfile(path.read_text(encoding="utf-8"))
    elif args.from_ is None:
        raise CliError("no Modelfile here: pass -f FILE or --from MODEL")
    async with ctx.client() as client:
        kwargs = await _create_kwargs(ctx, client, instructions, path.parent)
        if args.from_:
            kwargs["from_"] = args.from_
        if args.system is not None:
            kwargs["system"] = args.system
        if args.quantize:
            kwargs["quantize"] = args.quantize
        if "from_" not in kwargs and "files" not in kwargs:
            raise CliError("the Modelfile has no FROM line")
        stream = client.create(args.model, **kwargs, stream=True)
        await show_progress(ctx, stream)
    return EXIT_OK


# -- cp, rm, stop, version ---------------------------------------------------------


async def cp(ctx: Context) -> int:
    args = ctx.args
    async with ctx.client() as client:
        reply = await client.copy(args.source, args.destination)
    if ctx.json:
        ctx.emit(reply)
    else:
        ctx.write(f"copied '{args.source}' to '{args.destination}'")
    return EXIT_OK


async def rm(ctx: Context) -> int:
    async with ctx.client() as client:
        for model in ctx.args.models:
            reply = await client.delete(model)
            if ctx.json:
                ctx.emit({"model": model, **reply.to_dict()})
            else:
                ctx.write(f"deleted '{model}'")
    return EXIT_OK


async def stop(ctx: Context) -> int:
    """Unload a model: a generate with no prompt and ``keep_alive=0``."""
    async with ctx.client() as client:
        reply = await client.generate(ctx.args.model, keep_alive=0)
    if ctx.json:
        ctx.emit({"model": reply.model, "done_reason": reply.done_reason})
    return EXIT_OK


async def version(ctx: Context) -> int:
    """Both versions; exit code 3 when no server answers (a health check)."""
    client = ctx.client()
    server: str | None = None
    problem = ""
    try:
        async with client:
            server = (await client.version()).version
    except TransportError as exc:
        problem = str(exc)
    if ctx.json:
        ctx.emit({"client": __version__, "server": server, "host": client.base_url})
    else:
        ctx.write(f"client version is {__version__}")
        if server is not None:
            ctx.write(f"server version is {server} ({client.base_url})")
    if server is None:
        ctx.note(f"ollama-async: warning: {problem}")
        return EXIT_CONNECTION
    return EXIT_OK
