"""Structured outputs through the public API against the emulator: every
``format=`` form reaches the wire as the server wants it, and the answer parses
back into the type, streamed or not; bad or cut answers raise with an excerpt."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import pytest

from ollama_async import (
    AsyncClient,
    ChatResponse,
    DecodeError,
    GenerateResponse,
    Message,
    RequestError,
    StructuredOutputError,
)
from ollama_async.testing import FakeOllama

MODEL = "llama3.2"
ASK = [{"role": "user", "content": "Write a poem about the sea."}]


class Mood(enum.Enum):
    CALM = "calm"
    STORMY = "stormy"


class Stanza(msgspec.Struct):
    """One stanza."""

    lines: list[str]
    rhymes: bool = True


class Poem(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(description="The poem's title")]
    stanzas: list[Stanza]
    mood: Mood
    form: Literal["sonnet", "haiku", "free"] = "free"


class Node(msgspec.Struct):
    name: str
    children: list[Node] = []


@dataclasses.dataclass
class City:
    name: str
    population: int


class Person(TypedDict):
    name: str
    age: int


def sent_format(server: FakeOllama) -> Any:
    return server.requests[-1].json["format"]


# -- what goes on the wire --------------------------------------------------------


@pytest.mark.parametrize(
    ("format", "expected"),
    [
        pytest.param("json", "json", id="json"),
        pytest.param(
            {"type": "object", "properties": {"x": {"type": "integer"}}},
            {"type": "object", "properties": {"x": {"type": "integer"}}},
            id="dict-as-given",
        ),
    ],
)
async def test_plain_formats_are_sent_as_given(
    client: AsyncClient, fake_ollama: FakeOllama, format: Any, expected: Any
) -> None:
    await client.chat(MODEL, ASK, format=format)
    assert sent_format(fake_ollama) == expected


async def test_a_struct_is_sent_as_an_inlined_schema(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    await client.chat(MODEL, ASK, format=Poem)
    schema = sent_format(fake_ollama)
    assert "$ref" not in str(schema) and "$defs" not in schema
    assert schema["type"] == "object"
    assert schema["required"] == ["title", "stanzas", "mood"]
    props = schema["properties"]
    assert props["title"] == {"description": "The poem's title", "type": "string"}
    stanza = props["stanzas"]["items"]
    assert stanza["type"] == "object"
    assert stanza["properties"]["lines"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert props["mood"]["enum"] == ["calm", "stormy"]
    assert props["mood"]["type"] == "string"
    assert sorted(props["form"]["enum"]) == ["free", "haiku", "sonnet"]


async def test_a_recursive_struct_keeps_its_defs(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    reply = await client.chat(MODEL, ASK, format=Node)
    schema = sent_format(fake_ollama)
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"]["properties"]["name"] == {"type": "string"}
    assert isinstance(reply.parse(Node), Node)


@pytest.mark.parametrize(
    ("tp", "check"),
    [
        pytest.param(City, lambda v: isinstance(v.population, int), id="dataclass"),
        pytest.param(Person, lambda v: isinstance(v["age"], int), id="typeddict"),
        pytest.param(list[Stanza], lambda v: isinstance(v[0], Stanza), id="list"),
    ],
)
async def test_other_types_round_trip(client: AsyncClient, tp: Any, check: Any) -> None:
    reply = await client.chat(MODEL, ASK, format=tp)
    assert check(reply.parse(tp))


async def test_a_type_that_has_no_schema_raises_before_sending(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    class Opaque:
        pass

    with pytest.raises(RequestError, match="JSON schema"):
        await client.chat(MODEL, ASK, format=Opaque)
    assert fake_ollama.requests == []


# -- typed answers ----------------------------------------------------------------


async def test_chat_answer_parses_into_the_struct(client: AsyncClient) -> None:
    reply = await client.chat(MODEL, ASK, format=Poem)
    poem = reply.parse(Poem)
    assert isinstance(poem, Poem)
    assert isinstance(poem.mood, Mood)
    assert all(isinstance(s, Stanza) for s in poem.stanzas)
    assert reply.message.parse(Poem) == poem


async def test_streamed_answer_parses_after_collect(client: AsyncClient) -> None:
    whole = await client.chat(MODEL, ASK, format=Poem)
    async with client.chat(MODEL, ASK, format=Poem, stream=True) as stream:
        collected = await stream.collect()
    assert collected.parse(Poem) == whole.parse(Poem)


async def test_generate_answer_parses(client: AsyncClient) -> None:
    reply = await client.generate(MODEL, "A city, please", format=City)
    assert isinstance(reply.parse(City), City)
    async with client.generate(
        MODEL, "A city, please", format=City, stream=True
    ) as stream:
        assert (await stream.collect()).parse(City) == reply.parse(City)


async def test_json_mode_parses_to_builtins(client: AsyncClient) -> None:
    reply = await client.chat(MODEL, ASK, format="json")
    assert isinstance(reply.parse(), dict)
    assert isinstance(reply.parse(dict[str, Any]), dict)


async def test_pydantic_models_work_by_duck_typing(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Pet(pydantic.BaseModel):  # type: ignore[misc, name-defined]
        name: str
        legs: int
        kind: Literal["cat", "dog"]

    class Owner(pydantic.BaseModel):  # type: ignore[misc, name-defined]
        name: str
        pets: list[Pet]

    reply = await client.chat(MODEL, ASK, format=Owner)
    schema = sent_format(fake_ollama)
    assert "$defs" not in schema
    assert schema["properties"]["pets"]["items"]["properties"]["kind"]["enum"] == [
        "cat",
        "dog",
    ]
    owner = reply.parse(Owner)
    assert isinstance(owner, Owner)
    assert all(isinstance(p, Pet) for p in owner.pets)


# -- bad answers ------------------------------------------------------------------


def chat_answer(content: str, done_reason: str = "stop") -> ChatResponse:
    return ChatResponse(
        model=MODEL,
        done=True,
        done_reason=done_reason,
        message=Message(role="assistant", content=content),
    )


def test_invalid_json_raises_a_decode_error_with_an_excerpt() -> None:
    with pytest.raises(StructuredOutputError) as info:
        chat_answer("Sure! Here is your poem: roses are red").parse(Poem)
    assert isinstance(info.value, DecodeError)
    assert "roses are red" in info.value.excerpt
    assert not info.value.truncated


def test_json_of_the_wrong_shape_names_the_problem() -> None:
    with pytest.raises(StructuredOutputError, match="stanzas"):
        chat_answer('{"title": "Sea", "mood": "calm"}').parse(Poem)


def test_a_truncated_answer_says_so() -> None:
    cut = chat_answer('{"title": "Sea", "stanzas": [{"lines": ["The w', "length")
    with pytest.raises(StructuredOutputError, match="cut short") as info:
        cut.parse(Poem)
    assert info.value.truncated
    assert "num_predict" in str(info.value)


async def test_a_truncated_stream_from_the_server_raises(client: AsyncClient) -> None:
    reply = await client.chat(MODEL, ASK, format=Poem, options={"num_predict": 3})
    assert reply.done_reason == "length"
    with pytest.raises(StructuredOutputError) as info:
        reply.parse(Poem)
    assert info.value.truncated


def test_generate_parse_errors_too() -> None:
    answer = GenerateResponse(model=MODEL, done=True, response="not json")
    with pytest.raises(StructuredOutputError, match="not JSON"):
        answer.parse()
