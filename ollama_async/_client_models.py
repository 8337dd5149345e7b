"""Model management endpoints of ``AsyncClient``: pull, push, create,
blobs, list, show, copy, delete, ps, version."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Literal, overload

import msgspec

from . import _convert as conv
from ._aggregate import fold_progress
from ._errors import NotFoundError, RequestError
from ._stream import Stream
from ._transport import (
    read_body,
)

if TYPE_CHECKING:
    pass

from ._client_base import (
    USE_CLIENT_DEFAULT,
    ClientBase,
    MessageArg,
    OptionsArg,
    TimeoutArg,
    _encode,
)
from .types import (
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    ListModel,
    ListResponse,
    ProcessModel,
    ProcessResponse,
    ProgressResponse,
    PullRequest,
    PushRequest,
    ShowRequest,
    ShowResponse,
    StatusResponse,
    VersionResponse,
)

__all__ = ["ModelsMixin", "decode_ps"]

_BLOB_CHUNK: Final = 1024 * 1024
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

_decode_progress = msgspec.json.Decoder(ProgressResponse).decode
_decode_show = msgspec.json.Decoder(ShowResponse).decode
_decode_version = msgspec.json.Decoder(VersionResponse).decode


def _is_success(progress: ProgressResponse) -> bool:
    return progress.status == "success"


class _ListWire(msgspec.Struct):
    # Old servers send `"models": null` for an empty list.
    models: list[ListModel] | None = None


class _ProcessWire(msgspec.Struct):
    models: list[ProcessModel] | None = None


_decode_list = msgspec.json.Decoder(_ListWire).decode
decode_ps = msgspec.json.Decoder(_ProcessWire).decode


class ModelsMixin(ClientBase):
    """The model management endpoints (mixed into :class:`AsyncClient`)."""

    # -- pull / push / create --------------------------------------------------

    def _progress(
        self,
        path: str,
        body: bytes,
        *,
        stream: bool,
        timeout: TimeoutArg,
        idempotent: bool = True,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        if stream:
            return self._stream(
                path,
                body,
                _decode_progress,
                _is_success,
                fold_progress,
                timeout,
                idempotent=idempotent,
            )
        return self._call(
            "POST", path, body, _decode_progress, timeout, idempotent=idempotent
        )

    @overload
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[False] = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[True],
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[ProgressResponse]: ...
    @overload
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]: ...
    def pull(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        """Download a model from its registry, with progress lines when
        streamed; the last one has ``status == "success"``."""
        body = _encode(
            PullRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                insecure=conv.bool_arg("insecure", insecure or None),
            )
        )
        return self._progress("/api/pull", body, stream=stream, timeout=timeout)

    @overload
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[False] = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: Literal[True],
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[ProgressResponse]: ...
    @overload
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]: ...
    def push(
        self,
        model: str,
        *,
        insecure: bool = False,
        stream: bool = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        """Upload a model (``namespace/model:tag``) to its registry."""
        body = _encode(
            PushRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                insecure=conv.bool_arg("insecure", insecure or None),
            )
        )
        return self._progress(
            "/api/push", body, stream=stream, timeout=timeout, idempotent=False
        )

    @overload
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: Literal[False] = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse]: ...
    @overload
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: Literal[True],
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Stream[ProgressResponse]: ...
    @overload
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: bool,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]: ...
    def create(
        self,
        model: str,
        quantize: str | None = None,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
        template: str | None = None,
        license: str | Sequence[str] | None = None,
        system: str | None = None,
        parameters: OptionsArg | None = None,
        messages: Sequence[MessageArg] | None = None,
        *,
        stream: bool = False,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> Coroutine[Any, Any, ProgressResponse] | Stream[ProgressResponse]:
        """Create a model from an existing one (``from_``) or from uploaded
        blobs (``files``: file name -> ``sha256:`` digest, see
        :meth:`create_blob`)."""
        if from_ is None and files is None:
            raise RequestError("create needs from_ (a model) or files (blob digests)")
        if license is not None and not isinstance(license, str):
            license = list(license)
        body = _encode(
            CreateRequest(
                model=conv.model_arg(model),
                stream=conv.bool_arg("stream", stream) is True,
                from_=conv.opt(
                    None if from_ is None else conv.model_arg(from_, "from_")
                ),
                files=conv.opt(_digests("files", files)),
                adapters=conv.opt(_digests("adapters", adapters)),
                template=conv.check_str("template", template),
                license=conv.opt(license),
                system=conv.check_str("system", system),
                parameters=conv.options_arg(parameters, "parameters"),
                messages=conv.messages_arg(messages),
                quantize=conv.check_str("quantize", quantize),
            )
        )
        return self._progress(
            "/api/create", body, stream=stream, timeout=timeout, idempotent=False
        )

    # -- blobs -----------------------------------------------------------------

    async def blob_exists(
        self, digest: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> bool:
        """Whether the server has the blob ``sha256:<64 hex>``."""
        path = f"/api/blobs/{_digest(digest)}"
        try:
            await self._call_empty("HEAD", path, None, timeout)
        except NotFoundError:
            return False
        return True

    async def create_blob(
        self, path: str | Path, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> str:
        """Upload a file as a blob unless the server has it; return its digest.

        The file is hashed and uploaded in 1 MiB pieces, never held in memory.
        """
        file = Path(path)
        digest = await asyncio.to_thread(_sha256, file)
        if await self.blob_exists(digest, timeout=timeout):
            return digest
        response = await self._transport.send(
            "POST",
            f"/api/blobs/{digest}",
            _file_pieces(file),
            timeout=self._timeout(timeout),
            content_type="application/octet-stream",
            idempotent=False,
        )
        await read_body(response, self._max_body_size, self._transport.base_url)
        return digest

    # -- model management ------------------------------------------------------

    async def list(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> ListResponse:
        """The installed models (``GET /api/tags``)."""
        wire = await self._call("GET", "/api/tags", None, _decode_list, timeout)
        return ListResponse(models=wire.models or [])

    async def show(
        self,
        model: str,
        *,
        verbose: bool | None = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
    ) -> ShowResponse:
        """Details of a model: Modelfile, parameters, template, capabilities."""
        body = _encode(
            ShowRequest(
                model=conv.model_arg(model), verbose=conv.bool_arg("verbose", verbose)
            )
        )
        return await self._call("POST", "/api/show", body, _decode_show, timeout)

    async def copy(
        self, source: str, destination: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> StatusResponse:
        """Copy a model under a new name."""
        body = _encode(
            CopyRequest(
                source=conv.model_arg(source, "source"),
                destination=conv.model_arg(destination, "destination"),
            )
        )
        await self._call_empty("POST", "/api/copy", body, timeout, idempotent=False)
        return StatusResponse(status="success")

    async def delete(
        self, model: str, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> StatusResponse:
        """Delete a model."""
        body = _encode(DeleteRequest(model=conv.model_arg(model)))
        await self._call_empty("DELETE", "/api/delete", body, timeout, idempotent=False)
        return StatusResponse(status="success")

    async def ps(self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT) -> ProcessResponse:
        """The models loaded in memory."""
        wire = await self._call("GET", "/api/ps", None, decode_ps, timeout)
        return ProcessResponse(models=wire.models or [])

    async def version(
        self, *, timeout: TimeoutArg = USE_CLIENT_DEFAULT
    ) -> VersionResponse:
        """The server's version."""
        return await self._call("GET", "/api/version", None, _decode_version, timeout)


def _digest(digest: Any) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise RequestError(
            f"a blob digest must look like 'sha256:<64 hex>', got {digest!r}"
        )
    return digest


def _digests(name: str, files: Mapping[str, str] | None) -> dict[str, str] | None:
    if files is None:
        return None
    if not isinstance(files, Mapping):
        raise RequestError(f"{name} must map file names to blob digests")
    for file_name, digest in files.items():
        if not isinstance(file_name, str) or not file_name:
            raise RequestError(f"{name} keys must be file names")
        _digest(digest)
    return dict(files)


def _sha256(path: Path) -> str:
    if not path.is_file():
        raise RequestError(f"no such file: {str(path)!r}")
    sha = hashlib.sha256()
    with path.open("rb") as file:
        while piece := file.read(_BLOB_CHUNK):
            sha.update(piece)
    return f"sha256:{sha.hexdigest()}"


async def _file_pieces(path: Path) -> AsyncIterator[bytes]:
    file: IO[bytes] = await asyncio.to_thread(path.open, "rb")
    try:
        while piece := await asyncio.to_thread(file.read, _BLOB_CHUNK):
            yield piece
    finally:
        file.close()
