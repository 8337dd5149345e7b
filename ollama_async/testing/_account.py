"""The server's account and cloud routes: ``GET /api/status``, ``POST /api/me``,
``POST /api/signout`` (and its deprecated ``DELETE /api/user/keys/:encodedKey``).

Accounts themselves (`FakeUser`) live in `_users`. The real server asks
ollama.com who its key belongs to; the emulator answers from `FakeOllama.user`,
which signing out clears.
None of these handlers reads the request body, as in Go. Imports aiohttp (for
types), the standard library and sibling modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ._exchange import Exchange, Handler, error_reply, json_reply
from ._users import SIGNIN_URL

if TYPE_CHECKING:
    from aiohttp import web


async def status(ex: Exchange) -> web.StreamResponse:
    """``GET /api/status``: ``{"cloud":{"disabled":…,"source":…}}``, always 200."""
    source = ex.server.cloud_disabled_by
    return json_reply(
        {"cloud": {"disabled": source is not None, "source": source or "none"}}
    )


async def me(ex: Exchange) -> web.StreamResponse:
    """``POST /api/me``: the signed-in user, or 401 with a ``signin_url``.

    Not affected by the cloud setting, as in Go. ollama.com being unreachable
    (Ollama's ``503 {"error":"account unavailable"}``) is a `Fault`.
    """
    user = ex.server.user
    if user is None or not user.name:
        return json_reply({"error": "unauthorized", "signin_url": SIGNIN_URL}, 401)
    return json_reply(user.me_entry())


async def signout(ex: Exchange) -> web.StreamResponse:
    """``POST /api/signout``: 200 ``null`` and signed out, or 401 when not signed in."""
    if ex.server.user is None:
        return error_reply(401, "you are not currently signed in")
    ex.server.user = None
    return json_reply(None)


USER_KEYS: Final = "/api/user/keys/"
KEY_ROUTES: Final[dict[str, Handler]] = {"DELETE": signout}
"""``DELETE /api/user/keys/:encodedKey``: deprecated, the same handler as
``/api/signout`` (the key in the path is not looked at)."""
ROUTES: Final[dict[str, dict[str, Handler]]] = {
    "/api/status": {"GET": status},
    "/api/me": {"POST": me},
    "/api/signout": {"POST": signout},
}
