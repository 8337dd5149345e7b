"""Redirects through the aiohttp transport, against the raw-bytes loopback
server: same-origin ones keep method, body and credentials as RFC 9110 says;
cross-origin ones are followed, as the official (httpx-based) client follows
them, but never carry ``Authorization`` (nor ``Cookie`` or
``Proxy-Authorization``); a ``Location`` that is not a usable http(s) URL is a
RemoteProtocolError that leaks no connection; at most five are followed."""

from __future__ import annotations

import asyncio
import gc
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_async import AsyncClient, ConnectError, RemoteProtocolError

from ._scripted import (
    _T,
    VERSION,
    Request,
    ServeFn,
    answer,
    client_for,
    keep_alive,
    read_request,
    response,
    until,
    until_closed,
)

KEY = "sk-redirect-secret"


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OLLAMA_API_KEY", KEY)
    return f"Bearer {KEY}"


@pytest.fixture
def no_resource_warnings() -> Iterator[None]:
    """Fails the test if an unclosed socket or response is collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]


def _acquired(client: AsyncClient) -> int:
    connector = client._transport.session().connector  # type: ignore[attr-defined]
    return len(connector._acquired)


def _redirect(status: str, location: str) -> bytes:
    return response(b"moved", status=status, headers=(f"Location: {location}",))


async def test_same_origin_redirects(scripted_server: ServeFn, api_key: str) -> None:
    def respond(request: Request) -> bytes:
        moves = {
            "/api/chat": ("307 Temporary Redirect", "/v2/api/chat"),
            "/v2/api/chat": ("308 Permanent Redirect", "{url}/v3/api/chat"),
            "/api/show": ("302 Found", "/api/show-get"),
            "/api/embed": ("301 Moved Permanently", "other/embed"),
            "/api/other/embed": ("303 See Other", "/api/tags?x=1"),
        }
        if request.target in moves:
            status, location = moves[request.target]
            return _redirect(status, location.format(url=server.url))
        if request.target == "/v3/api/chat":
            return response(
                b'{%s,"message":{"role":"assistant","content":"ok"},"done":true}'
                % _T.encode()
            )
        if request.target == "/api/show-get":
            return response(b'{"modelfile":"m"}')
        return response(b'{"model":"m","embeddings":[[1.5]]}')

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        reply = await client.chat("m", messages=[{"role": "user", "content": "hi"}])
        assert reply.message.content == "ok"
        assert (await client.show("m")).modelfile == "m"
        assert (await client.embed("m", "x")).embeddings == [[1.5]]
    seen = [(r.method, r.target, r.body[:9]) for r in server.requests]
    assert seen == [
        ("POST", "/api/chat", b'{"model":'),
        ("POST", "/v2/api/chat", b'{"model":'),  # 307: method and body kept
        ("POST", "/v3/api/chat", b'{"model":'),  # 308 to an absolute same-origin URL
        ("POST", "/api/show", b'{"model":'),
        ("GET", "/api/show-get", b""),  # 302 on POST becomes GET without body
        ("POST", "/api/embed", b'{"model":'),
        ("GET", "/api/other/embed", b""),  # relative Location, 301 on POST
        ("GET", "/api/tags?x=1", b""),  # 303
    ]
    assert "content-length" not in server.requests[4].headers
    assert all(r.headers["authorization"] == api_key for r in server.requests)
    assert server.accepted == 1  # redirect bodies were read and the connection kept


async def test_redirect_loop_is_bounded(scripted_server: ServeFn) -> None:
    def respond(request: Request) -> bytes:
        last = request.target.rpartition("/")[2]
        hop = int(last) if last.isdigit() else 0
        return _redirect("307 Temporary Redirect", f"/hop/{hop + 1}")

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match="more than 5 redirects"):
            await client.version()
        assert _acquired(client) == 0
    assert len(server.requests) == 6  # the request and 5 redirects followed


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("http://127.0.0.1:{other_port}/api/version", id="port"),
        pytest.param("http://localhost:{other_port}/api/version", id="host"),
        pytest.param("//127.0.0.1:{other_port}/api/version", id="scheme-relative"),
    ],
)
@pytest.mark.parametrize("status", ["301", "302", "303", "307", "308"])
async def test_cross_origin_redirect_drops_the_credentials(
    scripted_server: ServeFn, api_key: str, location: str, status: str
) -> None:
    """The target is reached; the key, the cookie and the proxy credentials
    stay behind."""
    other = await scripted_server(answer(VERSION))
    target = location.format(other_port=other.port)
    server = await scripted_server(answer(_redirect(f"{status} Moved", target)))
    own = {"Cookie": "session=1", "Proxy-Authorization": "Basic c2VjcmV0"}
    async with client_for(server.url, headers=own) as client:
        assert (await client.version()).version == "0.33.0"
    sent = server.requests[0].headers
    assert (sent["authorization"], sent["cookie"]) == (api_key, "session=1")
    [reached] = other.requests
    assert reached.target == "/api/version"
    assert {"authorization", "cookie", "proxy-authorization"}.isdisjoint(
        reached.headers
    )


async def test_redirect_to_https_drops_the_credentials(
    scripted_server: ServeFn,
    api_key: str,
    tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    """http:// to https:// on the same host is another origin too."""
    server_context, client_context = tls_contexts
    secure = await scripted_server(answer(VERSION), tls=server_context)
    target = f"https://127.0.0.1:{secure.port}/api/version"
    server = await scripted_server(answer(_redirect("308 Moved", target)))
    async with client_for(server.url, ssl=client_context) as client:
        assert (await client.version()).version == "0.33.0"
    assert server.requests[0].headers["authorization"] == api_key
    [reached] = secure.requests
    assert "authorization" not in reached.headers


_MALFORMED = [
    pytest.param("", id="empty"),
    pytest.param("http://[::1", id="unclosed-ipv6"),
    pytest.param("http://127.0.0.1:99999/api/version", id="port-out-of-range"),
    pytest.param("http://127.0.0.1:{port}:80/", id="two-ports"),
    pytest.param("http:///api/version", id="no-host"),
    pytest.param("https://", id="scheme-only"),
    pytest.param("ftp://127.0.0.1/api/version", id="ftp"),
    pytest.param("javascript:alert(1)", id="javascript"),
]


@pytest.mark.parametrize("location", _MALFORMED)
async def test_malformed_location(
    scripted_server: ServeFn, location: str, no_resource_warnings: None
) -> None:
    """A typed error at once, and no connection left acquired. The redirect's
    body ended cleanly, so its connection goes back to the pool and serves
    the next call."""

    def respond(request: Request) -> bytes:
        if request.target == "/api/version":
            return _redirect("302 Found", location.format(port=server.port))
        return response(b'{"models":[]}')

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match="redirect"):
            await client.version()
        assert _acquired(client) == 0
        assert (await client.list()).models == []
    assert [r.target for r in server.requests] == ["/api/version", "/api/tags"]


@pytest.mark.parametrize("location", _MALFORMED)
async def test_malformed_location_with_an_unended_body(
    scripted_server: ServeFn, location: str, no_resource_warnings: None
) -> None:
    """The same with a redirect body that never ends: its connection is
    closed (the server sees it), not pooled, not leaked."""

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(
            response(
                status="302 Found",
                headers=(
                    f"Location: {location.format(port=server.port)}",
                    "Transfer-Encoding: chunked",
                ),
                length=False,
            )
            + b"5\r\nmoved\r\n"
        )
        await writer.drain()
        await until_closed(reader)

    server = await scripted_server(handler)
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match="redirect"):
            await client.version()
        await until(lambda: server.eof == 1)
        assert _acquired(client) == 0


async def test_a_host_name_that_cannot_be_encoded(
    scripted_server: ServeFn, no_resource_warnings: None
) -> None:
    """A Location that parses but names a host with an empty label: our
    ConnectError (getaddrinfo's UnicodeError is not let through)."""
    server = await scripted_server(
        answer(_redirect("302 Found", "http://a..b/api/version"))
    )
    async with client_for(server.url) as client:
        with pytest.raises(ConnectError, match="host name"):
            await client.version()
        assert _acquired(client) == 0


@pytest.mark.parametrize(
    ("location", "reached"),
    [
        ("/api/a b", "/api/a%20b"),
        ("/api/tags?a b", "/api/tags?a+b"),
        ("/api/\x01", "/api/%01"),
        ("/api/%zz", "/api/%25zz"),
    ],
)
async def test_location_is_percent_encoded(
    scripted_server: ServeFn, location: str, reached: str
) -> None:
    """A Location with characters a request line cannot carry is encoded and
    followed (as browsers and httpx do), never written raw."""

    def respond(request: Request) -> bytes:
        if request.target == "/api/version":
            return _redirect("301 Moved Permanently", location)
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        assert (await client.version()).version == "0.33.0"
    assert [r.target for r in server.requests] == ["/api/version", reached]


async def test_redirect_under_path_prefix(scripted_server: ServeFn) -> None:
    def respond(request: Request) -> bytes:
        if request.target == "/ollama/api/version":
            return _redirect("308 Permanent Redirect", "/ollama/api/v2")
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url + "/ollama") as client:
        assert (await client.version()).version == "0.33.0"
    assert [r.target for r in server.requests] == [
        "/ollama/api/version",
        "/ollama/api/v2",
    ]


async def test_redirect_out_of_path_prefix_is_followed(
    scripted_server: ServeFn, api_key: str
) -> None:
    """Same origin, outside the base URL's path: followed (as httpx does),
    with the credentials, since the origin is the same."""

    def respond(request: Request) -> bytes:
        if request.target == "/ollama/api/version":
            return _redirect("308 Permanent Redirect", "/api/version")
        return VERSION

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url + "/ollama") as client:
        assert (await client.version()).version == "0.33.0"
    assert [r.target for r in server.requests] == [
        "/ollama/api/version",
        "/api/version",
    ]
    assert server.requests[1].headers["authorization"] == api_key


async def test_upload_not_replayed_on_redirect(
    scripted_server: ServeFn, blob_file: tuple[Path, str]
) -> None:
    """A 307 asks for the same body again: a streamed upload cannot be."""
    path, _ = blob_file

    def respond(request: Request) -> bytes:
        if request.method == "HEAD":
            return response(status="404 Not Found")
        return _redirect("307 Temporary Redirect", "/api/b2")

    server = await scripted_server(keep_alive(respond))
    async with client_for(server.url) as client:
        with pytest.raises(RemoteProtocolError, match="not followed"):
            await client.create_blob(path)
        assert _acquired(client) == 0
    assert [r.method for r in server.requests] == ["HEAD", "POST"]
    assert server.requests[1].body == path.read_bytes()


async def test_redirects_not_followed_when_disabled(scripted_server: ServeFn) -> None:
    server = await scripted_server(answer(_redirect("307 Temporary Redirect", "/x")))
    async with client_for(server.url, follow_redirects=False) as client:
        with pytest.raises(RemoteProtocolError, match="follow_redirects=False"):
            await client.version()
    assert len(server.requests) == 1
