"""CORS as Ollama answers it: gin-contrib/cors with Ollama's configuration.

Ollama (``server/routes.go``) runs ``cors.New`` ahead of every route, with
``AllowWildcard``, its own ``AllowHeaders`` (the OpenAI SDKs' ``x-stainless-*``
among them) and ``envconfig.AllowedOrigins()``: localhost, 127.0.0.1 and
0.0.0.0 over http and https, on any port, plus the ``app://``, ``file://``,
``tauri://``, ``vscode-webview://`` and ``vscode-file://`` schemes (the
emulator has no ``OLLAMA_ORIGINS``). A request whose ``Origin`` is not allowed
gets 403 with an empty body; an ``OPTIONS`` request from an allowed origin is a
preflight, answered 204 on any path. Imports multidict and the standard library.
"""

from __future__ import annotations

from typing import Final

from multidict import CIMultiDict

_LOCAL: Final = ("localhost", "127.0.0.1", "0.0.0.0")
ORIGINS: Final = (
    *(
        f"{scheme}://{host}{port}"
        for host in _LOCAL
        for port in ("", ":*")
        for scheme in ("http", "https")
    ),
    *("app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"),
)
"""``envconfig.AllowedOrigins()`` without ``OLLAMA_ORIGINS``."""

_HEADERS: Final = (
    "Authorization",
    "Content-Type",
    "User-Agent",
    "Accept",
    "X-Requested-With",
    "OpenAI-Beta",
    "x-stainless-arch",
    "x-stainless-async",
    "x-stainless-custom-poll-interval",
    "x-stainless-helper-method",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-poll-helper",
    "x-stainless-retry-count",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-timeout",
)
ALLOW_METHODS: Final = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
# gin-contrib/cors lower-cases the names, then writes them as Go's
# http.CanonicalHeaderKey does ("OpenAI-Beta" becomes "Openai-Beta").
ALLOW_HEADERS: Final = ",".join(
    "-".join(part.capitalize() for part in name.lower().split("-")) for name in _HEADERS
)
MAX_AGE: Final = str(12 * 3600)


def _wildcard_rules() -> list[tuple[str, str]]:
    """gin-contrib/cors's ``parseWildcardRules`` (a trailing ``*`` drops the
    character before it too: ``http://localhost:*`` allows any origin that
    starts with ``http://localhost``)."""
    rules = []
    for origin in ORIGINS:
        star = origin.find("*")
        if star < 0:
            continue
        if star == 0:
            rules.append(("*", origin[1:]))
        elif star == len(origin) - 1:
            rules.append((origin[: star - 1], "*"))
        else:
            rules.append((origin[:star], origin[star + 1 :]))
    return rules


_RULES: Final = _wildcard_rules()


def allowed(origin: str) -> bool:
    """Whether Ollama accepts a cross-origin request from ``origin``."""
    if origin in ORIGINS:
        return True
    for head, tail in _RULES:
        if head == "*" and origin.endswith(tail):
            return True
        if tail == "*" and origin.startswith(head):
            return True
        if origin.startswith(head) and origin.endswith(tail):
            return True
    return False


def is_cross_origin(origin: str | None, host: str) -> bool:
    """A CORS request: an ``Origin`` other than this very server's."""
    return bool(origin) and origin not in (f"http://{host}", f"https://{host}")


def preflight_headers(origin: str) -> CIMultiDict[str]:
    """The headers of Ollama's 204 answer to a preflight from ``origin``."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    headers["Access-Control-Max-Age"] = MAX_AGE
    headers.add("Vary", "Origin")
    headers.add("Vary", "Access-Control-Request-Method")
    headers.add("Vary", "Access-Control-Request-Headers")
    headers["Access-Control-Allow-Origin"] = origin
    return headers


def response_headers(origin: str) -> dict[str, str]:
    """The headers added to any other answer to an allowed ``origin``."""
    return {"Vary": "Origin", "Access-Control-Allow-Origin": origin}
