"""What every request carries that the caller did not pass per call: the
default headers (``User-Agent``, the caller's headers, HTTP Basic ``auth=``,
``OLLAMA_API_KEY``) and the proxy the environment names for the base URL.

Imports no aiohttp: only yarl's ``URL``, and ``_args`` for header checks.
"""

from __future__ import annotations

import base64
import os
import sys
import urllib.request
from collections.abc import Mapping

from yarl import URL

from .. import _args
from .._errors import RequestError
from .._version import __version__

__all__ = ["default_headers", "env_proxy", "user_agent"]


def user_agent() -> str:
    """``ollama-async/<ver> (<arch> <os>) Python/<ver>``, shaped like the
    official client's."""
    uname = os.uname() if hasattr(os, "uname") else None
    machine = uname.machine if uname else "unknown"
    system = uname.sysname.lower() if uname else sys.platform
    python = ".".join(map(str, sys.version_info[:3]))
    return f"ollama-async/{__version__} ({machine} {system}) Python/{python}"


def default_headers(
    headers: Mapping[str, str] | None, auth: tuple[str, str] | None = None
) -> dict[str, str]:
    """The caller's headers over ours, keyed case-insensitively (the caller's
    spelling wins); ``auth`` becomes HTTP Basic credentials, and
    ``OLLAMA_API_KEY`` a bearer token unless either set ``Authorization``."""
    merged = {"user-agent": ("User-Agent", user_agent())}
    for name, value in (headers or {}).items():
        merged[name.lower()] = _args.header(name, value)
    if auth is not None:
        if "authorization" in merged:
            raise RequestError("pass auth= or an Authorization header, not both")
        merged["authorization"] = ("Authorization", _basic_credentials(auth))
    api_key = os.environ.get("OLLAMA_API_KEY")
    if api_key and "authorization" not in merged:
        merged["authorization"] = _args.header(
            "Authorization", f"Bearer {api_key}", "OLLAMA_API_KEY"
        )
    return dict(merged.values())


def _basic_credentials(auth: object) -> str:
    """``Basic base64(user:password)`` (RFC 7617, UTF-8), as httpx sends for
    ``auth=(user, password)``; e.g. for Ollama behind a reverse proxy that
    asks for a login."""
    user, password = _args.basic_auth(auth)
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def env_proxy(base_url: str) -> URL | None:
    """The proxy ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` name for
    ``base_url`` unless ``NO_PROXY`` exempts it, read once, as httpx does when
    a client is made. (aiohttp's ``trust_env`` would read the environment and
    ``.netrc`` on a thread for every request.)"""
    url = URL(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(f"{url.host}:{url.port}"):
        return None
    return URL(proxy if "://" in proxy else f"http://{proxy}")
