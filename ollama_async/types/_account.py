"""The server's cloud status (``GET /api/status``) and the ollama.com account it is
signed in as (``POST /api/me``). ``POST /api/signout`` answers ``null``: no type.

Must not import aiohttp.
"""

from __future__ import annotations

from msgspec import field

from ._base import Model

__all__ = ["CloudStatus", "ServerStatus", "UserResponse"]


class CloudStatus(Model, kw_only=True, gc=False):
    """Whether the server's ollama.com features (cloud models, web search) are off."""

    disabled: bool
    """True when ``OLLAMA_NO_CLOUD`` or ``disable_ollama_cloud`` in
    ``~/.ollama/server.json`` turned cloud features off."""
    source: str | None = None
    """What disabled them: ``"none"``, ``"env"``, ``"config"`` or ``"both"``."""


class ServerStatus(Model, kw_only=True, gc=False):
    """Reply of ``GET /api/status`` (Go's ``StatusResponse``)."""

    cloud: CloudStatus


class UserResponse(Model, kw_only=True, gc=False):
    """The ollama.com account the server is signed in as (``POST /api/me``)."""

    id: str | None = None
    """A UUID, e.g. ``"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"``."""
    email: str | None = None
    name: str = ""
    """The ollama.com user name; never empty in a reply of the local server,
    which answers 401 instead (Go clients read an empty name as signed out)."""
    bio: str | None = None
    avatar_url: str | None = field(default=None, name="avatarurl")
    """May be a path relative to https://ollama.com."""
    first_name: str | None = field(default=None, name="firstname")
    last_name: str | None = field(default=None, name="lastname")
    plan: str | None = None
    """E.g. ``"free"`` or ``"pro"``; the local server sends ``"free"`` when
    ollama.com sent none."""
