"""The server routes no other Python client offers, through the public API
against the emulator on loopback: heartbeat (HEAD /), status, me, signout, and
show with system/options."""

from __future__ import annotations

import pytest

from ollama_async import (
    AsyncClient,
    AuthenticationError,
    ConnectError,
    MultiHostClient,
    RequestError,
    Retry,
    ServerError,
    ServerStatus,
    UserResponse,
)
from ollama_async.testing import FakeOllama, Fault


async def test_heartbeat_is_a_bodiless_head_of_the_root(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    assert await client.heartbeat() is None
    sent = fake_ollama.requests[-1]
    assert (sent.method, sent.path, sent.body) == ("HEAD", "/", b"")


async def test_heartbeat_raises_when_nothing_listens() -> None:
    async with FakeOllama() as server:
        url = server.url
    async with AsyncClient(url, retry=None) as client:
        with pytest.raises(ConnectError):
            await client.heartbeat(timeout=2)


async def test_status_reports_cloud_on_by_default(client: AsyncClient) -> None:
    status = await client.status()
    assert isinstance(status, ServerStatus)
    assert status.cloud.disabled is False
    assert status.cloud.source == "none"
    assert status["cloud"]["disabled"] is False  # the mapping view


@pytest.mark.parametrize("source", ["env", "config", "both"])
async def test_status_says_what_turned_cloud_off(source: str) -> None:
    async with (
        FakeOllama(cloud_disabled_by=source) as server,  # type: ignore[arg-type]
        AsyncClient(server.url) as client,
    ):
        status = await client.status()
    assert status.cloud.disabled is True
    assert status.cloud.source == source


async def test_me_returns_the_signed_in_account() -> None:
    async with FakeOllama(user="alice") as server, AsyncClient(server.url) as client:
        user = await client.me()
        sent = server.requests[-1]
    assert isinstance(user, UserResponse)
    assert user.name == "alice"
    assert user.email == "alice@example.com"
    assert user.plan == "free"
    assert (sent.method, sent.path, sent.body) == ("POST", "/api/me", b"")


async def test_me_signed_out_raises_with_the_signin_url(client: AsyncClient) -> None:
    with pytest.raises(AuthenticationError) as info:
        await client.me()
    assert info.value.status_code == 401
    assert info.value.error == "unauthorized"
    assert info.value.signin_url is not None
    assert info.value.signin_url.startswith("https://ollama.com/connect?name=")


async def test_signout_signs_out_and_a_second_signout_raises() -> None:
    async with FakeOllama(user="alice") as server, AsyncClient(server.url) as client:
        assert await client.signout() is None
        assert server.user is None
        with pytest.raises(
            AuthenticationError, match="not currently signed in"
        ) as info:
            await client.signout()
        assert info.value.signin_url is None
        with pytest.raises(AuthenticationError):
            await client.me()


async def test_a_failed_signout_is_never_re_sent_but_me_is() -> None:
    # Signing out twice answers 401: a re-send could turn success into failure.
    # me() only reads, so a 502 in front of it is retried.
    async with FakeOllama(user="alice") as server:
        async with AsyncClient(
            server.url, retry=Retry(attempts=3, backoff=0)
        ) as client:
            server.add_fault(Fault(status=502, path="/api/me", times=1))
            assert (await client.me()).name == "alice"
            server.add_fault(Fault(status=502, path="/api/signout", times=1))
            with pytest.raises(ServerError):
                await client.signout()
        paths = [r.path for r in server.requests]
    assert paths.count("/api/me") == 2
    assert paths.count("/api/signout") == 1


async def test_show_with_system_and_options(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    plain = await client.show("llama3.2")
    preview = await client.show(
        "llama3.2", system="Answer in French.", options={"temperature": 0.1}
    )
    assert fake_ollama.requests[-1].json == {
        "model": "llama3.2",
        "system": "Answer in French.",
        "options": {"temperature": 0.1},
    }
    assert preview.system == "Answer in French."
    assert preview.system != plain.system
    assert preview.modelfile is not None
    assert "temperature 0.1" in preview.modelfile
    # parameters still lists the stored ones
    assert preview.parameters == plain.parameters


async def test_show_checks_its_new_arguments_before_sending(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    before = len(fake_ollama.requests)
    with pytest.raises(RequestError, match="system"):
        await client.show("llama3.2", system=3)  # type: ignore[arg-type]
    with pytest.raises(RequestError, match="options"):
        await client.show("llama3.2", options=["temperature"])  # type: ignore[arg-type]
    assert len(fake_ollama.requests) == before


async def test_multihost_client_offers_them_too() -> None:
    async with (
        FakeOllama(user="bob") as one,
        FakeOllama(user="bob") as two,
        MultiHostClient([one.url, two.url]) as client,
    ):
        await client.heartbeat()
        assert (await client.me()).name == "bob"
        assert (await client.status()).cloud.disabled is False
