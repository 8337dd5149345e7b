"""One request/response exchange: replies, body decoding, and NDJSON streaming.

Owns how bytes leave the emulator: JSON replies in Ollama's content types, early
rejections (`Reject`), and `Exchange.stream`, which writes one line per write (or
batches in burst mode), applies stream faults and keeps the server's stream
counters exact. Imports aiohttp, msgspec (via `_wire`) and the standard library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, Protocol

from aiohttp import web

from ._faults import Fault
from ._slots import Ticket
from ._wire import (
    JSON_PLAIN,
    JSON_UTF8,
    NDJSON,
    GoJSONError,
    check_fields,
    decode_body,
    encode,
)

if TYPE_CHECKING:
    from ._state import ServerState

MALFORMED_LINE: Final = b'{"model": this line is not JSON\n'
_BURST_BYTES: Final = 1 << 16


class Reject(Exception):
    """Raised by handlers to answer early with ``response``."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


def json_reply(
    obj: Any,
    status: int = 200,
    content_type: str = JSON_UTF8,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A single JSON object, no trailing newline (Go's ``c.JSON``)."""
    return web.Response(
        body=encode(obj),
        status=status,
        headers={"Content-Type": content_type, **(headers or {})},
    )


def error_reply(
    status: int,
    message: str,
    content_type: str = JSON_UTF8,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """``{"error": message}`` with ``status``."""
    return json_reply({"error": message}, status, content_type, headers)


def text_reply(
    status: int, text: str, headers: dict[str, str] | None = None
) -> web.Response:
    """A plain-text reply (Gin's 404/405 and ``GET /``)."""
    return web.Response(
        body=text.encode(),
        status=status,
        headers={"Content-Type": "text/plain", **(headers or {})},
    )


class Framer(Protocol):
    """Re-frames a native handler's NDJSON lines for another wire format (the
    OpenAI-compatible routes: server-sent events), as Ollama's middleware wraps
    the response writer."""

    content_type: str

    def frame(self, line: bytes) -> bytes:
        """The bytes to send for one NDJSON line (possibly none)."""
        ...


class Exchange:
    """State of one request while a handler serves it."""

    def __init__(
        self,
        server: ServerState,
        request: web.BaseRequest,
        body: bytes,
        fault: Fault | None,
    ) -> None:
        self.server = server
        self.request = request
        self.body = body
        self.fault = fault
        self.started_ns = time.perf_counter_ns()
        self.gone = False
        self.resp: web.StreamResponse | None = None
        self.ticket = Ticket()
        self.framer: Framer | None = None
        """Set by a route that re-frames the stream (``/v1/...``)."""
        self.headers: dict[str, str] = {}
        """Extra headers for a streamed response (CORS)."""

    def decode(self, struct: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The JSON body, checked like Go's decoder would; Reject(400) otherwise."""
        try:
            data = decode_body(self.body, struct)
        except GoJSONError as exc:
            raise Reject(error_reply(400, str(exc))) from None
        problem = check_fields(data, struct, fields)
        if problem:
            raise Reject(error_reply(400, problem))
        return data

    def fail(self, status: int, message: str) -> Reject:
        """A Reject carrying ``{"error": message}``."""
        return Reject(error_reply(status, message))

    async def stream(
        self, lines: Iterator[bytes], *, pace: float = 0.0
    ) -> web.StreamResponse:
        """Send ``lines`` (each ending in ``\\n``) as NDJSON, applying stream faults.

        Headers go out with the first line, as Ollama commits them at the first
        write; a fault firing before it yields a plain status reply instead.
        """
        server = self.server
        fault = self.fault
        burst = server.burst and not pace and fault is None
        pending: list[bytes] = []
        size = 0
        index = 0
        current = next(lines, None)
        try:
            while current is not None:
                upcoming = next(lines, None)
                if fault is not None:
                    action = await self._fault_at(fault, index, last=upcoming is None)
                    if action is not None:
                        return action
                if self.resp is None:
                    await self._open()
                elif pace:
                    await asyncio.sleep(pace)
                assert self.resp is not None
                if self.framer is not None:
                    current = self.framer.frame(current)
                if burst:
                    pending.append(current)
                    size += len(current)
                    if size >= _BURST_BYTES:
                        await self.resp.write(b"".join(pending))
                        pending.clear()
                        size = 0
                else:
                    await self.resp.write(current)
                index += 1
                current = upcoming
            resp = self.resp or await self._open()
            if pending:
                await resp.write(b"".join(pending))
            server._stream_completed()
            return resp
        except ConnectionResetError:
            # The peer closed while we wrote (ClientConnectionResetError).
            self.client_gone()
            return self.resp or web.Response()
        finally:
            if self.resp is not None:
                server._stream_closed()

    async def _open(self) -> web.StreamResponse:
        content_type = NDJSON if self.framer is None else self.framer.content_type
        resp = web.StreamResponse(
            headers={**self.headers, "Content-Type": content_type}
        )
        resp.enable_chunked_encoding()
        await resp.prepare(self.request)
        self.resp = resp
        self.server._stream_opened()
        return resp

    async def _fault_at(
        self, fault: Fault, index: int, *, last: bool
    ) -> web.StreamResponse | None:
        """Apply ``fault`` before line ``index``; a response means: stop there."""

        def due(after: int | None) -> bool:
            return after is not None and (index == after or (last and index < after))

        if due(fault.stall_after):
            await asyncio.sleep(fault.stall_for)
        if due(fault.malformed_after):
            resp = self.resp or await self._open()
            await resp.write(self._framed(MALFORMED_LINE))
        if due(fault.error_after):
            if self.resp is None:
                # Ollama turns an error before the first line into a plain status.
                return error_reply(500, fault.run_error(), JSON_PLAIN)
            line = encode({"error": fault.run_error()}) + b"\n"
            await self.resp.write(self._framed(line))
            self.server._stream_completed()
            return self.resp
        if due(fault.disconnect_after):
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            self.server._stream_aborted()
            return self.resp or web.Response()
        return None

    def _framed(self, line: bytes) -> bytes:
        return line if self.framer is None else self.framer.frame(line)

    def client_gone(self) -> None:
        """Count a disconnect once for this exchange."""
        if not self.gone:
            self.gone = True
            self.server._client_disconnected()


Handler = Callable[[Exchange], Awaitable[web.StreamResponse]]
"""A route's handler: one request's exchange in, the response out."""
