"""Tools through the public API: functions become the definitions sent (types,
docstrings of each style, defaults), dict tools go out untouched, and
``chat_with_tools`` runs the calls of the emulated model round by round."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import threading
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import pytest

from ollama_async import (
    AsyncClient,
    ChatResponse,
    MaxToolRoundsError,
    Message,
    RequestError,
    ToolLoopResult,
    tool_definition,
)
from ollama_async.testing import FakeOllama

MODEL = "llama3.2"
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(msgspec.Struct):
    """A place on Earth."""

    city: str
    country: str | None = None


@dataclasses.dataclass
class Range:
    low: int
    high: int


class Window(TypedDict):
    start: str
    days: int


async def get_weather(
    place: Place,
    unit: Unit = Unit.CELSIUS,
    hours: list[int] | None = None,
    detail: Literal["short", "long"] = "short",
) -> dict[str, Any]:
    """Get the current weather.

    Args:
        place: Where to look.
        unit: Temperature unit.
        hours: Hours of the day to report,
            from 0 to 23.
        detail: How much to say.
    """
    return {"city": place.city, "unit": unit.value, "temperature": 21}


def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Parameters
    ----------
    a : int
        The first number.
    b : int, optional
        The second
        number.
    """
    return a + b


def book(window: Window, budget: Range, *, note: str = "", **extra: Any) -> str:
    """Book a trip.

    :param window: When to travel.
    :param budget: What to spend.
    :param str note: A note for the agent.
    """
    return f"booked {window['start']} for {window['days']} days"


# -- definitions ------------------------------------------------------------------


def test_google_docstring_and_types() -> None:
    function = tool_definition(get_weather)["function"]
    assert function["name"] == "get_weather"
    assert function["description"] == "Get the current weather."
    params = function["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["place"]
    props = params["properties"]
    assert props["place"] == {
        "description": "Where to look.",
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country": {"type": ["string", "null"], "default": None},
        },
        "required": ["city"],
    }
    assert props["unit"] == {
        "enum": ["celsius", "fahrenheit"],
        "type": "string",
        "default": "celsius",
        "description": "Temperature unit.",
    }
    assert props["hours"] == {
        "type": "array",
        "items": {"type": "integer"},
        "description": "Hours of the day to report, from 0 to 23.",
    }
    assert sorted(props["detail"]["enum"]) == ["long", "short"]
    assert props["detail"]["default"] == "short"


def test_numpy_docstring() -> None:
    function = tool_definition(add)["function"]
    assert function["description"] == "Add two integers."
    assert function["parameters"] == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "The first number."},
            "b": {"type": "integer", "default": 1, "description": "The second number."},
        },
        "required": ["a"],
    }


def test_rest_docstring_typeddict_dataclass_and_no_var_args() -> None:
    params = tool_definition(book)["function"]["parameters"]
    props = params["properties"]
    assert set(props) == {"window", "budget", "note"}
    assert params["required"] == ["window", "budget"]
    assert props["window"]["description"] == "When to travel."
    assert props["window"]["properties"] == {
        "start": {"type": "string"},
        "days": {"type": "integer"},
    }
    assert props["budget"]["required"] == ["low", "high"]
    assert props["note"] == {
        "type": "string",
        "default": "",
        "description": "A note for the agent.",
    }


def test_annotated_description_and_no_docstring() -> None:
    def lookup(key: Annotated[str, msgspec.Meta(description="The key")], n=3):  # type: ignore[no-untyped-def]
        return key

    function = tool_definition(lookup)["function"]
    assert "description" not in function
    assert function["parameters"]["properties"] == {
        "key": {"description": "The key", "type": "string"},
        "n": {"default": 3},
    }


class Opaque:
    pass


def test_a_parameter_type_without_schema_raises() -> None:
    def f(x: Opaque) -> None:
        pass

    with pytest.raises(RequestError, match="parameter 'x'"):
        tool_definition(f)


def test_the_definition_is_a_copy() -> None:
    tool_definition(add)["function"]["name"] = "changed"
    assert tool_definition(add)["function"]["name"] == "add"


async def test_functions_and_dicts_on_the_wire(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    raw = {
        "type": "function",
        "function": {
            "name": "search",
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string", "minLength": 2}},
                "$defs": {"X": {"type": "string"}},
                "required": ["q"],
            },
        },
    }
    await client.chat(MODEL, ASK, tools=[add, raw])
    sent = fake_ollama.requests[-1].json["tools"]
    assert sent[0] == tool_definition(add)
    assert sent[1] == raw


# -- the loop ---------------------------------------------------------------------


async def test_two_rounds_with_an_async_and_a_sync_tool(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    threads: list[int] = []

    def add_in_thread(a: int, b: int = 1) -> int:
        """Add two integers."""
        threads.append(threading.get_ident())
        return a + b

    fake_ollama.script_tool_calls(
        MODEL,
        [
            {"name": "get_weather", "arguments": {"place": {"city": "Paris"}}},
            {"name": "add_in_thread", "arguments": {"a": 2, "b": 3}},
        ],
    )
    result = await client.chat_with_tools(
        MODEL, ASK, tools=[get_weather, add_in_thread]
    )
    assert isinstance(result, ToolLoopResult)
    assert result.rounds == 2
    assert result.response.message.tool_calls is None
    assert result.content == result.message.content != ""
    assert [r.name for r in result.tool_results] == ["get_weather", "add_in_thread"]
    assert result.tool_results[0].value == {
        "city": "Paris",
        "unit": "celsius",
        "temperature": 21,
    }
    assert result.tool_results[1].value == 5
    assert threads and threads[0] != threading.get_ident()

    # The second request carried the assistant's calls and both results.
    sent = fake_ollama.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    calls = sent[1]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "add_in_thread"]
    assert sent[2] == {
        "role": "tool",
        "content": '{"city":"Paris","unit":"celsius","temperature":21}',
        "tool_name": "get_weather",
        "tool_call_id": calls[0]["id"],
    }
    assert sent[3]["content"] == "5"
    assert sent[3]["tool_name"] == "add_in_thread"
    # The returned conversation can be sent again as is.
    assert [m.role for m in result.messages] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]


async def test_async_tools_run_concurrently(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    first, second = asyncio.Event(), asyncio.Event()

    async def ping() -> str:
        """Ping."""
        first.set()
        await asyncio.wait_for(second.wait(), 2)
        return "ping"

    async def pong() -> str:
        """Pong."""
        second.set()
        await asyncio.wait_for(first.wait(), 2)
        return "pong"

    fake_ollama.script_tool_calls(
        MODEL, [{"name": "ping", "arguments": {}}, {"name": "pong", "arguments": {}}]
    )
    result = await client.chat_with_tools(MODEL, ASK, tools=[ping, pong])
    assert [r.content for r in result.tool_results] == ["ping", "pong"]


async def test_arguments_are_converted_to_the_annotated_types(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    seen: list[Any] = []

    def where(place: Place, unit: Unit, budget: Range) -> str:
        """Where."""
        seen.extend([place, unit, budget])
        return "ok"

    fake_ollama.script_tool_calls(
        MODEL,
        [
            {
                "name": "where",
                "arguments": {
                    "place": {"city": "Oslo", "country": "NO"},
                    "unit": "fahrenheit",
                    "budget": {"low": "1", "high": 9},
                },
            }
        ],
    )
    await client.chat_with_tools(MODEL, ASK, tools=[where])
    assert seen == [Place("Oslo", "NO"), Unit.FAHRENHEIT, Range(1, 9)]


async def test_the_emulator_calls_a_tool_from_its_schema(client: AsyncClient) -> None:
    result = await client.chat_with_tools(MODEL, ASK, tools=[get_weather])
    assert result.rounds == 2
    (ran,) = result.tool_results
    assert ran.error is None
    assert ran.value["city"] == ran.arguments["place"]["city"]


async def test_a_tool_error_goes_back_to_the_model(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    def divide(a: int, b: int) -> float:
        """Divide a by b."""
        return a / b

    fake_ollama.script_tool_calls(
        MODEL, [{"name": "divide", "arguments": {"a": 1, "b": 0}}]
    )
    result = await client.chat_with_tools(MODEL, ASK, tools=[divide])
    (ran,) = result.tool_results
    assert isinstance(ran.error, ZeroDivisionError)
    tool_message = fake_ollama.requests[-1].json["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "Error: ZeroDivisionError: division by zero"
    assert result.rounds == 2


async def test_a_tool_error_can_be_raised(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    async def explode() -> None:
        """Explode."""
        raise KeyError("boom")

    fake_ollama.script_tool_calls(MODEL, [{"name": "explode", "arguments": {}}])
    with pytest.raises(KeyError, match="boom") as info:
        await client.chat_with_tools(
            MODEL, ASK, tools=[explode], raise_tool_errors=True
        )
    assert any("explode" in note for note in info.value.__notes__)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            {"name": "nope", "arguments": {}},
            "Error: there is no tool named 'nope'; available: add",
            id="unknown-tool",
        ),
        pytest.param(
            {"name": "add", "arguments": {"a": "x"}},
            "Error: invalid argument 'a': Expected `int`, got `str`",
            id="bad-type",
        ),
        pytest.param(
            {"name": "add", "arguments": {"b": 2}},
            "Error: missing a required argument: 'a'",
            id="missing",
        ),
        pytest.param(
            {"name": "add", "arguments": {"a": 1, "c": 2}},
            "Error: add() got an unexpected argument 'c'",
            id="unexpected",
        ),
    ],
)
async def test_model_mistakes_go_back_as_errors(
    client: AsyncClient, fake_ollama: FakeOllama, call: dict[str, Any], message: str
) -> None:
    fake_ollama.script_tool_calls(MODEL, [call])
    result = await client.chat_with_tools(
        MODEL, ASK, tools=[add], raise_tool_errors=True
    )
    assert fake_ollama.requests[-1].json["messages"][-1]["content"] == message
    assert result.tool_results[0].value is None


async def test_the_round_limit(client: AsyncClient, fake_ollama: FakeOllama) -> None:
    for _ in range(3):
        fake_ollama.script_tool_calls(MODEL, [{"name": "add", "arguments": {"a": 1}}])
    with pytest.raises(MaxToolRoundsError, match="2 rounds") as info:
        await client.chat_with_tools(MODEL, ASK, tools=[add], max_rounds=2)
    assert len(fake_ollama.requests) == 2
    assert info.value.response.message.tool_calls
    assert [m.role for m in info.value.messages] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


async def test_streaming_rounds_through_a_callback(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    chunks: list[ChatResponse] = []
    fake_ollama.script_tool_calls(
        MODEL, [{"name": "add", "arguments": {"a": 40, "b": 2}}]
    )

    async def on_chunk(chunk: ChatResponse) -> None:
        chunks.append(chunk)

    result = await client.chat_with_tools(MODEL, ASK, tools=[add], on_chunk=on_chunk)
    assert all(r.json["stream"] is True for r in fake_ollama.requests)
    assert any(c.message.tool_calls for c in chunks)
    assert result.tool_results[0].value == 42
    text = "".join(c.message.content for c in chunks)
    assert text.endswith(result.content) and result.content


async def test_sync_callback_and_typed_final_answer(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    class Answer(msgspec.Struct):
        total: int

    seen: list[str] = []
    fake_ollama.script_tool_calls(MODEL, [{"name": "add", "arguments": {"a": 1}}])
    result = await client.chat_with_tools(
        MODEL,
        [Message(role="user", content="1 + 1?")],
        tools=[add],
        format=Answer,
        on_chunk=lambda c: seen.append(c.message.content),
    )
    assert isinstance(result.parse(Answer), Answer)
    assert seen


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"tools": []}, "at least one tool", id="no-tools"),
        pytest.param({"tools": [add], "max_rounds": 0}, "max_rounds", id="rounds"),
        pytest.param({"tools": ["add"]}, r"tools\[0\]", id="str-tool"),
    ],
)
async def test_bad_loop_arguments_raise_before_sending(
    client: AsyncClient, fake_ollama: FakeOllama, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(RequestError, match=match):
        await client.chat_with_tools(MODEL, ASK, **kwargs)
    with pytest.raises(RequestError, match="message"):
        await client.chat_with_tools(MODEL, [], tools=[add])
    assert fake_ollama.requests == []


async def test_the_loop_sends_chat_options_in_every_round(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    await client.chat_with_tools(
        MODEL,
        ASK,
        tools=[add],
        logprobs=True,
        top_logprobs=2,
        truncate=False,
        shift=False,
        keep_alive="1m",
    )
    rounds = [r.json for r in fake_ollama.requests if r.path == "/api/chat"]
    assert len(rounds) >= 2
    for body in rounds:
        assert body["logprobs"] is True and body["top_logprobs"] == 2
        assert body["truncate"] is False and body["shift"] is False
        assert body["keep_alive"] == "1m"
