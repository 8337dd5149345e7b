"""The loopback Host check of Ollama's server: bound to a loopback address,
it answers 403 with an empty body to a request whose ``Host`` header does not
name a local host (a DNS-rebinding guard)."""

from __future__ import annotations

import ipaddress
import socket
from functools import cache

__all__ = ["is_local_host", "is_loopback_bind"]

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")


@cache
def _own_hostname() -> str:
    return socket.gethostname().lower()


def is_loopback_bind(host: str) -> bool:
    """Whether a listening address is loopback-only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_local_host(header: str | None) -> bool:
    """Whether a ``Host`` header names this machine or a private network."""
    if not header:
        return True  # HTTP/1.0 without Host: nothing to rebind
    host = header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    if host in ("localhost", _own_hostname()) or host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified
