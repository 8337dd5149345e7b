"""The transport: every request to Ollama goes through an
``aiohttp.ClientSession``, so an application's ``aioresponses`` mocks, its
aiohttp tracing and its proxies see our calls.

By default the client owns a session it makes lazily on the running loop (a
``TCPConnector`` sized from :class:`Limits`, no cookie jar, proxies read from
the environment once). ``session=`` passes the caller's own, which is never
closed here. This package is the only one that imports aiohttp (besides
``testing/``); the rest of the client imports the names below from here, and
none of its modules.

One concept per module, imported in this order (no module imports a later
one):

- ``_failures``: the one place where HTTP statuses and aiohttp's, asyncio's
  and the OS's failures become our exception tree;
- ``_headers``: default headers and credentials, the environment's proxy;
- ``_bodies``: the ``Response``/``BaseTransport`` protocols, reading a whole
  body or an error body;
- ``_hooks``: our subclasses of aiohttp's protocol, request and response,
  which add what aiohttp does not do on its own:

  - one deadline on the whole response head (``Timeout.first_byte``):
    aiohttp's socket-read timer restarts on every byte, so headers that
    trickle in, or an endless run of ``100 Continue``, would never time out;
  - a status outside 100-599 is refused as soon as the head is read;
  - a pooled connection that received bytes while idle is closed before
    anything is written to it, so a stray response is never taken as ours;

- ``_session``: :class:`Transport`, which also turns off aiohttp's own re-send
  of idempotent requests on a stale keep-alive connection (the
  :class:`Retry` policy alone decides re-sends), and raises aiohttp's
  failures as ours without chaining them (they carry the request's headers,
  the API key among them).
"""

from __future__ import annotations

from ._bodies import (
    MAX_ERROR_BODY,
    BaseTransport,
    Response,
    read_body,
    read_error_body,
)
from ._failures import map_exception, no_room_timeout, parse_retry_after, status_error
from ._headers import default_headers, user_agent
from ._session import Session, Transport

__all__ = [
    "MAX_ERROR_BODY",
    "BaseTransport",
    "Response",
    "Session",
    "Transport",
    "default_headers",
    "map_exception",
    "no_room_timeout",
    "parse_retry_after",
    "read_body",
    "read_error_body",
    "status_error",
    "user_agent",
]
