"""Static types of the routes added with the endpoint table, and of the
shared keyword-argument TypedDicts of the ``stream`` overloads.

Not collected by pytest and never executed: each ``assert_type`` fails the
mypy run when the inferred type differs, and each ``type: ignore[code]``
fails it (unused ignore) when mypy stops reporting that error.
"""

from __future__ import annotations

from typing import Unpack, assert_type

from ollama_async import (
    AsyncClient,
    AuthenticationError,
    ChatKwargs,
    ChatResponse,
    GenerateKwargs,
    GenerateResponse,
    MessageDict,
    ProgressResponse,
    ServerStatus,
    ShowResponse,
    Stream,
    TransferKwargs,
    UserResponse,
)

HI: list[MessageDict] = [{"role": "user", "content": "Hi"}]


async def new_routes(client: AsyncClient) -> None:
    assert_type(await client.heartbeat(), None)
    assert_type(await client.status(), ServerStatus)
    assert_type((await client.status()).cloud.disabled, bool)
    assert_type(await client.me(), UserResponse)
    assert_type(await client.signout(), None)
    assert_type(
        await client.show("m", system="s", options={"temperature": 0}), ShowResponse
    )
    try:
        await client.me()
    except AuthenticationError as exc:
        assert_type(exc.signin_url, str | None)


# A wrapper forwards the shared keyword arguments and keeps them checked.
async def ask(client: AsyncClient, text: str, **kwargs: Unpack[ChatKwargs]) -> str:
    reply = await client.chat("m", [{"role": "user", "content": text}], **kwargs)
    return reply.message.content


def tail(
    client: AsyncClient, **kwargs: Unpack[GenerateKwargs]
) -> Stream[GenerateResponse]:
    return client.generate("m", "Hi", stream=True, **kwargs)


async def misuse(client: AsyncClient, transfer: TransferKwargs) -> None:
    await ask(client, "Hi", keep_alive="5m", think=True)
    await ask(client, "Hi", temprature=0.2)  # type: ignore[call-arg]
    await client.chat("m", HI, thinkk=True)  # type: ignore[call-overload]
    assert_type(await client.pull("m", **transfer), ProgressResponse)
    assert_type(client.chat("m", HI, stream=True, keep_alive=0), Stream[ChatResponse])


async def fleet(client: AsyncClient, hosts: list[str]) -> None:
    from ollama_async import AdaptiveConcurrency, HostState, MultiHostClient

    assert_type(await client.load("m", keep_alive="1h"), None)
    assert_type(await client.unload("m"), None)
    many = MultiHostClient(hosts, concurrency=AdaptiveConcurrency(initial=2))
    assert_type(await many.load("m", progress=True), None)
    assert_type(await many.pull_everywhere("m", progress={"leave": False}), None)
    assert_type(many.hosts[0], HostState)
    assert_type(many.hosts[0].limit, int | None)
    MultiHostClient(hosts, concurrency=8)
    MultiHostClient(hosts, concurrency=None)
    MultiHostClient(hosts, concurrency="8")  # type: ignore[arg-type]
