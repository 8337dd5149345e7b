"""Handlers for model management and server info: tags, show, pull, push, create,
copy, delete, ps, version, blobs and ``/``.

Progress streams (pull, push, create) are generators of lines fed to
`Exchange.stream`, so the registry changes only as far as the client let the
stream run, as with Ollama.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from ._exchange import Exchange, Handler, error_reply, json_reply
from ._registry import FakeModel, Name, parse_name
from ._requests import MESSAGE, OPTIONS
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
            # Go's streamResponse: an error before any line becomes a plain 500.
            return web.Response(
                body=first.rstrip(b"\n"),
                status=500,
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
                status=500,
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


async def v1_models(ex: Exchange) -> web.StreamResponse:
    """``GET /v1/models`` (the OpenAI-compatible list, minimal)."""
    data = [
        {
            "id": m.name,
            "object": "model",
            "created": int(m.modified_at.timestamp()) if m.modified_at else 0,
            "owned_by": "library",
        }
        for m in ex.server.models.values()
    ]
    return json_reply({"object": "list", "data": data})


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
    parsed = parse_name(name)
    if parsed is None:
        raise ex.fail(400, "invalid model name")
    model = ex.server.models.find(name)
    if model is None:
        raise ex.fail(404, f"model '{parsed.display}' not found")
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
    name = data.get("model") or data.get("name") or ""
    if not name:
        raise ex.fail(400, "model is required")
    if parse_name(name) is None:
        raise ex.fail(400, f"name {go_quote(name)} is invalid")
    model = ex.server.models.find(name)
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
    if installed is None:
        server.models.add(
            source
            if source.name == parsed.display
            else replace(source, name=parsed.display)
        )
    if final:
        yield _line({"status": "success"})


def _name_of(data: dict[str, Any]) -> str:
    return str(data.get("model") or data.get("name") or "")


async def pull(ex: Exchange) -> web.StreamResponse:
    """``POST /api/pull``: progress lines; unknown models fail after a 200."""
    data = ex.decode("PullRequest", _PULL_FIELDS)
    parsed = parse_name(_name_of(data))
    if parsed is None:
        raise ex.fail(400, "invalid model name")
    return await _progress_reply(ex, data, _pull_lines(ex, parsed))


def _push_lines(ex: Exchange, parsed: Name) -> Iterator[bytes]:
    yield _line({"status": "retrieving manifest"})
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
    parsed = parse_name(name)
    if parsed is None:
        raise ex.fail(400, "invalid model name")
    return await _progress_reply(ex, data, _push_lines(ex, parsed))


# --- create ---------------------------------------------------------------------------


async def create(ex: Exchange) -> web.StreamResponse:
    """``POST /api/create`` from an existing model (``from``) or uploaded blobs."""
    data = ex.decode("CreateRequest", _CREATE_FIELDS)
    parsed = parse_name(_name_of(data))
    if parsed is None:
        raise ex.fail(400, "invalid model name")
    files: dict[str, str] = {
        **(data.get("files") or {}),
        **(data.get("adapters") or {}),
    }
    if not data.get("from") and data.get("files") is None:
        raise ex.fail(400, "neither 'from' or 'files' was specified")
    for digest in files.values():
        if not _DIGEST.fullmatch(digest):
            raise ex.fail(400, "invalid digest format")
    return await _progress_reply(ex, data, _create_lines(ex, data, parsed, files))


def _create_lines(
    ex: Exchange, data: dict[str, Any], parsed: Name, files: dict[str, str]
) -> Iterator[bytes]:
    server = ex.server
    base: FakeModel | None = None
    if data.get("from"):
        source = parse_name(data["from"])
        if source is None:
            yield _line({"error": "invalid model name"})
            return
        base = server.models.find(source.full)
        if base is None:
            for line in _pull_lines(ex, source, final=False):
                yield line
                if line.startswith(b'{"error"'):
                    return
            yield _line({"status": "success"})
            base = server.models.find(source.full)
            assert base is not None
        for _kind, hexdigest, _size in base.layers()[:1]:
            yield _line({"status": f"using existing layer sha256:{hexdigest}"})
    else:
        for digest in files.values():
            if _blob_key(digest) not in server.blobs:
                path = digest.replace(":", "-")
                yield _line(
                    {"error": f"open /root/.ollama/models/blobs/{path}: {_ENOENT}"}
                )
                return
        yield _line({"status": "parsing GGUF"})
        for digest in files.values():
            yield _line(
                {"status": f"using existing layer {digest.replace('-', ':', 1)}"}
            )
    quantize = str(data.get("quantize") or "")
    if quantize:
        total = base.size if base else 1_000_000
        for fraction in (0.0, 0.5, 1.0):
            yield _progress(
                f"quantizing F16 model to {quantize.upper()}",
                "0000000000000000000",
                total,
                int(total * fraction),
            )
    model = _created_model(server.blobs, data, parsed, base, files)
    for kind, hexdigest, _size in model.layers()[1:]:
        reused = base is not None and (kind, hexdigest) in {
            (k, h) for k, h, _ in base.layers()
        }
        verb = "using existing" if reused else "creating new"
        yield _line({"status": f"{verb} layer sha256:{hexdigest}"})
    yield _line({"status": "writing manifest"})
    server.models.add(model)
    yield _line({"status": "success"})


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
            size=sum(blobs[_blob_key(d)] for d in files.values()) or 1,
        )
    changes: dict[str, Any] = {
        "name": parsed.display,
        "digest": "",
        "modified_at": datetime.now().astimezone(),
        "parent_model": base.name if data.get("from") else "",
        "parameters": {**base.parameters, **(data.get("parameters") or {})},
    }
    for key in ("template", "system"):
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
    return web.Response(status=200 if _blob_key(digest) in ex.server.blobs else 404)


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
    "/v1/models": {"GET": v1_models},
}
