"""Host resolution (every row of the wire reference's section 9 and more) and
the Timeout / Limits value objects, through the public API."""

from __future__ import annotations

import dataclasses
import math

import pytest

from ollama_async import AsyncClient, Limits, RequestError, Timeout
from ollama_async._config import host_source


def base_url(host: str | None) -> str:
    return AsyncClient(host).base_url


@pytest.fixture(autouse=True)
def _no_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)


# -- section 9 of the reference, row by row ------------------------------------

REFERENCE_TABLE = [
    pytest.param("", "http://127.0.0.1:11434", id="empty"),
    pytest.param("example.com", "http://example.com:11434", id="host"),
    pytest.param("example.com:1234", "http://example.com:1234", id="host:port"),
    pytest.param(":1234", "http://127.0.0.1:1234", id=":port"),
    pytest.param("http://example.com", "http://example.com:80", id="http-default-80"),
    pytest.param(
        "https://example.com", "https://example.com:443", id="https-default-443"
    ),
    pytest.param(
        "https://example.com:8443/path/",
        "https://example.com:8443/path",
        id="https-port-path-trailing-slash",
    ),
    pytest.param("example.com/path", "http://example.com:11434/path", id="host/path"),
    pytest.param("[::1]", "http://[::1]:11434", id="bracketed-ipv6"),
    pytest.param("[::1]:11434", "http://[::1]:11434", id="bracketed-ipv6-port"),
    pytest.param("::1", "http://[::1]:11434", id="bare-ipv6-bracketed"),
    pytest.param("0.0.0.0", "http://127.0.0.1:11434", id="bind-all-v4"),
    pytest.param("0.0.0.0:5000", "http://127.0.0.1:5000", id="bind-all-v4-port"),
    pytest.param("[::]", "http://[::1]:11434", id="bind-all-v6"),
    pytest.param("[::]:5000", "http://[::1]:5000", id="bind-all-v6-port"),
    pytest.param("ollama.com", "https://ollama.com:443", id="bare-ollama.com"),
]

MORE_FORMS = [
    pytest.param("localhost", "http://localhost:11434", id="localhost"),
    pytest.param("10.0.0.7", "http://10.0.0.7:11434", id="ipv4"),
    pytest.param("http://10.0.0.7:8080", "http://10.0.0.7:8080", id="http-ipv4-port"),
    pytest.param("HTTPS://Example.com", "https://Example.com:443", id="scheme-case"),
    pytest.param("https://:8443", "https://127.0.0.1:8443", id="https-empty-host"),
    pytest.param("::", "http://[::1]:11434", id="bare-bind-all-v6"),
    pytest.param("2001:db8::7", "http://[2001:db8::7]:11434", id="bare-ipv6-global"),
    pytest.param("[2001:db8::7]:8080", "http://[2001:db8::7]:8080", id="ipv6-port"),
    pytest.param("http://[::1]/ollama", "http://[::1]:80/ollama", id="ipv6-path"),
    pytest.param("https://h:8443/a/b/", "https://h:8443/a/b", id="nested-prefix"),
    pytest.param("http://h//", "http://h:80", id="only-slashes"),
    pytest.param("http://h/", "http://h:80", id="trailing-slash"),
    pytest.param(
        "http://ollama.com", "http://ollama.com:80", id="ollama.com-with-scheme"
    ),
    pytest.param("OLLAMA.COM", "https://OLLAMA.COM:443", id="ollama.com-case"),
    # Only a bare ollama.com means its HTTPS API (Go's envconfig); with a port
    # it is an ordinary host.
    pytest.param("ollama.com:11434", "http://ollama.com:11434", id="ollama.com-port"),
    pytest.param("ollama.com:443", "http://ollama.com:443", id="ollama.com-port-443"),
    pytest.param("my_host.local", "http://my_host.local:11434", id="underscore"),
    pytest.param("h:65535", "http://h:65535", id="max-port"),
    pytest.param("h:1", "http://h:1", id="min-port"),
]

TRIMMED = [
    pytest.param("  example.com  ", "http://example.com:11434", id="spaces"),
    pytest.param("\texample.com\n", "http://example.com:11434", id="tab-newline"),
    pytest.param('"example.com:1"', "http://example.com:1", id="double-quotes"),
    pytest.param("'example.com:1'", "http://example.com:1", id="single-quotes"),
    pytest.param(' "http://h/p/" ', "http://h:80/p", id="spaces-around-quotes"),
    pytest.param('""', "http://127.0.0.1:11434", id="empty-quotes"),
    pytest.param("   ", "http://127.0.0.1:11434", id="blank"),
]


@pytest.mark.parametrize(("host", "expected"), REFERENCE_TABLE + MORE_FORMS + TRIMMED)
def test_host_argument(host: str, expected: str) -> None:
    assert base_url(host) == expected


@pytest.mark.parametrize(("host", "expected"), REFERENCE_TABLE + MORE_FORMS + TRIMMED)
def test_ollama_host_env(
    monkeypatch: pytest.MonkeyPatch, host: str, expected: str
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    assert base_url(None) == expected


def test_default_without_env() -> None:
    assert base_url(None) == "http://127.0.0.1:11434"
    assert AsyncClient().base_url == "http://127.0.0.1:11434"


def test_explicit_host_overrides_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "envhost:1")
    assert base_url("arghost:2") == "http://arghost:2"
    assert base_url(None) == "http://envhost:1"


def test_empty_host_argument_is_the_default_not_the_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "" is an explicit argument meaning "the default", as in the official client.
    monkeypatch.setenv("OLLAMA_HOST", "envhost:1")
    assert base_url("") == "http://127.0.0.1:11434"


def test_invalid_env_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "ftp://h")
    with pytest.raises(RequestError, match="unsupported scheme 'ftp'") as info:
        AsyncClient()
    # The message says where the bad value came from.
    assert str(info.value).startswith("OLLAMA_HOST: ")
    with pytest.raises(RequestError) as info:
        AsyncClient("ftp://h")
    assert not str(info.value).startswith("OLLAMA_HOST")


@pytest.mark.parametrize(
    ("host", "env", "source"),
    [
        pytest.param("h:1", "e:2", "the host argument", id="argument-over-env"),
        pytest.param(None, "e:2", "OLLAMA_HOST", id="env"),
        pytest.param(None, ' "" ', "the default (neither", id="env-blank"),
        pytest.param(None, None, "the default (neither", id="neither"),
        pytest.param("", "e:2", "the default (host is empty)", id="empty-argument"),
    ],
)
def test_host_source_names_where_the_address_came_from(
    monkeypatch: pytest.MonkeyPatch, host: str | None, env: str | None, source: str
) -> None:
    # What a failed connection's message says (tests/transport/
    # test_connect_message.py checks it over loopback).
    if env is not None:
        monkeypatch.setenv("OLLAMA_HOST", env)
    assert host_source(host).startswith(source)


INVALID = [
    pytest.param("h:0", id="port-zero"),
    pytest.param("h:65536", id="port-too-big"),
    pytest.param("h:-1", id="port-negative"),
    pytest.param("h:abc", id="port-letters"),
    pytest.param("h:", id="port-empty"),
    pytest.param("h:\uff18\uff10", id="port-fullwidth-digits"),
    pytest.param("http://h:1:2", id="two-ports"),
    pytest.param("ftp://h", id="scheme-ftp"),
    pytest.param("ws://h", id="scheme-ws"),
    pytest.param("unix:///tmp/ollama.sock", id="scheme-unix"),
    pytest.param("http://user:pw@h", id="credentials"),
    pytest.param("http://h/p?q=1", id="query"),
    pytest.param("http://h/p#frag", id="fragment"),
    pytest.param("a b", id="inner-space"),
    pytest.param("h\r\nX-Injected: 1", id="crlf"),
    pytest.param("h\x00", id="nul"),
    pytest.param("[::1", id="unclosed-bracket"),
    pytest.param("[::1]x", id="junk-after-bracket"),
    pytest.param("[nope]", id="bracketed-not-ipv6"),
    pytest.param("1:2:3:zz::", id="bare-not-ipv6"),
    pytest.param("-h", id="leading-hyphen"),
    pytest.param("h!", id="bad-char"),
    pytest.param("http://h/a/../b", id="dot-dot-path"),
    pytest.param("http://h/a/./b", id="dot-path"),
    pytest.param("http://h/a b", id="space-in-path"),
]


@pytest.mark.parametrize("host", INVALID)
def test_invalid_host_raises_request_error(host: str) -> None:
    with pytest.raises(RequestError) as info:
        AsyncClient(host)
    assert isinstance(info.value, ValueError)  # RequestError is also a ValueError
    assert info.value.error == str(info.value)


@pytest.mark.parametrize("host", [123, b"h", ["h"]], ids=["int", "bytes", "list"])
def test_non_str_host_raises(host: object) -> None:
    with pytest.raises(RequestError, match="host must be a string"):
        AsyncClient(host)  # type: ignore[arg-type]


def test_error_names_the_offending_host() -> None:
    with pytest.raises(RequestError, match="h:99999"):
        AsyncClient("h:99999")


# -- Timeout -------------------------------------------------------------------


def test_timeout_defaults_suit_ollama() -> None:
    t = Timeout()
    assert t.connect is not None and t.connect <= 60  # bounded connect
    assert t.total is None  # generations and pulls run long
    assert t.first_byte is not None and t.first_byte > 300  # > server load timeout
    assert t.read is not None and t.read >= 60
    assert AsyncClient().timeout == t


def test_timeout_of_number_sets_every_phase_but_total() -> None:
    assert Timeout.of(5) == Timeout(connect=5, first_byte=5, read=5, total=None, pool=5)
    assert Timeout.of(2.5).read == 2.5


def test_timeout_of_none_disables_everything() -> None:
    assert Timeout.of(None) == Timeout(
        connect=None, first_byte=None, read=None, total=None
    )


def test_timeout_of_timeout_is_itself() -> None:
    t = Timeout(read=1)
    assert Timeout.of(t) is t


def test_client_timeout_argument() -> None:
    assert AsyncClient(timeout=7).timeout == Timeout.of(7)
    assert AsyncClient(timeout=None).timeout == Timeout.of(None)
    custom = Timeout(connect=1, read=None)
    assert AsyncClient(timeout=custom).timeout is custom


@pytest.mark.parametrize("field", ["connect", "first_byte", "read", "total"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param(math.inf, id="inf"),
        pytest.param(math.nan, id="nan"),
    ],
)
def test_timeout_rejects_bad_numbers(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Timeout(**{field: value})


@pytest.mark.parametrize("field", ["connect", "first_byte", "read", "total"])
@pytest.mark.parametrize(
    "value",
    [pytest.param("5", id="str"), pytest.param(True, id="bool")],
)
def test_timeout_rejects_non_numbers(field: str, value: object) -> None:
    with pytest.raises(RequestError, match=field):
        Timeout(**{field: value})


def test_timeout_of_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        Timeout.of(0)
    with pytest.raises(RequestError):
        Timeout.of("5")  # type: ignore[arg-type]


def test_timeout_is_frozen_and_keyword_only() -> None:
    t = Timeout()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.read = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        Timeout(1)  # type: ignore[misc]
    assert "read=300" in repr(t)


# -- Limits --------------------------------------------------------------------


def test_limits_defaults() -> None:
    limits = Limits()
    assert limits.max_connections == 100
    assert limits.max_connections_per_host is None
    assert limits.keepalive_expiry > 0


def test_limits_accept_none_for_no_limit() -> None:
    limits = Limits(max_connections=None, max_connections_per_host=None)
    assert limits.max_connections is None


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"max_connections": 0}, id="zero-connections"),
        pytest.param({"max_connections": -5}, id="negative-connections"),
        pytest.param({"max_connections": 1.5}, id="float-connections"),
        pytest.param({"max_connections": True}, id="bool-connections"),
        pytest.param({"max_connections_per_host": 0}, id="zero-per-host"),
        pytest.param({"max_connections_per_host": "4"}, id="str-per-host"),
        pytest.param({"keepalive_expiry": 0}, id="zero-keepalive"),
        pytest.param({"keepalive_expiry": math.inf}, id="inf-keepalive"),
    ],
)
def test_limits_reject_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        Limits(**kwargs)  # type: ignore[arg-type]


def test_client_rejects_non_limits() -> None:
    with pytest.raises(RequestError, match="Limits"):
        AsyncClient(limits={"max_connections": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["max_line_size", "max_body_size"])
@pytest.mark.parametrize(
    "value", [0, -1, 1.5, True], ids=["zero", "neg", "float", "bool"]
)
def test_client_rejects_bad_size_caps(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        AsyncClient(**{name: value})  # type: ignore[arg-type]
