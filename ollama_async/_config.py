"""Configuration values: :class:`Timeout`, :class:`Limits`,
:class:`AdaptiveConcurrency`, :class:`Telemetry`, and the resolution of
``OLLAMA_HOST`` into a base URL. Pure; must not import aiohttp or
OpenTelemetry."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import Any

from . import _args
from ._errors import RequestError

__all__ = [
    "DEFAULT_HOST",
    "AdaptiveConcurrency",
    "Limits",
    "Telemetry",
    "Timeout",
    "host_source",
    "resolve_host",
]

DEFAULT_HOST = "http://127.0.0.1:11434"
_DEFAULT_PORT = 11434
_SCHEME_PORTS = {"http": 80, "https": 443}
# A DNS name or IPv4 address: letters, digits, dots, hyphens, underscores.
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
# "http//host", "http:/host", "http:host": a scheme that lost part of its
# "://". Go's envconfig would read "http" as the host name; refused instead.
_BROKEN_SCHEME = re.compile(r"(?i)(https?)(//|:/(?!/)|:(?![/\d]))")
# Path prefix characters that cannot change the request's target.
_PATH = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)*")


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeout:
    """Timeouts in seconds; ``None`` disables one.

    The defaults suit Ollama: a bounded ``connect``; a ``first_byte`` allowance
    longer than the server's own 5-minute model-load timeout, so a cold load
    ends with the server's message rather than ours; an inactivity limit
    between chunks (``read``); and no ``total``, because generations and pulls
    run for as long as they run.
    """

    connect: float | None = 10.0
    """Establishing the TCP (and TLS) connection."""
    first_byte: float | None = 330.0
    """From sending the request to the response headers (model load time)."""
    read: float | None = 300.0
    """Longest silence between two pieces of the body."""
    total: float | None = None
    """The whole call, body included."""
    pool: float | None = None
    """Waiting for a free connection when all ``Limits.max_connections`` are
    busy (``None``: as long as it takes, as a batch job wants)."""

    def __post_init__(self) -> None:
        for name in ("connect", "first_byte", "read", "total", "pool"):
            _args.seconds(name, getattr(self, name))

    @classmethod
    def of(cls, value: Timeout | float | None) -> Timeout:
        """A ``Timeout`` from a number (every phase but ``total``), ``None``
        (no timeouts at all, as in the official client) or a ``Timeout``."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(connect=None, first_byte=None, read=None, total=None)
        _args.seconds("timeout", value, optional=False)
        return cls(connect=value, first_byte=value, read=value, total=None, pool=value)


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Connection pool limits."""

    max_connections: int | None = 100
    """Open connections in all; ``None`` for no limit."""
    max_connections_per_host: int | None = None
    """Open connections to one host; ``None`` for no limit."""
    keepalive_expiry: float = 15.0
    """Seconds an idle connection is kept for reuse."""

    def __post_init__(self) -> None:
        for name in ("max_connections", "max_connections_per_host"):
            _args.positive_int(name, getattr(self, name), optional=True)
        _args.seconds("keepalive_expiry", self.keepalive_expiry)


def _bracket_ipv6(host: str, original: str) -> str:
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        raise RequestError(f"invalid IPv6 address in host {original!r}") from None
    if address.is_unspecified:
        return "[::1]"
    return f"[{host}]"


def _split_port(hostport: str, original: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise RequestError(f"unclosed '[' in host {original!r}")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise RequestError(f"unexpected {rest!r} after ']' in host {original!r}")
        port_text = rest[1:] if rest else None
        return _bracket_ipv6(host[1:-1], original), _port(port_text, original)
    if hostport.count(":") > 1:  # a bare IPv6 address: bracket it, as Go does
        return _bracket_ipv6(hostport, original), None
    host, _, port_text = hostport.partition(":")
    return host, _port(port_text if ":" in hostport else None, original)


def _port(text: str | None, original: str) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise RequestError(f"invalid port {text!r} in host {original!r}")
    return int(text)


def resolve_host(host: str | None = None) -> str:
    """The base URL for ``host``, else ``$OLLAMA_HOST``, else the default.

    Accepts every form Ollama does (``host``, ``host:port``, ``:port``,
    ``http(s)://host[:port][/prefix]``, bare or bracketed IPv6). Bind-all
    addresses (``0.0.0.0``, ``::``) become loopback, since a client cannot
    connect to them. Raises :class:`RequestError` for anything that is not a
    plain base URL.
    """
    if host is not None:
        return _resolve(host)
    try:
        return _resolve(os.environ.get("OLLAMA_HOST", ""))
    except RequestError as exc:
        raise RequestError(f"OLLAMA_HOST: {exc}") from None


def host_source(host: str | None = None) -> str:
    """Where :func:`resolve_host` takes the address for ``host`` from, as
    error messages name it: the ``host`` argument, ``OLLAMA_HOST``, or the
    default when neither gives one."""
    if host is not None:
        given = not isinstance(host, str) or host.strip().strip("\"'").strip()
        return "the host argument" if given else "the default (host is empty)"
    if os.environ.get("OLLAMA_HOST", "").strip().strip("\"'").strip():
        return "OLLAMA_HOST"
    return "the default (neither host nor OLLAMA_HOST is set)"


def _resolve(host: object) -> str:
    if not isinstance(host, str):
        raise RequestError(f"host must be a string, got {type(host).__name__}")
    original = host
    host = host.strip().strip("\"'").strip()
    if not host:
        return DEFAULT_HOST
    if any(ord(c) < 33 or ord(c) == 127 for c in host):
        raise RequestError(
            f"host {original!r} contains whitespace or control characters"
        )

    scheme, sep, rest = host.partition("://")
    if sep:
        scheme = scheme.lower()
        if scheme not in _SCHEME_PORTS:
            raise RequestError(f"unsupported scheme {scheme!r} in host {original!r}")
        default_port = _SCHEME_PORTS[scheme]
    else:
        broken = _BROKEN_SCHEME.match(host)
        if broken:
            fixed = f"{broken.group(1).lower()}://{host[broken.end() :]}"
            raise RequestError(
                f"malformed host {original!r}: the scheme must be followed by "
                f"'://' (did you mean {fixed!r}?)"
            )
        scheme, rest, default_port = "http", host, _DEFAULT_PORT

    hostport, slash, path = rest.partition("/")
    path = (slash + path).rstrip("/")
    if "@" in hostport or "?" in rest or "#" in rest:
        raise RequestError(
            f"host {original!r} must not carry credentials, query or fragment"
        )
    if not _PATH.fullmatch(path) or "/../" in path + "/" or "/./" in path + "/":
        raise RequestError(f"invalid path prefix {path!r} in host {original!r}")

    name, port = _split_port(hostport, original)
    if not name:
        name = "127.0.0.1"
    elif not name.startswith("["):
        if not _HOSTNAME.fullmatch(name):
            raise RequestError(f"invalid host name {name!r} in host {original!r}")
        if name == "0.0.0.0":
            name = "127.0.0.1"
        elif not sep and port is None and name.lower() == "ollama.com":
            # Go's envconfig treats a bare ollama.com (no scheme, no port) as
            # its HTTPS API; "ollama.com:11434" stays a plain host:port.
            scheme, default_port = "https", 443
    return f"{scheme}://{name}:{port or default_port}{path}"


@dataclass(frozen=True, kw_only=True, slots=True)
class AdaptiveConcurrency:
    """How many requests :class:`MultiHostClient` lets run on one host at once,
    adapted to what the host takes (additive increase, multiplicative
    decrease, as TCP does for its window).

    Each host starts at ``initial``. Every answer from a host that was using
    its whole allowance raises it by ``1 / allowance`` (about one more per
    round of answers), up to ``maximum``. A 503 ("server busy") or 429, or a
    time to first byte ``latency_tolerance`` times the host's usual one (its
    queue is growing), multiplies it by ``decrease``, at most once per round
    of requests, down to ``minimum``. Requests beyond every host's allowance
    wait in the client, in order, instead of piling up in the servers' queues:
    many processes sharing one fleet settle at what the hosts can take.
    """

    initial: int = 4
    """Requests at once on a host before anything is known of it."""
    minimum: int = 1
    """The allowance never goes below this."""
    maximum: int = 256
    """The allowance never goes above this."""
    decrease: float = 0.5
    """Factor applied to the allowance on a sign of overload."""
    latency_tolerance: float | None = 2.0
    """How many times its usual time to first byte a host may take before
    that counts as overload; ``None`` reacts to 503 and 429 only."""

    def __post_init__(self) -> None:
        for name in ("initial", "minimum", "maximum"):
            _args.positive_int(name, getattr(self, name))
        if not self.minimum <= self.initial <= self.maximum:
            raise RequestError(
                "AdaptiveConcurrency needs minimum <= initial <= maximum, got "
                f"{self.minimum}, {self.initial}, {self.maximum}"
            )
        _args.fraction("decrease", self.decrease)
        _args.multiplier("latency_tolerance", self.latency_tolerance, optional=True)


@dataclass(frozen=True, kw_only=True)
class Telemetry:
    """OpenTelemetry spans and metrics for a client's calls, named as the
    OpenTelemetry semantic conventions for generative AI name them.

    On when ``opentelemetry-api`` is installed (the ``otel`` extra): each
    call then makes a span and records its metrics through the global
    providers, which do nothing until an SDK is configured. Off
    (``Telemetry(enabled=False)``, or ``telemetry=False`` on the client),
    nothing of OpenTelemetry is imported and nothing is measured.
    """

    enabled: bool = True
    """Whether calls are traced and measured at all."""
    capture_content: bool | None = None
    """Record prompts and answers on spans (``gen_ai.input.messages``,
    ``gen_ai.output.messages``, ``gen_ai.system_instructions``). ``None``
    reads ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (``true``
    captures), as OpenTelemetry's own GenAI instrumentations do; off when
    unset. Streamed answers are then gathered chunk by chunk."""
    tracer_provider: Any = field(default=None, compare=False)
    """A ``TracerProvider`` to use instead of the global one."""
    meter_provider: Any = field(default=None, compare=False)
    """A ``MeterProvider`` to use instead of the global one."""

    def __post_init__(self) -> None:
        _args.flag("enabled", self.enabled)
        if self.capture_content is not None:
            _args.flag("capture_content", self.capture_content)

    @classmethod
    def of(cls, value: Telemetry | bool) -> Telemetry:  # noqa: FBT001 - its two forms
        """A client's ``telemetry=`` argument as a :class:`Telemetry`."""
        if isinstance(value, Telemetry):
            return value
        _args.flag("telemetry", value)
        return _ON if value else _OFF

    def __reduce__(self) -> tuple[Any, ...]:
        # Providers hold exporters and threads of this process: a pickled
        # client (a Ray or Dask worker) uses the worker's global providers.
        return (_telemetry, (self.enabled, self.capture_content))


def _telemetry(enabled: bool, capture_content: bool | None) -> Telemetry:  # noqa: FBT001
    return Telemetry(enabled=enabled, capture_content=capture_content)


_ON = Telemetry()
_OFF = Telemetry(enabled=False)
