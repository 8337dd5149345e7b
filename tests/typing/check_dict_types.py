"""Static checks of ``options=`` and ``messages=`` (``OptionsDict``,
``MessageDict``), under both checkers: ``mypy --strict`` (``tests/test_typing.py``)
and pyright in strict mode (``tests/test_typing_pyright.py``).

Not collected by pytest and never executed. Every case in ``valid`` must
type-check clean. Every line in ``flagged`` must be an error for both
checkers, each carrying its own suppression: ``# type: ignore[code]`` for
mypy (``warn_unused_ignores``, part of ``--strict``, fails the run when the
error goes away) and ``# pyright: ignore[rule]`` for pyright (run with
``reportUnnecessaryTypeIgnoreComment`` on and ``# type: ignore`` comments
off, so each checker reads only its own comment).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Unpack

from ollama_async import (
    AsyncClient,
    ChatKwargs,
    ChatResponse,
    EmbedResponse,
    Image,
    Message,
    MessageDict,
    Options,
    OptionsDict,
    ToolCall,
)

HI: list[MessageDict] = [{"role": "user", "content": "Hi"}]


async def ask(client: AsyncClient, text: str, **kwargs: Unpack[ChatKwargs]) -> str:
    """A wrapper that forwards the chat keywords, options included."""
    reply = await client.chat("m", [{"role": "user", "content": text}], **kwargs)
    return reply.message.content


async def valid(client: AsyncClient, reply: ChatResponse) -> None:
    # Every option, as a literal, with the value types the server reads: an
    # int where a float is read, None for "the server's default", a tuple
    # for stop.
    every: OptionsDict = {
        "num_ctx": 8192,
        "num_batch": 512,
        "num_gpu": -1,
        "main_gpu": 0,
        "use_mmap": False,
        "num_thread": 8,
        "draft_num_predict": 4,
        "num_keep": 4,
        "seed": 42,
        "num_predict": -1,
        "top_k": 40,
        "top_p": 0.9,
        "min_p": 0.05,
        "typical_p": 1,
        "repeat_last_n": 64,
        "temperature": None,
        "repeat_penalty": 1.1,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "stop": ("\n\n", "User:"),
    }
    await client.chat("m", HI, options=every)
    await client.chat("m", HI, options={"temperature": 0.2, "stop": ["\n"]})
    await client.generate("m", "Hi", options={"seed": 1, "num_ctx": 4096})
    await client.embed("m", "Hi", options={"num_ctx": 512})
    await client.create("m", from_="base", parameters={"temperature": 0.7})
    await ask(client, "Hi", options={"temperature": 0})

    # Every message field, each role, images of every accepted kind, tool
    # calls as the reply gave them or as dicts.
    await client.chat(
        "m",
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is this?", "images": [b"\x89PNG"]},
            {"role": "user", "images": [Path("cat.png"), "aGk=", Image(value=b"")]},
            {
                "role": "assistant",
                "content": "",
                "thinking": "The user wants the weather.",
                "tool_calls": reply.message.tool_calls,
            },
            {
                "role": "assistant",
                "tool_calls": [{"function": {"name": "f", "arguments": {}}}],
            },
            {
                "role": "tool",
                "content": "21 C",
                "tool_name": "weather",
                "tool_call_id": "call_1",
            },
        ],
    )

    # Struct values, alone and mixed with literals.
    await client.chat("m", HI, options=Options(temperature=0.2, stop=["\n"]))
    await client.chat("m", [Message(role="user", content="Hi"), *HI])
    await client.chat("m", [reply.message, {"role": "user", "content": "More"}])
    calls: list[ToolCall] = reply.message.tool_calls or []
    await client.chat("m", [{"role": "assistant", "tool_calls": calls}])

    # A conversation kept in a list: annotated, it is checked as it grows.
    history: list[Message | MessageDict] = []
    history.append({"role": "user", "content": "Hi"})
    history.append(reply.message)
    await client.chat("m", history)

    # Data built at run time: values typed Any pass as they are (the client
    # checks them at run time, as before).
    loaded: dict[str, Any] = json.loads('{"temperature": 0.2}')
    await client.chat("m", HI, options=loaded)
    mapping: Mapping[str, Any] = loaded
    await client.chat("m", HI, options=mapping)
    await client.chat("m", HI, options=json.loads("{}"))
    rows: list[dict[str, Any]] = json.loads('[{"role": "user", "content": "Hi"}]')
    await client.chat("m", rows)
    await client.chat("m", [{"role": "user", "content": "Hi"}, *rows])
    await client.chat("m", json.loads("[]"))
    result: EmbedResponse = await client.embed("m", "Hi", options=loaded)
    print(result.embeddings)


async def flagged(client: AsyncClient, role: str) -> None:
    # A misspelled option key, in place and in an annotated variable.
    await client.embed("m", "Hi", options={"temprature": 0.2})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    opts: OptionsDict = {"temprature": 0.2}  # type: ignore[typeddict-unknown-key]  # pyright: ignore[reportAssignmentType]
    print(opts)
    # A value of the wrong type: a string temperature, a single stop
    # string (the server rejects it), a fraction for an integer option.
    await client.embed("m", "Hi", options={"temperature": "hot"})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    await client.embed("m", "Hi", options={"stop": "\n"})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    await client.embed("m", "Hi", options={"num_ctx": 4096.5})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    # Through the overloaded chat and a ChatKwargs wrapper.
    await client.chat("m", HI, options={"temprature": 0.2})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    await ask(client, "Hi", options={"temprature": 0.2})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]

    # A role outside the four, a misspelled key, no role at all.
    await client.chat("m", [{"role": "usr", "content": "Hi"}])  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    await client.chat("m", [{"role": "user", "contnt": "Hi"}])  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    await client.chat("m", [{"content": "Hi"}])  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    await client.chat("m", [{"role": "user", "content": 42}])  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    # A role held in a plain str: only the Literal is known to be valid.
    await client.chat("m", [{"role": role, "content": "Hi"}])  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    history: list[MessageDict] = []
    history.append({"role": "usr", "content": "Hi"})  # type: ignore[typeddict-item]  # pyright: ignore[reportArgumentType]

    # The boundary: a mapping whose values have a static type is not taken,
    # because a misspelled literal types as the same dict[str, float] or
    # dict[str, str]. Annotate it (OptionsDict, list[MessageDict]) to have it
    # checked, or as dict[str, Any] to opt out.
    floats = {"temperature": 0.2}
    await client.embed("m", "Hi", options=floats)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    plain = [{"role": "user", "content": "Hi"}]
    await client.chat("m", plain)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
