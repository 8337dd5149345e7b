"""Bad input never leaks a builtin exception and never reaches the server.

Every parameter of every public method of ``AsyncClient`` (found by
introspection, so a parameter added later is covered too) gets values no
method accepts: an object of no accepted type, plus, by its annotation, a
string with a lone surrogate, NaN and the infinities, a mapping holding NaN
or a non-str key. Each must raise ``RequestError`` whose message names the
parameter, and the emulator's request log must stay empty. The cases after
the sweep are the ones a sweep cannot build: values deep inside messages,
tools and schemas, environment variables, headers.

The options the server accepts are accepted and converted as Go's
``Options.FromMap`` converts them (``api/types.go``), checked on the bytes
the emulator received.
"""

from __future__ import annotations

import collections.abc
import inspect
import io
import math
import os
import types
import typing
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import AsyncClient, Message, OllamaError, Options, RequestError, Tool
from ollama_async._args import options_arg
from ollama_async.testing import FakeOllama
from ollama_async.types import ToolCall, ToolCallFunction, ToolFunction

MODEL = "llama3.2"
HI = [{"role": "user", "content": "hi"}]
NAN = float("nan")
INF = float("inf")
SURROGATE = "a\ud800b"


class Opaque:
    """A value of no type any parameter accepts."""

    def __repr__(self) -> str:
        return "Opaque()"


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


# Valid arguments of each method: the sweep replaces one at a time.
BASELINES: dict[str, dict[str, Any]] = {
    "generate": {"model": MODEL, "prompt": "hi"},
    "chat": {"model": MODEL, "messages": HI},
    "chat_with_tools": {"model": MODEL, "messages": HI, "tools": [add]},
    "embed": {"model": "all-minilm", "input": "hi"},
    "embeddings": {"model": "all-minilm", "prompt": "hi"},
    "pull": {"model": MODEL},
    "push": {"model": MODEL},
    "create": {"model": "mine", "from_": MODEL},
    "blob_exists": {"digest": "sha256:" + "a" * 64},
    "create_blob": {"path": "<file>"},
    "show": {"model": MODEL},
    "copy": {"source": MODEL, "destination": "mine"},
    "delete": {"model": "mine"},
    "web_search": {"query": "q", "api_key": "key"},
    "web_fetch": {"url": "https://ollama.com", "api_key": "key"},
    "batch": {"requests": [{"model": MODEL, "messages": HI}]},
    "with_options": {},
    "load": {"model": MODEL, "keep_alive": "1m"},
    "unload": {"model": MODEL},
}
NO_ARGUMENTS = ["list", "ps", "version", "heartbeat", "status", "me", "signout"]

# Gaps in checks owned elsewhere would be listed here, each as a strict xfail
# (so that a fix shows up as an XPASS and the mark must go). None is left.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


def _leaves(hint: Any) -> list[Any]:
    """The types (and Literal values) a type hint accepts at its top level,
    and inside sequences; a mapping or callable counts as itself."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return list(typing.get_args(hint))
    if origin is typing.Union or origin is types.UnionType:
        return [leaf for arg in typing.get_args(hint) for leaf in _leaves(arg)]
    if origin in (list, tuple, collections.abc.Sequence):
        return [origin] + [
            leaf for arg in typing.get_args(hint) for leaf in _leaves(arg)
        ]
    return [origin or hint]


def _bad_values(hint: Any) -> list[tuple[str, Any]]:
    """Values no parameter of this annotation accepts, with an id each."""
    leaves = _leaves(hint)
    bad: list[tuple[str, Any]] = [("Opaque", Opaque())]
    if any(leaf is str or isinstance(leaf, str) for leaf in leaves):
        bad.append(("surrogate", SURROGATE))
    if float in leaves:
        bad += [("nan", NAN), ("inf", INF), ("-inf", -INF)]
    if any(leaf in (dict, Mapping) for leaf in leaves):
        bad += [("mapping-nan", {"k": NAN}), ("mapping-int-key", {1: "x"})]
    return bad


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    # ImageInput is a string alias naming os and io.
    return typing.get_type_hints(function, localns={"os": os, "io": io})


def _methods() -> list[str]:
    names = [
        name
        for name, member in inspect.getmembers(AsyncClient)
        if not name.startswith("_") and inspect.isfunction(member)
    ]
    return sorted(set(names) - {"aclose", "close"})


def _sweep() -> list[Any]:
    cases = []
    for method in _methods():
        function = getattr(AsyncClient, method)
        hints = _hints(function)
        for param, spec in inspect.signature(function).parameters.items():
            if param == "self" or spec.kind is inspect.Parameter.VAR_KEYWORD:
                continue  # **unexpected only turns misspellings into hints
            for label, value in _bad_values(hints[param]):
                gap = KNOWN_GAPS.get((method, param, label))
                marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
                cases.append(
                    pytest.param(
                        method,
                        param,
                        value,
                        marks=marks,
                        id=f"{method}-{param}-{label}",
                    )
                )
    return cases


def test_every_method_has_a_valid_baseline() -> None:
    assert set(_methods()) == set(BASELINES) | set(NO_ARGUMENTS)


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(fake_ollama.url, retry=None) as client:
        client.web_url = fake_ollama.url  # a web call that did send would show
        yield client


async def _call(client: AsyncClient, method: str, kwargs: dict[str, Any]) -> Any:
    result = getattr(client, method)(**kwargs)
    if method == "batch":
        async with result as batch:
            return [item async for item in batch]
    if inspect.isawaitable(result):
        result = await result
    return result


async def _assert_refused(server: FakeOllama, call: Any, *names: str) -> RequestError:
    """``call`` raises RequestError naming one of ``names``; nothing was sent."""
    with pytest.raises(RequestError) as info:
        await call
    message = str(info.value)
    assert any(name in message for name in names), message
    assert server.requests == []
    return info.value


@pytest.mark.parametrize(
    "method", sorted(set(BASELINES) - {"with_options"}) + NO_ARGUMENTS
)
async def test_each_baseline_reaches_the_server(
    client: AsyncClient, fake_ollama: FakeOllama, tmp_path: Path, method: str
) -> None:
    # The premise of the sweep: with the one bad value put back, it sends.
    kwargs = dict(BASELINES.get(method, {}))
    if kwargs.get("path") == "<file>":
        (tmp_path / "blob").write_bytes(b"data")
        kwargs["path"] = tmp_path / "blob"
    try:
        await _call(client, method, kwargs)
    except RequestError:
        raise
    except OllamaError:
        pass  # the emulator's answer (an unknown model, signed out ...)
    assert fake_ollama.requests != []


@pytest.mark.parametrize(("method", "param", "value"), _sweep())
async def test_a_bad_value_for_any_parameter_is_refused_before_sending(
    client: AsyncClient,
    fake_ollama: FakeOllama,
    tmp_path: Path,
    method: str,
    param: str,
    value: Any,
) -> None:
    kwargs = dict(BASELINES.get(method, {}))
    if kwargs.get("path") == "<file>":
        (tmp_path / "blob").write_bytes(b"data")
        kwargs["path"] = tmp_path / "blob"
    kwargs[param] = value
    await _assert_refused(fake_ollama, _call(client, method, kwargs), param)


def _constructor_cases() -> list[Any]:
    hints = _hints(AsyncClient.__init__)
    cases = []
    for param in inspect.signature(AsyncClient.__init__).parameters:
        if param == "self":
            continue
        for label, value in _bad_values(hints[param]):
            cases.append(pytest.param(param, value, id=f"{param}-{label}"))
    return cases


@pytest.mark.parametrize(("param", "value"), _constructor_cases())
def test_a_bad_constructor_argument_is_refused(param: str, value: Any) -> None:
    kwargs = {"host": "127.0.0.1:1", param: value}
    with pytest.raises(RequestError) as info:
        AsyncClient(**kwargs)
    assert param in str(info.value), str(info.value)


# -- values deep inside an argument ------------------------------------------------

_TOOL_CALL = Message(
    role="assistant",
    tool_calls=[
        ToolCall(function=ToolCallFunction(name="add", arguments={"a": 1})),
        ToolCall(function=ToolCallFunction(name="add", arguments={"x": NAN})),
    ],
)
_NESTED = {"type": "object", "properties": {"n": {"type": "number", "maximum": INF}}}


def _default_nan(x: float = NAN) -> float:
    """A tool whose default JSON cannot carry."""
    return x


DEEP = [
    pytest.param(
        "chat",
        {"messages": [*HI, *HI, _TOOL_CALL]},
        "messages[2].tool_calls[1].function.arguments['x'] is nan",
        id="tool-call-argument-nan",
    ),
    pytest.param(
        "chat",
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"function": {"name": "f", "arguments": {"b": b"x"}}}
                    ],
                }
            ]
        },
        "messages[0].tool_calls[0].function.arguments['b'] is a bytes",
        id="dict-tool-call-argument-bytes",
    ),
    pytest.param(
        "chat",
        {"messages": [*HI, {"role": "user", "content": SURROGATE}]},
        "messages[1].content contains a lone surrogate",
        id="message-content-surrogate",
    ),
    pytest.param(
        "chat",
        {"messages": [Message(role="user", content="x", thinking=SURROGATE)]},
        "messages[0].thinking contains a lone surrogate",
        id="typed-message-thinking-surrogate",
    ),
    pytest.param(
        "chat",
        {"messages": [Message(role="user", content=Opaque())]},  # type: ignore[arg-type]
        "messages[0].content is a",
        id="typed-message-content-object",
    ),
    pytest.param(
        "chat",
        {"options": {"temperature": NAN}},
        "options['temperature'] is nan",
        id="options-temperature-nan",
    ),
    pytest.param(
        "chat",
        {"options": Options(temperature=INF)},
        "options['temperature'] is inf",
        id="typed-options-inf",
    ),
    pytest.param(
        "chat",
        {"options": {"top_p": 1e39}},
        "options['top_p'] is 1e+39, beyond a float32",
        id="options-beyond-float32",
    ),
    pytest.param(
        "chat",
        {"options": {"num_ctx": 2.0**63}},
        "options['num_ctx'] is 9.223372036854776e+18, outside",
        id="options-int-beyond-int64",
    ),
    pytest.param(
        "chat",
        {"options": {"seed": 10**400}},
        "options['seed']",
        id="options-int-beyond-float64",
    ),
    pytest.param(
        "chat",
        {"options": {"mirostat_tau": {"deep": [1, NAN]}}},
        "options['mirostat_tau']['deep'][1] is nan",
        id="unknown-option-nested-nan",
    ),
    pytest.param(
        "chat",
        {"options": {"custom": b"x"}},
        "options['custom'] is a bytes, not a JSON value",
        id="unknown-option-bytes",
    ),
    pytest.param(
        "chat",
        {"options": {"custom": {1, 2}}},
        "options['custom'] is a set",
        id="unknown-option-set",
    ),
    pytest.param(
        "chat",
        {"options": {"custom": Opaque()}},
        "options['custom'] is a",
        id="unknown-option-object",
    ),
    pytest.param(
        "embed",
        {"options": {"stop": [SURROGATE]}},
        "options['stop'] contains a lone surrogate",
        id="embed-stop-surrogate",
    ),
    pytest.param(
        "show",
        {"options": {SURROGATE: 1}},
        "options has a key that contains a lone surrogate",
        id="show-option-key-surrogate",
    ),
    pytest.param(
        "create",
        {"parameters": {"temperature": NAN}},
        "parameters['temperature'] is nan",
        id="create-parameters-nan",
    ),
    pytest.param(
        "chat",
        {"format": _NESTED},
        "format['properties']['n']['maximum'] is inf",
        id="format-schema-inf",
    ),
    pytest.param(
        "chat",
        {"format": {"type": "object", "enum": [b"x"]}},
        "format['enum'][0] is a bytes",
        id="format-schema-bytes",
    ),
    pytest.param(
        "chat",
        {"tools": [{"function": {"name": "f", "parameters": _NESTED}}]},
        "tools[0]['function']['parameters']['properties']['n']['maximum'] is inf",
        id="tool-dict-inf",
    ),
    pytest.param(
        "chat",
        {"tools": [Tool(function=ToolFunction(name="f", parameters=_NESTED))]},
        "tools[0].function.parameters['properties']['n']['maximum'] is inf",
        id="typed-tool-inf",
    ),
    pytest.param(
        "chat",
        {"tools": [_default_nan]},
        "tools[0]['function']['parameters']['properties']['x']['default'] is nan",
        id="tool-function-default-nan",
    ),
    pytest.param("chat", {"keep_alive": NAN}, "keep_alive is nan", id="keep-alive-nan"),
    pytest.param(
        "embed", {"keep_alive": INF}, "keep_alive is inf", id="keep-alive-inf"
    ),
    pytest.param(
        "chat",
        {"keep_alive": 1e10},
        "keep_alive is 10000000000.0 seconds, which the server cannot hold",
        id="keep-alive-beyond-go-duration",
    ),
    pytest.param(
        "generate", {"context": [1, 2**63]}, "context[1]", id="context-beyond-int64"
    ),
    pytest.param("generate", {"context": [1, True]}, "context[1]", id="context-bool"),
    pytest.param("generate", {"context": {1, 2}}, "context must be", id="context-set"),
    pytest.param("generate", {"context": {1: 2}}, "context must be", id="context-dict"),
    pytest.param("create", {"license": 123}, "license", id="license-int"),
    pytest.param("create", {"license": b"MIT"}, "license", id="license-bytes"),
    pytest.param(
        "create", {"license": ["MIT", SURROGATE]}, "license", id="license-surrogate"
    ),
    pytest.param(
        "create", {"system": SURROGATE}, "system contains", id="create-system"
    ),
    pytest.param(
        "embed", {"input": ["ok", SURROGATE]}, "input[1]", id="embed-input-surrogate"
    ),
    pytest.param(
        "web_search",
        {"api_key": "ключ"},
        "api_key has an invalid value: it holds non-latin-1 text",
        id="api-key-non-latin-1",
    ),
    pytest.param(
        "web_search",
        {"api_key": "key\r\nX-Injected: 1"},
        "api_key has an invalid value: it holds a control character",
        id="api-key-crlf",
    ),
]


@pytest.mark.parametrize(("method", "kwargs", "message"), DEEP)
async def test_a_bad_value_deep_inside_is_refused_and_located(
    client: AsyncClient,
    fake_ollama: FakeOllama,
    method: str,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    call = _call(client, method, {**BASELINES[method], **kwargs})
    error = await _assert_refused(fake_ollama, call, message)
    assert error.error == str(error)


# -- headers and the environment ---------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param({"X-A": "日本"}, "non-latin-1", id="non-latin-1-value"),
        pytest.param({"X-A": SURROGATE}, "non-latin-1", id="surrogate-value"),
        pytest.param({"X-A": "a\x01b"}, "control character", id="control-value"),
        pytest.param({"X-A": "a\x7f"}, "control character", id="del-value"),
        pytest.param({"X-Ä": "a"}, "invalid name", id="non-ascii-name"),
        pytest.param({"X(A)": "a"}, "invalid name", id="separator-in-name"),
        pytest.param({"": "a"}, "invalid name", id="empty-name"),
        pytest.param({1: "a"}, "must map a str to a str", id="int-name"),
    ],
)
def test_bad_headers_are_refused(headers: dict[Any, str], message: str) -> None:
    with pytest.raises(RequestError, match=message) as info:
        AsyncClient("127.0.0.1:1", headers=headers)
    assert "headers[" in str(info.value)


async def test_latin_1_and_tab_in_a_header_value_pass(
    fake_ollama: FakeOllama,
) -> None:
    async with AsyncClient(fake_ollama.url, headers={"X-A": "café\tau lait"}) as c:
        await c.version()
    assert fake_ollama.requests[0].headers["X-A"] == "café\tau lait"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("ключ".encode(), "non-latin-1", id="non-latin-1"),
        pytest.param(b"\xff\xfe", "non-latin-1", id="not-utf-8"),
        pytest.param(b"key\x01", "control character", id="control"),
    ],
)
async def test_a_bad_ollama_api_key_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    fake_ollama: FakeOllama,
    raw: bytes,
    message: str,
) -> None:
    async with AsyncClient(fake_ollama.url) as client:
        client.web_url = fake_ollama.url
        # Bytes that are not UTF-8 reach os.environ as lone surrogates.
        monkeypatch.setitem(os.environb, b"OLLAMA_API_KEY", raw)
        with pytest.raises(RequestError, match=f"OLLAMA_API_KEY .*{message}"):
            AsyncClient(fake_ollama.url)
        # Read again by the web calls, when no api_key is given.
        with pytest.raises(RequestError, match=f"OLLAMA_API_KEY .*{message}"):
            await client.web_search("q")
    assert fake_ollama.requests == []


def test_an_ollama_host_that_is_not_utf_8_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(os.environb, b"OLLAMA_HOST", b"h\xff:1")
    with pytest.raises(RequestError, match=r"^OLLAMA_HOST: invalid host name"):
        AsyncClient()


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        pytest.param(("u", SURROGATE), "auth[1]", id="surrogate-password"),
        pytest.param((SURROGATE, "p"), "auth[0]", id="surrogate-user"),
    ],
)
def test_bad_basic_auth_is_refused(auth: tuple[str, str], message: str) -> None:
    with pytest.raises(RequestError) as info:
        AsyncClient("127.0.0.1:1", auth=auth)
    assert message in str(info.value)


def test_a_timeout_of_the_wrong_kind_names_timeout() -> None:
    for value in ("5", NAN, -1, [1]):
        with pytest.raises(RequestError, match=r"^timeout must be"):
            AsyncClient("127.0.0.1:1", timeout=value)  # type: ignore[arg-type]


# -- what the server accepts passes, converted as it converts ------------------------


async def _sent_options(
    server: FakeOllama, client: AsyncClient, options: Any
) -> dict[str, Any]:
    await client.chat(MODEL, HI, options=options)
    body = server.requests[-1].json
    assert isinstance(body, dict)
    sent: dict[str, Any] = body.get("options", {})
    return sent


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        pytest.param({"num_ctx": 4096.0}, {"num_ctx": 4096}, id="float-for-int"),
        pytest.param({"num_predict": 7.9}, {"num_predict": 7}, id="truncated"),
        pytest.param({"seed": -7.9}, {"seed": -7}, id="truncated-toward-zero"),
        pytest.param({"seed": 2**60 + 1}, {"seed": 2**60}, id="rounded-as-a-float64"),
        pytest.param(
            {"draft_num_predict": 3.0}, {"draft_num_predict": 3}, id="runner-option"
        ),
        pytest.param({"temperature": None}, {}, id="null-dropped"),
        pytest.param(
            {"temperature": 1, "top_p": 0.5},
            {"temperature": 1, "top_p": 0.5},
            id="int-for-float",
        ),
        pytest.param({"stop": ("a", "b")}, {"stop": ["a", "b"]}, id="stop-tuple"),
        pytest.param({"use_mmap": False}, {"use_mmap": False}, id="bool"),
        pytest.param(
            {"mirostat": 2, "future": {"a": [1, "x", None]}},
            {"mirostat": 2, "future": {"a": [1, "x", None]}},
            id="unknown-keys-kept",
        ),
        pytest.param(
            Options(num_ctx=2048.0, temperature=0.5),  # type: ignore[arg-type]
            {"num_ctx": 2048, "temperature": 0.5},
            id="typed-options",
        ),
    ],
)
async def test_options_the_server_accepts_pass_as_it_converts_them(
    client: AsyncClient, fake_ollama: FakeOllama, options: Any, sent: dict[str, Any]
) -> None:
    on_wire = await _sent_options(fake_ollama, client, options)
    assert on_wire == sent
    assert all(type(on_wire[k]) is type(v) for k, v in sent.items())


async def test_create_parameters_keep_null_which_clears_an_inherited_one(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    # The server stores parameters as given, and a null one shadows the base
    # model's value (server/create.go, setParameters); FromMap then skips it.
    await client.create("mine", from_=MODEL, parameters={"temperature": None})
    assert fake_ollama.requests[-1].json["parameters"] == {"temperature": None}


async def test_keep_alive_the_server_accepts_passes(
    client: AsyncClient, fake_ollama: FakeOllama
) -> None:
    for keep_alive in (-1, 0, 2.5, "1h30m", -(10**30)):
        await client.chat(MODEL, HI, keep_alive=keep_alive)
        assert fake_ollama.requests[-1].json["keep_alive"] == keep_alive


# -- the property behind it ----------------------------------------------------------

_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=4)
)
_json = st.recursive(
    _json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6).map(lambda k: f"x_{k}"), _json, max_size=4))
def test_unknown_options_are_sent_exactly_or_refused(options: dict[str, Any]) -> None:
    try:
        checked = options_arg(options)
        wire = msgspec.json.encode(checked)
    except RequestError:
        return
    # Whatever passed is sent as it was given (None left out, as the server
    # ignores it): no NaN turned into null, no bytes into base64, no dropped
    # surrogate.
    assert msgspec.json.decode(wire) == {
        k: v for k, v in options.items() if v is not None
    }
    assert not any(
        isinstance(v, float) and not math.isfinite(v) for v in options.values()
    )
