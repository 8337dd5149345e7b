"""ollama.com's web API, as the emulator plays it: ``POST /api/web_search`` and
``/api/web_fetch`` (what the official client calls with a bearer key), plus
Ollama's ``/api/experimental/`` forwards of them.

Answers are deterministic and made up; nothing leaves the machine. A request
to the ollama.com paths without ``Authorization: Bearer ...`` gets 401; the
forwards refuse an empty (or blank) body and, with cloud off, answer Ollama's
403 before forwarding (``webExperimentalProxyHandler``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Final

from ._exchange import Exchange, Handler, error_reply, json_reply
from ._generation import rng_for, words
from ._wire import try_json

if TYPE_CHECKING:
    from aiohttp import web


_MAX_RESULTS: Final = 10
_LOCAL: Final = "/api/experimental/"


def _body(ex: Exchange, key: str) -> dict[str, Any] | web.Response:
    if not ex.body.strip():
        return error_reply(400, "missing request body")
    if ex.request.path.startswith(_LOCAL):
        # Ollama forwards to ollama.com only with cloud on.
        source = ex.server.cloud_disabled_by
        if source is not None:
            what = "search" if ex.request.path.endswith("search") else "fetch"
            return error_reply(
                403, f"ollama cloud is disabled: web {what} is unavailable"
            )
    data = try_json(ex.body)
    if not isinstance(data, dict) or not isinstance(data.get(key), str):
        return error_reply(400, f"{key} is required")
    if not data[key].strip():
        return error_reply(400, f"{key} is required")
    return data


def _authorized(ex: Exchange) -> bool:
    return ex.request.headers.get("Authorization", "").startswith("Bearer ")


def _text(rng: random.Random, count: int) -> str:
    return "".join(words(rng, count)).strip()


async def web_search(ex: Exchange) -> web.StreamResponse:
    """``POST /api/web_search`` ``{"query", "max_results"?}``."""
    if ex.request.path == "/api/web_search" and not _authorized(ex):
        return error_reply(401, "unauthorized")
    data = _body(ex, "query")
    if not isinstance(data, dict):
        return data
    count = data.get("max_results", 5)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        count = 5
    query: str = data["query"]
    rng = rng_for("web_search", query)
    slug = "-".join(query.lower().split())[:40] or "result"
    results = [
        {
            "title": f"{query.title()} - result {i + 1}",
            "url": f"https://example.com/{slug}/{i + 1}",
            "content": _text(rng, 30),
        }
        for i in range(min(count, _MAX_RESULTS))
    ]
    return json_reply({"results": results})


async def web_fetch(ex: Exchange) -> web.StreamResponse:
    """``POST /api/web_fetch`` ``{"url"}``."""
    if ex.request.path == "/api/web_fetch" and not _authorized(ex):
        return error_reply(401, "unauthorized")
    data = _body(ex, "url")
    if not isinstance(data, dict):
        return data
    url: str = data["url"]
    rng = rng_for("web_fetch", url)
    return json_reply(
        {
            "title": _text(rng, 4).rstrip("."),
            "content": _text(rng, 60),
            "links": [f"{url.rstrip('/')}/page-{i}" for i in range(1, 4)],
        }
    )


ROUTES: Final[dict[str, dict[str, Handler]]] = {
    "/api/web_search": {"POST": web_search},
    "/api/web_fetch": {"POST": web_fetch},
    "/api/experimental/web_search": {"POST": web_search},
    "/api/experimental/web_fetch": {"POST": web_fetch},
}
