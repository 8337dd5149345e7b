"""Handlers for model management and server info: tags, show, pull, push, create,
copy, delete, ps, version, blobs and ``/``.

Progress streams (pull, push, create) are generators of lines fed to
`Exchange.stream`, so the registry changes only as far as the client let the
stream run, as with Ollama.
"""

from __future__ import annotations

import hashlib
import itertools
import posixpath
import re
from collections.abc import Generator, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from ._exchange import Exchange, Handler, error_reply, json_reply
from ._registry import (
    CLOUD,
    LOCAL,
    FakeModel,
    ModelRefError,
    Name,
    parse_name,
    parse_ref,
    pull_ref,
    unqualified,
)
from ._requests import MESSAGE, OPTIONS, cloud_disabled
from ._wire import JSON_PLAIN, encode, go_quote

_DIGEST: Final = re.compile(r"sha256[:-][0-9a-fA-F]{64}")
_PULL_FIELDS: Final = {
    "model": "string",
    "name": "string",
    "insecure": "bool",
    "username": "string",
    "password": "string",
    "stream": "bool",
}
_CREATE_FIELDS: Final = {
    "model": "string",
    "name": "string",
    "stream": "bool",
    "quantize": "string",
    "from": "string",
    "files": "map[string]string",
    "adapters": "map[string]string",
    "template": "string",
    "license": "any",
    "system": "string",
    "parameters": OPTIONS,
    "messages": ("[]", MESSAGE, "[]api.Message"),
    "draft_quantize": "string",
    "remote_host": "string",
    "draft_files": "map[string]string",
    "renderer": "string",
    "parser": "string",
    "requires": "string",
    "info": OPTIONS,
    "quantization": "string",
}
_NO_MANIFEST: Final = "pull model manifest: file does not exist"
_ENOENT: Final = "no such file or directory"


def _line(obj: dict[str, Any]) -> bytes:
    return encode(obj) + b"\n"


def _progress(status: str, digest: str, total: int, completed: int) -> bytes:
    obj: dict[str, Any] = {"status": status, "digest": digest, "total": total}
    if completed:
        obj["completed"] = completed
    return _line(obj)


async def _progress_reply(
    ex: Exchange, data: dict[str, Any], lines: Iterator[bytes]
) -> web.StreamResponse:
    """Stream progress, or (``stream: false``) run it and answer its last object."""
    if data.get("stream") is not False:
        first = next(lines, None)
        if first is not None and first.startswith(b'{"error"'):
            # Go's streamResponse: an error before any line becomes a plain
            # status reply, 500 unless the error carries its own.
            return web.Response(
                body=first.rstrip(b"\n"),
                status=getattr(first, "status", 500),
                headers={"Content-Type": JSON_PLAIN},
            )
        server = ex.server
        pace = 1.0 / server.tokens_per_second if server.tokens_per_second else 0.0
        return await ex.stream(
            itertools.chain([first] if first else [], lines), pace=pace
        )
    last = b""
    for last in lines:
        if last.startswith(b'{"error"'):
            return web.Response(
                body=last.rstrip(b"\n"),
                status=getattr(last, "status", 500),
                headers={"Content-Type": JSON_PLAIN},
            )
    return web.Response(body=last.rstrip(b"\n"), headers={"Content-Type": JSON_PLAIN})


# --- listing and info ------------------------------------------------------------


async def tags(ex: Exchange) -> web.StreamResponse:
    """``GET /api/tags``: installed models, newest first."""
    models = sorted(
        ex.server.models.values(),
        key=lambda m: m.modified_at or datetime.min,
        reverse=True,
    )
    return json_reply({"models": [m.tags_entry() for m in models]})


async def ps(ex: Exchange) -> web.StreamResponse:
    """``GET /api/ps``: resident models."""
    return json_reply({"models": ex.server.ps_entries()})


async def version(ex: Exchange) -> web.StreamResponse:
    """``GET /api/version``."""
    return json_reply({"version": ex.server.version})


async def root(ex: Exchange) -> web.StreamResponse:
    """``GET /``."""
    return web.Response(
        body=b"Ollama is running", headers={"Content-Type": "text/plain; charset=utf-8"}
    )


async def show(ex: Exchange) -> web.StreamResponse:
    """``POST /api/show``."""
    data = ex.decode(
        "ShowRequest",
        {
            "model": "string",
            "name": "string",
            "system": "string",
            "template": "string",
            "verbose": "bool",
            "options": OPTIONS,
        },
    )
    name = data.get("model") or data.get("name") or ""
    if not name:
        raise ex.fail(400, "model is required")
    try:
        ref = parse_ref(name)
    except ModelRefError as exc:
        # Go answers each refusal with its own text, "model is required" too.
        raise ex.fail(400, str(exc)) from None
    details_off = "remote model details are unavailable"
    if ref.source == CLOUD:
        reject = cloud_disabled(ex, details_off)
        if reject is not None:
            raise reject
        model = ex.server.models.find(ref.original)
    else:
        model = ex.server.models.find(ref.base)
    if model is None:
        shown = ex.server.models.existing_name(ref.name).display
        raise ex.fail(404, f"model '{shown}' not found")
    if model.remote_host:
        reject = cloud_disabled(ex, details_off)
        if reject is not None:
            raise reject
        if ref.source == LOCAL:
            raise ex.fail(404, f"model '{ref.original}' not found")
    # Go's GetModelInfo: "" (or null) changes nothing; options reach only the
    # Modelfile, since "parameters" is written before they are merged.
    body = model.show(
        verbose=bool(data.get("verbose")),
        system=data.get("system") or "",
        options=data.get("options"),
    )
    return json_reply(body)


# --- copy / delete ----------------------------------------------------------------


async def copy(ex: Exchange) -> web.StreamResponse:
    """``POST /api/copy``: 200 with an empty body."""
    data = ex.decode("CopyRequest", {"source": "string", "destination": "string"})
    source, destination = data.get("source") or "", data.get("destination") or ""
    if parse_name(source) is None:
        raise ex.fail(400, f"source {go_quote(source)} is invalid")
    dst = parse_name(destination)
    if dst is None:
        raise ex.fail(400, f"destination {go_quote(destination)} is invalid")
    model = ex.server.models.find(source)
    if model is None:
        raise ex.fail(404, f"model {go_quote(source)} not found")
    ex.server.models.add(
        replace(model, name=dst.display, modified_at=datetime.now().astimezone())
    )
    return web.Response()


async def delete(ex: Exchange) -> web.StreamResponse:
    """``DELETE /api/delete`` (JSON body): 200 with an empty body."""
    data = ex.decode("DeleteRequest", {"model": "string", "name": "string"})
    name = _name_of(data)
    try:
        ref = pull_ref(name)
    except ModelRefError as exc:
        message = f"name {go_quote(name)} is invalid"
        raise ex.fail(400, message if exc.kind == "invalid" else str(exc)) from None
    model = ex.server.models.find(ref.base)
    if model is None:
        raise ex.fail(404, f"model '{name}' not found")
    del ex.server.models[model.name]
    ex.server.loaded.pop(model.key, None)
    return web.Response()


# --- pull / push -------------------------------------------------------------------


def _pull_lines(ex: Exchange, parsed: Name, *, final: bool = True) -> Iterator[bytes]:
    server = ex.server
    yield _line({"status": "pulling manifest"})
    installed = server.models.find(parsed.full)
    source = installed or server.remote.find(parsed.full)
    if source is None:
        yield _line({"error": _NO_MANIFEST})
        return
    for _kind, hexdigest, size in source.layers():
        status, digest = f"pulling {hexdigest[:12]}", f"sha256:{hexdigest}"
        steps = (1.0,) if installed else (0.0, 0.25, 0.5, 0.75, 1.0)
        for fraction in steps:
            yield _progress(status, digest, size, int(size * fraction))
    yield _line({"status": "verifying sha256 digest"})
    yield _line({"status": "writing manifest"})
    # Ollama writes the manifest on every pull: its mtime is the model's
    # modified_at, so a model pulled now (even again) shows as modified now.
    name = source.name if installed else parsed.display
    server.models.add(
        replace(source, name=name, modified_at=datetime.now().astimezone())
    )
    if final:
        yield _line({"status": "success"})


def _name_of(data: dict[str, Any]) -> str:
    return str(data.get("model") or data.get("name") or "")


async def pull(ex: Exchange) -> web.StreamResponse:
    """``POST /api/pull``: progress lines; unknown models fail after a 200."""
    data = ex.decode("PullRequest", _PULL_FIELDS)
    try:
        ref = pull_ref(_name_of(data))
    except ModelRefError as exc:
        message = str(exc) if exc.kind == "conflict" else "invalid model name"
        raise ex.fail(400, message) from None
    return await _progress_reply(ex, data, _pull_lines(ex, ref.name))


def _push_lines(ex: Exchange, name: str) -> Iterator[bytes]:
    yield _line({"status": "retrieving manifest"})
    parsed = parse_name(name)
    if parsed is None:
        # Go pushes whatever the name parses to, and fails reading its manifest.
        yield _line({"status": "couldn't retrieve manifest"})
        yield _line({"error": unqualified(name)})
        return
    model = ex.server.models.find(parsed.full)
    if model is None:
        yield _line({"status": "couldn't retrieve manifest"})
        path = f"{parsed.host}/{parsed.namespace}/{parsed.model}/{parsed.tag}"
        yield _line({"error": f"open /root/.ollama/models/manifests/{path}: {_ENOENT}"})
        return
    for _kind, hexdigest, size in model.layers():
        for fraction in (0.0, 0.5, 1.0):
            yield _progress(
                f"pushing {hexdigest[:12]}",
                f"sha256:{hexdigest}",
                size,
                int(size * fraction),
            )
    yield _line({"status": "pushing manifest"})
    ex.server.remote.add(model)
    yield _line({"status": "success"})


async def push(ex: Exchange) -> web.StreamResponse:
    """``POST /api/push``: progress lines; the model becomes pullable."""
    data = ex.decode("PushRequest", _PULL_FIELDS)
    name = _name_of(data)
    if not name:
        raise ex.fail(400, "model is required")
    return await _progress_reply(ex, data, _push_lines(ex, name))


# --- create ---------------------------------------------------------------------------


async def create(ex: Exchange) -> web.StreamResponse:
    """``POST /api/create`` from a model (``from``), a remote one, or blobs.

    The checks Go's ``CreateHandler`` runs before streaming come first (paths
    and digests of the files, then the name); the rest fail in the stream,
    with their own status when nothing was written yet.
    """
    data = ex.decode("CreateRequest", _CREATE_FIELDS)
    for group in ("files", "draft_files"):
        for path, digest in (data.get(group) or {}).items():
            if not _valid_path(path):
                raise ex.fail(400, "file path must be relative")
            if not digest:
                raise ex.fail(400, "invalid digest format")
    if data.get("draft_quantize") and not data.get("draft_files"):
        raise ex.fail(400, "--draft-quantize requires a DRAFT model")
    if any(not digest for digest in (data.get("adapters") or {}).values()):
        raise ex.fail(400, "invalid digest format")
    parsed = parse_name(_name_of(data))
    if parsed is None:
        raise ex.fail(400, "invalid model name")
    return await _progress_reply(ex, data, _create_lines(ex, data, parsed))


def _valid_path(path: str) -> bool:
    """Go's ``fs.ValidPath``: unrooted, ``/``-separated, no ``.``/``..``/empty."""
    if path == ".":
        return True
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _create_lines(ex: Exchange, data: dict[str, Any], parsed: Name) -> Iterator[bytes]:
    server = ex.server
    base: FakeModel | None = None
    remote: tuple[str, str] | None = None
    files: dict[str, str] = dict(data.get("files") or {})
    if data.get("from"):
        try:
            source = parse_ref(data["from"])
        except ModelRefError:
            yield _failure("invalid model name", 400)
            return
        host = data.get("remote_host") or ""
        if source.source == CLOUD and not host:
            host = "https://ollama.com:443"
        if host:
            remote = (source.base, _remote_url(host))
        else:
            base = server.models.find(source.name.full)
            if base is None:
                for line in _pull_lines(ex, source.name, final=False):
                    yield line
                    if line.startswith(b'{"error"'):
                        return
                yield _line({"status": "success"})
                base = server.models.find(source.name.full)
                assert base is not None
            for _kind, hexdigest, _size in base.layers()[:1]:
                yield _line({"status": f"using existing layer sha256:{hexdigest}"})
    elif data.get("files") is not None:
        if not (yield from _gguf_lines(server.blobs, files)):
            return
    else:
        yield _failure("neither 'from' or 'files' was specified", 400)
        return
    if remote is not None and data.get("draft_files"):
        yield _failure("DRAFT cannot be used with remote models", 400)
        return
    adapters = dict(data.get("adapters") or {})
    if remote is None and adapters:
        if len(adapters) > 1:
            yield _failure("only one adapter is currently supported", 400)
            return
        if not (yield from _gguf_lines(server.blobs, adapters, status=400)):
            return
    try:
        info = _info(data.get("info"))
    except ValueError as exc:
        yield _failure(str(exc), 400)
        return
    quantize = str(data.get("quantize") or "")
    if quantize and remote is None:
        total = base.size if base else 1_000_000
        for fraction in (0.0, 0.5, 1.0):
            yield _progress(
                f"quantizing F16 model to {quantize.upper()}",
                "0000000000000000000",
                total,
                int(total * fraction),
            )
    if remote is not None:
        # A stub: no weights and no details of its own, only the config.
        base = FakeModel(
            name=parsed.display,
            template="",
            family="",
            parameter_size="",
            quantization_level="",
            format="",
            context_length=0,
            embedding_length=0,
            remote_model=remote[0],
            remote_host=remote[1],
        )
        base.families = None
    model = _with_info(
        _created_model(server.blobs, data, parsed, base, files | adapters), info
    )
    if model.remote_host:
        # Its manifest: the small layers and the config blob (about 300 bytes).
        model.size = sum(size for _k, _h, size in model.layers()) + 300
        base = None  # nothing of the stub was there before
    known = {(k, h) for k, h, _ in base.layers()} if base else set()
    for kind, hexdigest, _size in model.layers()[0 if model.remote_host else 1 :]:
        verb = "using existing" if (kind, hexdigest) in known else "creating new"
        yield _line({"status": f"{verb} layer sha256:{hexdigest}"})
    yield _line({"status": "writing manifest"})
    server.models.add(model)
    yield _line({"status": "success"})


class _Failure(bytes):
    """An ``{"error": ...}`` line that knows the status Go gives it when it is
    the first thing the stream would send."""

    status: int


def _failure(message: str, status: int = 500) -> bytes:
    line = _Failure(_line({"error": message}))
    line.status = status
    return line


def _gguf_lines(
    blobs: dict[str, int], files: dict[str, str], status: int = 500
) -> Generator[bytes, None, bool]:
    """Go's GGUF import: the type is judged by the first file (a ``.gguf``
    name, or an uploaded blob, which the emulator takes for GGUF), then each
    file is parsed in path order. Returns whether it went through."""
    first = next(iter(files), None)
    if first is None or not (
        first.endswith((".gguf", ".safetensors"))
        or (_DIGEST.fullmatch(files[first]) and _blob_key(files[first]) in blobs)
    ):
        yield _failure("unknown type", 400)
        return False
    for path in sorted(files):
        digest = files[path]
        yield _line({"status": "parsing GGUF"})
        if not _DIGEST.fullmatch(digest):
            yield _failure("invalid digest format", status)
            return False
        if _blob_key(digest) not in blobs:
            where = f"/root/.ollama/models/blobs/{digest.replace(':', '-')}"
            yield _failure(f"open {where}: {_ENOENT}", status)
            return False
    for digest in files.values():
        yield _line({"status": f"using existing layer {digest.replace('-', ':', 1)}"})
    return True


def _remote_url(raw: str) -> str:
    """Go's ``remoteURL``: a remote host as the config stores it."""
    if raw.startswith("/"):
        return f"http://localhost:11434{posixpath.normpath(raw)}"
    if "://" not in raw:
        raw = "http://" + raw
    if raw in ("ollama.com", "http://ollama.com"):
        raw = "https://ollama.com:443"
    scheme, _, rest = raw.partition("://")
    host, slash, path = rest.partition("/")
    host = host or "localhost"
    if ":" not in host.rpartition("]")[2]:
        host += ":11434"
    path = posixpath.normpath(slash + path) if path else ""
    return f"{scheme}://{host}{'' if path == '/' else path}"


def _info(info: Any) -> dict[str, Any]:
    """The ``info`` overrides of a create request, checked as Go checks them."""
    if not isinstance(info, dict):
        return {}
    out: dict[str, Any] = {}
    caps = info.get("capabilities")
    if isinstance(caps, list):
        out["capabilities"] = tuple(c for c in caps if isinstance(c, str))
    for key, field in (
        ("model_family", "family"),
        ("base_name", ""),
        ("quantization_level", "quantization_level"),
        ("parameter_size", "parameter_size"),
    ):
        if key in info:
            if not isinstance(info[key], str):
                raise ValueError(f"info field {go_quote(key)} must be a string")
            if field:
                out[field] = info[key]
    for key in ("context_length", "embedding_length"):
        if key in info:
            value = info[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"info field {go_quote(key)} must be a number")
            if value < 0 or value != int(value) or value > 2**63 - 1:
                raise ValueError(
                    f"info field {go_quote(key)} must be a non-negative integer"
                )
            out[key] = int(value)
    return out


def _with_info(model: FakeModel, info: dict[str, Any]) -> FakeModel:
    caps = info.pop("capabilities", ())
    if caps:
        wanted = model.capabilities if not model.remote_host else ()
        model = replace(model, capabilities=tuple(dict.fromkeys([*wanted, *caps])))
    if "family" in info:
        info["families"] = [info["family"]] if info["family"] else None
    return replace(model, **info) if info else model


def _created_model(
    blobs: dict[str, int],
    data: dict[str, Any],
    parsed: Name,
    base: FakeModel | None,
    files: dict[str, str],
) -> FakeModel:
    license_ = data.get("license")
    if isinstance(license_, list):
        license_ = "\n".join(str(x) for x in license_)
    if base is None:
        base = FakeModel(
            name=parsed.display,
            size=sum(blobs.get(_blob_key(d), 0) for d in files.values()) or 1,
        )
    changes: dict[str, Any] = {
        "name": parsed.display,
        "digest": "",
        "modified_at": datetime.now().astimezone(),
        "parent_model": base.name if data.get("from") and not base.remote_host else "",
        "parameters": {**base.parameters, **(data.get("parameters") or {})},
    }
    # The request's template, system, renderer, parser and requires win; the
    # base model's are kept otherwise (Go copies renderer, parser, requires).
    for key in ("template", "system", "renderer", "parser", "requires"):
        if data.get(key):
            changes[key] = data[key]
    if license_:
        changes["license"] = str(license_)
    if data.get("messages"):
        changes["messages"] = data["messages"]
    if data.get("quantize"):
        changes["quantization_level"] = str(data["quantize"]).upper()
    return replace(base, **changes)


# --- blobs ---------------------------------------------------------------------------


def _blob_key(digest: str) -> str:
    return "sha256:" + digest[7:]


def _blob_digest(ex: Exchange) -> str:
    return ex.request.path.rsplit("/", 1)[-1]


async def blob_head(ex: Exchange) -> web.StreamResponse:
    """``HEAD /api/blobs/:digest``: 200 exists, 404 missing (no bodies)."""
    digest = _blob_digest(ex)
    if not _DIGEST.fullmatch(digest):
        return error_reply(400, "invalid digest format")
    if _blob_key(digest) not in ex.server.blobs:
        return error_reply(404, f"blob {go_quote(digest)} not found")
    return web.Response(status=200)


async def blob_post(ex: Exchange) -> web.StreamResponse:
    """``POST /api/blobs/:digest``: 201 stored, 200 present, 400 mismatch."""
    digest = _blob_digest(ex)
    if not _DIGEST.fullmatch(digest):
        return error_reply(400, "invalid digest format")
    if _blob_key(digest) in ex.server.blobs:
        return web.Response(status=200)  # Ollama does not read the body then
    ex.body = await ex.request.read()
    got = "sha256:" + hashlib.sha256(ex.body).hexdigest()
    # Compared literally, as Ollama does: only "sha256:<lowercase hex>" matches.
    if got != digest:
        return error_reply(
            400, f"digest mismatch, expected {go_quote(digest)}, got {go_quote(got)}"
        )
    ex.server.blobs[got] = len(ex.body)
    return web.Response(status=201)


BLOB_ROUTES: Final[dict[str, Handler]] = {"HEAD": blob_head, "POST": blob_post}
ROUTES: Final[dict[str, dict[str, Handler]]] = {
    "/": {"GET": root, "HEAD": root},
    "/api/tags": {"GET": tags, "HEAD": tags},
    "/api/version": {"GET": version, "HEAD": version},
    "/api/ps": {"GET": ps},
    "/api/show": {"POST": show},
    "/api/pull": {"POST": pull},
    "/api/push": {"POST": push},
    "/api/create": {"POST": create},
    "/api/copy": {"POST": copy},
    "/api/delete": {"DELETE": delete},
}
