"""The ollama.com side of the emulator's account routes: the accounts it can
be signed in as (`FakeUser`), what can turn its cloud features off, and the
server's own identity (its public key and sign-in URL). Plain data: imports
only the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Final, Literal, cast, get_args
from urllib.parse import quote

__all__ = [
    "CLOUD_SOURCES",
    "HOSTNAME",
    "PUBLIC_KEY",
    "SIGNIN_URL",
    "CloudSource",
    "FakeUser",
    "as_user",
    "check_cloud_source",
]

CloudSource = Literal["env", "config", "both"]
"""What disabled cloud features: ``OLLAMA_NO_CLOUD``, ``disable_ollama_cloud`` in
``~/.ollama/server.json``, or both."""
CLOUD_SOURCES: Final[tuple[str, ...]] = get_args(CloudSource)

HOSTNAME: Final = "fake-ollama"
"""What the sign-in URL names as the machine (Go: ``os.Hostname()``)."""
_KEY_BYTES: Final = (
    b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
    + hashlib.sha256(HOSTNAME.encode()).digest()
)
PUBLIC_KEY: Final = "ssh-ed25519 " + base64.b64encode(_KEY_BYTES).decode()
"""The server's public key, as ``~/.ollama/id_ed25519.pub`` holds it."""
SIGNIN_URL: Final = (
    f"https://ollama.com/connect?name={quote(HOSTNAME, safe='')}"
    f"&key={base64.urlsafe_b64encode(PUBLIC_KEY.encode()).decode().rstrip('=')}"
)
"""The ``signin_url`` of a 401 from ``/api/me``: the host name path-escaped, the
public key in unpadded base64url (Go's ``signinURL`` in ``server/routes.go``)."""


@dataclass(kw_only=True)
class FakeUser:
    """An ollama.com account the emulator can be signed in as.

    Only ``name`` is required. ``email`` defaults to ``<name>@example.com`` and
    ``id`` to a UUID derived from the name. An empty ``name`` makes ``/api/me``
    answer 401, as Ollama does when ollama.com returns a nameless user; an empty
    ``plan`` is reported as ``"free"``, as Ollama does.
    """

    name: str
    email: str | None = None
    id: str | None = None
    bio: str = ""
    avatar_url: str = ""
    first_name: str = ""
    last_name: str = ""
    plan: str = "free"

    def __post_init__(self) -> None:
        if self.email is None:
            self.email = f"{self.name}@example.com"
        # Go's uuid.UUID: the canonical lowercase form whatever was given.
        self.id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"https://ollama.com/{self.name}")
            if self.id is None
            else uuid.UUID(self.id)
        )

    def me_entry(self) -> dict[str, Any]:
        """The ``/api/me`` body: Go's ``UserResponse``, empty optionals omitted."""
        body: dict[str, Any] = {"id": self.id, "email": self.email, "name": self.name}
        optional = {
            "bio": self.bio,
            "avatarurl": self.avatar_url,
            "firstname": self.first_name,
            "lastname": self.last_name,
        }
        body.update((k, v) for k, v in optional.items() if v)
        body["plan"] = self.plan if self.plan.strip() else "free"
        return body


def as_user(user: FakeUser | str | None) -> FakeUser | None:
    """``FakeOllama(user=...)``: a name is shorthand for ``FakeUser(name=...)``."""
    return FakeUser(name=user) if isinstance(user, str) else user


def check_cloud_source(source: str | None) -> CloudSource | None:
    """Validate ``cloud_disabled_by``; ValueError names the allowed values."""
    if source is not None and source not in CLOUD_SOURCES:
        raise ValueError(
            f"cloud_disabled_by must be None or one of {CLOUD_SOURCES}, got {source!r}"
        )
    return cast("CloudSource | None", source)
