"""Responses behave like the official client's pydantic models wherever user
code touches them: ``r["x"]``, ``"x" in r``, ``r.get``, ``dict(r)``,
``list(r)``, ``for name, value in r``, ``model_dump()``, ``model_dump_json()``.

Every case decodes one JSON payload, as Ollama sends it (docs/api.md, Go's
api/types.go, ollama-python's tests), three ways: with our type, with the
official pydantic type, and with a pydantic *mirror* of our type (our fields,
defaults and wire names, on the official ``SubscriptableBaseModel``).

- Against the mirror, every behaviour is identical: that is the test of
  ``types/_base.py`` itself, free of any difference in field declarations.
- Against the official type, every field both declare behaves identically.
  What differs is declared in ``DIFFERENCES`` (checked against the classes)
  and in the rules of ``_dropped``, each with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

import ollama_async.types
from ollama_async.types import (
    ChatResponse,
    CloudStatus,
    CreateRequest,
    DebugInfo,
    EmbeddingsResponse,
    EmbedResponse,
    GenerateResponse,
    ListModel,
    ListResponse,
    Logprob,
    Message,
    Model,
    ModelDetails,
    ProcessModel,
    ProcessResponse,
    ProgressResponse,
    ServerStatus,
    ShowResponse,
    StatusResponse,
    Tensor,
    TokenLogprob,
    ToolCall,
    ToolCallFunction,
    UserResponse,
    VersionResponse,
    WebFetchResponse,
    WebSearchResponse,
    WebSearchResult,
)

pydantic = pytest.importorskip("pydantic")
official = pytest.importorskip("ollama._types")

# -- payloads ----------------------------------------------------------------------

DETAILS = {  # docs/api.md, "List Local Models"
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "3.2B",
    "quantization_level": "Q4_K_M",
}
TOOL_CALL = {  # docs/api.md "with tools", plus the id and index servers now send
    "id": "call_k3hn0q4p",
    "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Tokyo"}},
}
LOGPROB = {  # ollama-python tests/test_client.py, plus Go's optional "bytes"
    "token": "Hello",
    "logprob": -0.1,
    "bytes": [72, 101, 108, 108, 111],
    "top_logprobs": [
        {"token": "Hello", "logprob": -0.1},
        {"token": "Hi", "logprob": -1.0, "bytes": [72, 105]},
    ],
}
LIST_MODEL = {  # docs/api.md, with capabilities (Go's ListModelResponse)
    "name": "llama3.2:latest",
    "model": "llama3.2:latest",
    "modified_at": "2025-05-04T17:37:44.706015396-07:00",
    "size": 2019393189,
    "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
    "details": DETAILS,
    "capabilities": ["completion", "tools"],
}
PROCESS_MODEL = {  # docs/api.md, "List Running Models", plus context_length
    "name": "mistral:latest",
    "model": "mistral:latest",
    "size": 5137025024,
    "digest": "2ae6f6dd7a3dd734790bbbf58b8909a606e0e7e97e94b7604e0aa7ae4490e6d8",
    "details": {**DETAILS, "family": "llama", "parameter_size": "7.2B"},
    "expires_at": "2024-06-04T14:38:31.83753-07:00",
    "size_vram": 5137025024,
    "context_length": 4096,
}
METRICS = {  # docs/api.md, a final chunk
    "total_duration": 4883583458,
    "load_duration": 1334875,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 342546000,
    "eval_count": 282,
    "eval_duration": 4535599000,
}
SEARCH_RESULT = {  # docs/capabilities/web-search.mdx
    "title": "Ollama",
    "url": "https://ollama.com/",
    "content": "Cloud models are now available...",
}


@dataclass(frozen=True)
class Case:
    id: str
    type: type[Model]
    payload: dict[str, Any]

    @property
    def raw(self) -> bytes:
        return msgspec.json.encode(self.payload)


CASES = [
    # /api/chat (docs/api.md): a chunk (with its explicit "images": null), ...
    Case(
        "chat-chunk",
        ChatResponse,
        {
            "model": "llama3.2",
            "created_at": "2023-08-04T08:52:19.385406455-07:00",
            "message": {"role": "assistant", "content": "The", "images": None},
            "done": False,
        },
    ),
    Case(
        "chat-final",
        ChatResponse,
        {
            "model": "llama3.2",
            "created_at": "2023-08-04T19:22:45.499127Z",
            "message": {"role": "assistant", "content": ""},
            "done_reason": "stop",
            "done": True,
            **METRICS,
        },
    ),
    Case(
        "chat-tool-call",
        ChatResponse,
        {
            "model": "llama3.2",
            "created_at": "2025-07-07T20:32:53.844124Z",
            "message": {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
            "done_reason": "stop",
            "done": True,
            **METRICS,
        },
    ),
    Case(
        "chat-thinking-logprobs-cloud",
        ChatResponse,
        {
            "model": "gpt-oss:20b-cloud",
            "remote_model": "gpt-oss:20b",
            "remote_host": "https://ollama.com:443",
            "created_at": "2025-10-26T17:21:21Z",
            "message": {
                "role": "assistant",
                "content": "Hello",
                "thinking": "The user greets me.",
            },
            "done": True,
            "done_reason": "stop",
            "logprobs": [LOGPROB],
        },
    ),
    # ... and ollama-python's own fixture (tests/test_client.py): no created_at,
    # no done, which a real server always sends.
    Case(
        "chat-official-test",
        ChatResponse,
        {
            "model": "dummy",
            "message": {"role": "assistant", "content": "I don't know."},
        },
    ),
    # /api/generate (docs/api.md).
    Case(
        "generate-chunk",
        GenerateResponse,
        {
            "model": "llama3.2",
            "created_at": "2023-08-04T08:52:19.385406455-07:00",
            "response": "The",
            "done": False,
        },
    ),
    Case(
        "generate-final",
        GenerateResponse,
        {
            "model": "llama3.2",
            "created_at": "2023-08-04T19:22:45.499127Z",
            "response": "The sky is blue because it is the color of the sky.",
            "done": True,
            "context": [1, 2, 3],
            **METRICS,
        },
    ),
    Case(
        "generate-unload",
        GenerateResponse,
        {
            "model": "llama3.2",
            "created_at": "2024-09-12T03:54:03.516566Z",
            "response": "",
            "done": True,
            "done_reason": "unload",
        },
    ),
    Case(
        "generate-thinking-tools-logprobs",
        GenerateResponse,
        {
            "model": "qwen3",
            "created_at": "2025-10-26T17:21:21.196249Z",
            "response": "",
            "thinking": "Let me think",
            "done": True,
            "tool_calls": [TOOL_CALL],
            "logprobs": [LOGPROB],
        },
    ),
    # /api/embed and /api/embeddings (docs/api.md).
    Case(
        "embed",
        EmbedResponse,
        {
            "model": "all-minilm",
            "embeddings": [
                [0.010071029, -0.0017594862, 0.05007221],
                [-0.0098027075, 0.06042469, 0.025257962],
            ],
            "total_duration": 14143917,
            "load_duration": 1019500,
            "prompt_eval_count": 8,
        },
    ),
    Case(
        "embeddings",
        EmbeddingsResponse,
        {"embedding": [0.5670403838157654, 0.009260174818336964, -1.25e-05]},
    ),
    # Model management (docs/api.md).
    Case(
        "list",
        ListResponse,
        {
            "models": [
                {
                    **LIST_MODEL,
                    "name": "deepseek-r1:latest",
                    "model": "deepseek-r1:latest",
                    "modified_at": "2025-05-10T08:06:48.639712648-07:00",
                },
                LIST_MODEL,
            ]
        },
    ),
    Case(
        "show",
        ShowResponse,
        {
            "modelfile": '# Modelfile generated by "ollama show"\nFROM llava:latest',
            "parameters": 'num_keep                       24\nstop        "<|eot_id|>"',
            "template": "{{ .System }}\nUSER: {{ .Prompt }}\nASSISTANT: ",
            "details": {
                **DETAILS,
                "parameter_size": "8.0B",
                "quantization_level": "Q4_0",
            },
            "model_info": {
                "general.architecture": "llama",
                "general.file_type": 2,
                "general.parameter_count": 8030261248,
                "llama.attention.layer_norm_rms_epsilon": 0.00001,
                "llama.context_length": 8192,
                "tokenizer.ggml.tokens": [],
            },
            "tensors": [
                {"name": "token_embd.weight", "type": "Q6_K", "shape": [3072, 128256]}
            ],
            "capabilities": ["completion", "vision"],
            "modified_at": "2025-10-20T09:42:01.5-07:00",
        },
    ),
    Case("ps", ProcessResponse, {"models": [PROCESS_MODEL]}),
    Case("status", StatusResponse, {"status": "success"}),
    Case("progress-manifest", ProgressResponse, {"status": "pulling manifest"}),
    Case(
        "progress-layer",
        ProgressResponse,
        {
            "status": "pulling digestname",
            "digest": "digestname",
            "total": 2142590208,
            "completed": 241970,
        },
    ),
    Case("version", VersionResponse, {"version": "0.5.1"}),
    # ollama.com (docs/capabilities/web-search.mdx).
    Case(
        "web-search",
        WebSearchResponse,
        {
            "results": [
                SEARCH_RESULT,
                {
                    "title": "What is Ollama? Introduction to the AI model management",
                    "url": "https://www.hostinger.com/tutorials/what-is-ollama",
                    "content": "Ariffud M. 6min Read...",
                },
            ]
        },
    ),
    Case(
        "web-fetch",
        WebFetchResponse,
        {
            "title": "Ollama",
            "content": "[Cloud models](https://ollama.com/blog/cloud-models) are here",
            "links": ["http://ollama.com/", "https://github.com/ollama/ollama"],
        },
    ),
    # /api/status and /api/me (Go's server/routes_cloud_test.go, api.UserResponse).
    Case("server-status", ServerStatus, {"cloud": {"disabled": True, "source": "env"}}),
    Case(
        "user",
        UserResponse,
        {
            "id": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
            "email": "parth@example.com",
            "name": "parth",
            "bio": "hi",
            "avatarurl": "avatars/parth.png",
            "firstname": "Parth",
            "lastname": "S",
            "plan": "pro",
        },
    ),
    Case("user-minimal", UserResponse, {"name": "parth", "plan": "pro"}),
    # The nested types user code reaches into, decoded on their own.
    Case(
        "message-chunk",
        Message,
        {"role": "assistant", "content": "The", "images": None},
    ),
    Case(
        "message-tool-calls",
        Message,
        {
            "role": "assistant",
            "content": "",
            "thinking": "weather?",
            "tool_calls": [TOOL_CALL],
        },
    ),
    Case(
        "message-tool-result",
        Message,
        {
            "role": "tool",
            "content": "11 degrees",
            "tool_name": "get_weather",
            "tool_call_id": "call_k3hn0q4p",
        },
    ),
    Case("tool-call", ToolCall, TOOL_CALL),
    Case("tool-call-function", ToolCallFunction, TOOL_CALL["function"]),
    Case("model-details", ModelDetails, DETAILS),
    # Go's ModelDetails.Families has no omitempty: a nil slice is sent as null.
    Case(
        "model-details-null-families",
        ModelDetails,
        {**DETAILS, "families": None, "context_length": 131072},
    ),
    Case("list-model", ListModel, LIST_MODEL),
    Case("process-model", ProcessModel, PROCESS_MODEL),
    Case("logprob", Logprob, LOGPROB),
    Case("token-logprob", TokenLogprob, {"token": "Hi", "logprob": -1.0}),
    Case("web-search-result", WebSearchResult, SEARCH_RESULT),
    Case("tensor", Tensor, {"name": "output.weight", "type": "Q6_K", "shape": [4096]}),
    Case("cloud-status", CloudStatus, {"disabled": False, "source": "none"}),
    Case(
        "debug-info",
        DebugInfo,
        {"rendered_template": "<|user|>Hi<|assistant|>", "image_count": 1},
    ),
]

# Our type -> the official type. Ours without one: VersionResponse (the official
# client has no version()), ServerStatus, CloudStatus, UserResponse, Tensor,
# DebugInfo; they are compared with their mirror only.
OFFICIAL: dict[type[Model], Any] = {
    ChatResponse: official.ChatResponse,
    GenerateResponse: official.GenerateResponse,
    EmbedResponse: official.EmbedResponse,
    EmbeddingsResponse: official.EmbeddingsResponse,
    ListResponse: official.ListResponse,
    ListModel: official.ListResponse.Model,
    ShowResponse: official.ShowResponse,
    ProcessResponse: official.ProcessResponse,
    ProcessModel: official.ProcessResponse.Model,
    StatusResponse: official.StatusResponse,
    ProgressResponse: official.ProgressResponse,
    WebSearchResponse: official.WebSearchResponse,
    WebSearchResult: official.WebSearchResult,
    WebFetchResponse: official.WebFetchResponse,
    Message: official.Message,
    ToolCall: official.Message.ToolCall,
    ToolCallFunction: official.Message.ToolCall.Function,
    ModelDetails: official.ModelDetails,
    Logprob: official.Logprob,
    TokenLogprob: official.TokenLogprob,
}


# Request-side types: the official ones are pydantic models too, but user code
# builds them, it does not read them from a reply.
REQUEST_SIDE = {
    "Image",
    "Model",
    "Options",
    "Tool",
    "ToolFunction",
    "ToolParameters",
    "ToolProperty",
}


def test_every_response_type_has_a_case() -> None:
    models = {
        name
        for name in ollama_async.types.__all__
        if isinstance(t := getattr(ollama_async.types, name), type)
        and issubclass(t, Model)
    }
    responses = {n for n in models - REQUEST_SIDE if not n.endswith("Request")}
    assert responses == {c.type.__name__ for c in CASES}


# -- what differs from the official types, by declaration ------------------------


@dataclass(frozen=True)
class Differences:
    """How one of our types is declared apart from its official counterpart.

    ours_only: fields Ollama sends that the official type does not declare, so
        pydantic drops them on decode; they are keys of our dumps, not theirs.
    theirs_only: fields only the official type declares.
    defaults: fields both declare whose default differs. Ours are values of
        the field's type where the server may leave a field out (STYLE.md §2);
        theirs are None, or required. Only ``exclude_defaults``, and fields
        absent from the payload, show it.
    reordered: the fields both declare come in another order, which only
        ``list(r)``, iteration and the key order of a JSON dump show.
    """

    ours_only: frozenset[str] = frozenset()
    theirs_only: frozenset[str] = frozenset()
    defaults: frozenset[str] = frozenset()
    reordered: bool = False


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


_CLOUD = ("remote_model", "remote_host")  # cloud models: the upstream that answered
_EMPTY_WHEN_ABSENT = _names("model", "done")

DIFFERENCES: dict[type[Model], Differences] = {
    ChatResponse: Differences(
        # debug_info: the reply to _debug_render_only.
        ours_only=_names(*_CLOUD, "debug_info"),
        defaults=_EMPTY_WHEN_ABSENT,
    ),
    GenerateResponse: Differences(
        # tool_calls: models with a built-in tool parser (Go's GenerateResponse).
        ours_only=_names(*_CLOUD, "debug_info", "tool_calls"),
        defaults=_EMPTY_WHEN_ABSENT | {"response"},
    ),
    # The official EmbedResponse extends BaseGenerateResponse; ours declares
    # its fields that Go's api.EmbedResponse lacks (created_at, done, ...) too,
    # always None, so the dumps have the same keys.
    EmbedResponse: Differences(defaults=_names("model")),
    EmbeddingsResponse: Differences(),
    ListResponse: Differences(defaults=_names("models")),  # [] when null or absent
    ListModel: Differences(
        ours_only=_names("name", "capabilities", *_CLOUD),
        defaults=_names("model"),
    ),
    ShowResponse: Differences(
        # Go's ShowResponse fields the official type does not declare.
        ours_only=_names(
            "system",
            "projector_info",
            "tensors",
            "messages",
            "renderer",
            "parser",
            "requires",
            *_CLOUD,
        ),
        # The official modelinfo is required (Optional, no default); ours is
        # None when absent (Go sends it with omitempty).
        defaults=_names("modelinfo"),
    ),
    ProcessResponse: Differences(defaults=_names("models")),
    ProcessModel: Differences(defaults=_names("model", "name")),
    StatusResponse: Differences(),
    ProgressResponse: Differences(
        defaults=_names("status"),  # ours is required: it tells a line from {}
    ),
    WebSearchResponse: Differences(defaults=_names("results")),
    WebSearchResult: Differences(defaults=_names("title", "url", "content")),
    WebFetchResponse: Differences(defaults=_names("title", "content", "links")),
    Message: Differences(
        ours_only=_names("tool_call_id"),  # on role="tool" results
        defaults=_names("content"),  # Go always sends content
    ),
    ToolCall: Differences(ours_only=_names("id")),  # "call_" + 8 characters
    ToolCallFunction: Differences(
        ours_only=_names("index"),  # Go always sends it
        defaults=_names("arguments"),  # {} when absent; official: required
    ),
    ModelDetails: Differences(ours_only=_names("context_length", "embedding_length")),
    Logprob: Differences(ours_only=_names("bytes")),  # UTF-8 bytes of the token
    TokenLogprob: Differences(ours_only=_names("bytes")),
}

_REQUIRED = object()


def _our_default(info: msgspec.structs.FieldInfo) -> Any:
    if info.default is not msgspec.NODEFAULT:
        return info.default
    if info.default_factory is not msgspec.NODEFAULT:
        return info.default_factory()
    return _REQUIRED


def _our_fields(cls: type[Model]) -> dict[str, msgspec.structs.FieldInfo]:
    return {
        f.name: f for f in msgspec.structs.fields(cls) if not f.name.startswith("_")
    }


@pytest.mark.parametrize("ours", list(DIFFERENCES), ids=lambda t: t.__name__)
def test_declared_differences_are_the_real_ones(ours: type[Model]) -> None:
    theirs = OFFICIAL[ours].model_fields
    mine = _our_fields(ours)
    expected = DIFFERENCES[ours]
    assert mine.keys() - theirs.keys() == expected.ours_only
    assert theirs.keys() - mine.keys() == expected.theirs_only
    defaults = set()
    for name in mine.keys() & theirs.keys():
        field = theirs[name]
        other = _REQUIRED if field.is_required() else field.get_default()
        if _our_default(mine[name]) != other:
            defaults.add(name)
    assert defaults == expected.defaults
    common = [n for n in mine if n in theirs]
    assert (common != [n for n in theirs if n in mine]) == expected.reordered


# -- the pydantic mirror of our types ------------------------------------------------

_MIRRORS: dict[type, Any] = {}


def mirror(cls: type[Model]) -> Any:
    """A pydantic model declaring what ``cls`` declares: the same field names,
    types, defaults and wire names (as aliases), on the official base class."""
    if cls not in _MIRRORS:
        fields: dict[str, Any] = {}
        for info in _our_fields(cls).values():
            alias = {"alias": info.encode_name} if info.encode_name != info.name else {}
            default = _our_default(info)
            if default is _REQUIRED:
                spec = pydantic.Field(**alias)
            elif info.default_factory is not msgspec.NODEFAULT:
                factory = info.default_factory
                spec = pydantic.Field(
                    default_factory=lambda f=factory: _mirrored(f()), **alias
                )
            else:
                spec = pydantic.Field(default=_mirrored(default), **alias)
            fields[info.name] = (_mirrored_type(info.type), spec)
        _MIRRORS[cls] = pydantic.create_model(
            cls.__name__, __base__=official.SubscriptableBaseModel, **fields
        )
    return _MIRRORS[cls]


def _mirrored(value: Any) -> Any:
    if isinstance(value, Model):
        return mirror(type(value)).model_validate(msgspec.to_builtins(value))
    return value


def _mirrored_type(tp: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, Model):
        return mirror(tp)
    args = typing.get_args(tp)
    if not args:
        return tp
    args = tuple(_mirrored_type(a) for a in args)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[args]  # noqa: UP007 (built from a tuple)
    return origin[args]


def ours_of(case: Case) -> Any:
    return msgspec.json.decode(case.raw, type=case.type)


def official_of(case: Case) -> Any:
    return OFFICIAL[case.type].model_validate_json(case.raw)


def mirror_of(case: Case) -> Any:
    return mirror(case.type).model_validate_json(case.raw)


# -- behaviours ----------------------------------------------------------------------

MISSING = object()
KEY_ERROR = "<KeyError>"


def plain(value: Any) -> Any:
    """Records of either kind as dicts of what iterating them yields."""
    if isinstance(value, Model | pydantic.BaseModel):
        return {k: plain(v) for k, v in value}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _getitem(record: Any, key: str) -> Any:
    try:
        return plain(record[key])
    except KeyError as e:
        assert e.args == (key,)
        return KEY_ERROR


@dataclass(frozen=True)
class Behaviour:
    run: Callable[[Any, list[str]], Any]
    kind: str = "value"  # what it shows besides values: "presence", "unset", "defaults"
    by_alias: bool = False
    ordered: bool = False  # the result is a sequence of pairs

    @staticmethod
    def dump(kind: str = "value", **kwargs: Any) -> Behaviour:
        return Behaviour(
            lambda r, _: r.model_dump(**kwargs), kind, "by_alias" in kwargs
        )

    @staticmethod
    def json(kind: str = "value", **kwargs: Any) -> Behaviour:
        return Behaviour(
            lambda r, _: json.loads(r.model_dump_json(**kwargs)),
            kind,
            "by_alias" in kwargs,
        )


BEHAVIOURS: dict[str, Behaviour] = {
    "dict": Behaviour(lambda r, _: plain(dict(r))),
    "list": Behaviour(lambda r, _: [(k, plain(v)) for k, v in list(r)], ordered=True),
    "iter": Behaviour(lambda r, _: [(k, plain(v)) for k, v in r], ordered=True),
    "getitem": Behaviour(lambda r, ks: {k: _getitem(r, k) for k in ks}, "presence"),
    "in": Behaviour(lambda r, ks: {k: k in r for k in ks}, "presence"),
    "get": Behaviour(lambda r, ks: {k: plain(r.get(k)) for k in ks}),
    "get-default": Behaviour(lambda r, ks: {k: plain(r.get(k, MISSING)) for k in ks}),
    "model_dump": Behaviour.dump(),
    "model_dump-json": Behaviour.dump(mode="json"),
    "model_dump-exclude_none": Behaviour.dump(exclude_none=True),
    "model_dump-exclude_unset": Behaviour.dump("unset", exclude_unset=True),
    "model_dump-exclude_defaults": Behaviour.dump("defaults", exclude_defaults=True),
    "model_dump-by_alias": Behaviour.dump(by_alias=True),
    "model_dump-json-by_alias-exclude_none": Behaviour.dump(
        mode="json", by_alias=True, exclude_none=True
    ),
    "model_dump-include": Behaviour(lambda r, ks: r.model_dump(include=set(ks[:2]))),
    "model_dump-exclude": Behaviour(lambda r, ks: r.model_dump(exclude=set(ks[:2]))),
    "model_dump_json": Behaviour.json(),
    "model_dump_json-indent": Behaviour.json(indent=2),
    "model_dump_json-ensure_ascii": Behaviour.json(ensure_ascii=True),
    "model_dump_json-exclude_none": Behaviour.json(exclude_none=True),
    "model_dump_json-exclude_unset": Behaviour.json("unset", exclude_unset=True),
    "model_dump_json-exclude_defaults": Behaviour.json(
        "defaults", exclude_defaults=True
    ),
    "model_dump_json-by_alias": Behaviour.json(by_alias=True),
    "model_dump_json-include": Behaviour(
        lambda r, ks: json.loads(r.model_dump_json(include=set(ks[:2])))
    ),
    "model_dump_json-exclude": Behaviour(
        lambda r, ks: json.loads(r.model_dump_json(exclude=set(ks[:2])))
    ),
}

# -- comparing, with the differences that are not declarations ---------------------

BEYOND_MICROSECONDS = re.compile(r"\.\d{7,}")


@dataclass(frozen=True)
class Field:
    ours: str  # attribute names
    theirs: str
    wire: str  # the payload's key
    default: Any  # ours


@dataclass(frozen=True)
class Pair:
    """The keys of two records' outputs: field names, or aliases by_alias."""

    fields: dict[str, Field]  # keys both have
    one_sided: frozenset[str]  # keys only one has

    @classmethod
    def of(cls, ours: type[Model], theirs: Any, by_alias: bool) -> Pair:
        mine = {
            (f.encode_name if by_alias else f.name): f
            for f in _our_fields(ours).values()
        }
        other = {
            ((f.alias or n) if by_alias else n): n
            for n, f in theirs.model_fields.items()
        }
        common = {
            k: Field(mine[k].name, other[k], mine[k].encode_name, _our_default(mine[k]))
            for k in mine.keys() & other.keys()
        }
        return cls(common, frozenset(mine.keys() ^ other.keys()))


@dataclass(frozen=True)
class Context:
    behaviour: Behaviour
    official: bool  # against the official type, not the mirror


def _dropped(field: Field, record: Any, sent: Any, ctx: Context) -> bool:
    """Whether a key is left out of the comparison, by one of these rules."""
    kind = ctx.behaviour.kind
    defaulted = field.default is not None and field.default is not _REQUIRED
    if sent is None:
        # The server sent null. A field whose default is a value of its type
        # (OrNull in types/_common.py) holds that value; pydantic keeps None.
        if defaulted:
            return True
        # pydantic records that the JSON set the field (model_fields_set); a
        # Struct keeps no such record, so null counts as unset here (`in`,
        # `[]`, exclude_unset).
        return kind in ("presence", "unset")
    if sent is MISSING and defaulted:
        # Not sent: ours holds its default, the official type None. Against
        # the mirror (same default) only exclude_unset tells: pydantic knows
        # the field was not sent, we count any non-None value as set.
        return ctx.official or kind == "unset"
    # exclude_defaults against defaults the official type does not share.
    return (
        ctx.official
        and kind == "defaults"
        and field.ours in DIFFERENCES[type(record)].defaults
    )


def prune(out: Any, ours: Any, theirs: Any, sent: Any, ctx: Context) -> Any:
    """``out`` (either side's result) without the keys ``_dropped`` names or
    only one side declares; sub-microsecond datetimes cut to milliseconds."""
    if isinstance(ours, Model) and isinstance(out, dict):
        pair = Pair.of(type(ours), type(theirs), ctx.behaviour.by_alias)
        kept = {}
        for key, value in out.items():
            field = pair.fields.get(key)
            if field is None:
                if key not in pair.one_sided:  # "nonsense"
                    kept[key] = value
                continue
            wire = sent.get(field.wire, MISSING) if isinstance(sent, dict) else MISSING
            if not _dropped(field, ours, wire, ctx):
                kept[key] = prune(
                    value,
                    getattr(ours, field.ours),
                    getattr(theirs, field.theirs),
                    wire,
                    ctx,
                )
        return kept
    if isinstance(ours, list) and isinstance(out, list):
        if not out:
            return out
        assert len(out) == len(ours) == len(theirs)  # filters keep lists aligned
        sent = sent if isinstance(sent, list) else [MISSING] * len(ours)
        return [prune(*args, ctx) for args in zip(out, ours, theirs, sent, strict=True)]
    if (
        isinstance(out, dt.datetime | str)
        and isinstance(sent, str)
        and BEYOND_MICROSECONDS.search(sent)
    ):
        # msgspec rounds digits beyond microseconds, pydantic cuts them off.
        stamp = out if isinstance(out, dt.datetime) else dt.datetime.fromisoformat(out)
        return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
    return out


def compare(
    case: Case, behaviour: Behaviour, theirs_of: Callable[[Case], Any], keys: list[str]
) -> tuple[list[Any], list[Any]]:
    """Run ``behaviour`` on our record and theirs, assert the results equal
    after ``prune``; return their keys, in order."""
    ours, theirs = ours_of(case), theirs_of(case)
    mine, other = behaviour.run(ours, keys), behaviour.run(theirs, keys)
    ctx = Context(behaviour, official=theirs_of is official_of)
    if behaviour.ordered:
        assert len(dict(mine)) == len(mine)  # no key twice
        mine, other = dict(mine), dict(other)
    mine = prune(mine, ours, theirs, case.payload, ctx)
    other = prune(other, ours, theirs, case.payload, ctx)
    assert mine == other
    return list(mine), list(other)


def case(id: str) -> Case:
    return next(c for c in CASES if c.id == id)


CASE_PARAMS = [pytest.param(c, id=c.id) for c in CASES]
OFFICIAL_PARAMS = [pytest.param(c, id=c.id) for c in CASES if c.type in OFFICIAL]


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_same_as_pydantic_with_our_fields(case: Case, behaviour: str) -> None:
    keys = [*_our_fields(case.type), "nonsense"]
    mine, other = compare(case, BEHAVIOURS[behaviour], mirror_of, keys)
    assert mine == other  # in the same order


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@pytest.mark.parametrize("case", OFFICIAL_PARAMS)
def test_same_as_the_official_type(case: Case, behaviour: str) -> None:
    theirs = OFFICIAL[case.type].model_fields
    keys = [*(k for k in _our_fields(case.type) if k in theirs), "nonsense"]
    mine, other = compare(case, BEHAVIOURS[behaviour], official_of, keys)
    if not DIFFERENCES[case.type].reordered:
        assert mine == other  # in the same order
    elif BEHAVIOURS[behaviour].ordered:
        assert mine != other


# -- the differences that are not declarations, shown --------------------------------


def test_dict_of_a_response() -> None:
    # dict(r) raised KeyError: 0 (no __iter__, so Python tried r[0], r[1], ...).
    r = ours_of(case("chat-final"))
    assert dict(r)["message"] is r.message
    assert dict(r)["eval_count"] == 282
    assert ("done", True) in list(r)


def test_explicit_null_counts_as_unset() -> None:
    # docs/api.md's chat chunk sends "images": null. pydantic records that the
    # JSON set it; a Struct has no per-instance record of what was sent.
    payload = case("chat-chunk").raw
    ours = msgspec.json.decode(payload, type=ChatResponse).message
    theirs = official.ChatResponse.model_validate_json(payload).message
    assert ours.images is theirs.images is None
    assert ("images" in ours, "images" in theirs) == (False, True)
    assert _getitem(ours, "images") == KEY_ERROR
    assert theirs["images"] is None
    assert "images" not in ours.model_dump(exclude_unset=True)
    assert theirs.model_dump(exclude_unset=True)["images"] is None
    assert ours.get("images") is theirs.get("images") is None  # the same


def test_not_sent_is_the_default_not_none() -> None:
    # ollama-python's own fixture has no "done"; real servers always send it.
    payload = b'{"model":"dummy","message":{"role":"assistant","content":"Hi"}}'
    ours = msgspec.json.decode(payload, type=ChatResponse)
    theirs = official.ChatResponse.model_validate_json(payload)
    assert (ours.done, theirs.done) == (False, None)
    assert ("done" in ours, "done" in theirs) == (True, False)
    assert "done" in ours.model_dump(exclude_unset=True)
    assert "done" not in theirs.model_dump(exclude_unset=True)


def test_sub_microsecond_digits() -> None:
    # Go sends up to 9 fractional digits; msgspec rounds them, pydantic cuts.
    payload = case("list").raw
    (ours, _) = msgspec.json.decode(payload, type=ListResponse).models
    (theirs, _) = official.ListResponse.model_validate_json(payload).models
    assert ours.modified_at.microsecond == 639713  # .639712648
    assert theirs.modified_at.microsecond == 639712
    assert ours.model_dump_json(include={"modified_at"}) == (
        '{"modified_at":"2025-05-10T08:06:48.639713-07:00"}'
    )


@pytest.mark.parametrize("case", OFFICIAL_PARAMS)
def test_fields_only_the_official_type_has_are_absent(case: Case) -> None:
    ours = ours_of(case)
    for name in DIFFERENCES[case.type].theirs_only:
        assert name not in ours
        assert _getitem(ours, name) == KEY_ERROR
        assert ours.get(name, MISSING) is MISSING


def test_show_modelinfo() -> None:
    # The official field is `modelinfo`, read from "model_info", as is ours;
    # `model_info`, our field's name before, stays as a read-only property.
    ours = ours_of(case("show"))
    theirs = official_of(case("show"))
    assert ours.modelinfo == ours["modelinfo"] == theirs["modelinfo"]
    assert "modelinfo" in ours and "modelinfo" in theirs
    assert ours.model_info is ours.modelinfo
    assert ours.get("model_info") is ours.modelinfo
    assert ours.model_dump()["modelinfo"] == theirs.model_dump()["modelinfo"]
    assert (
        ours.model_dump(by_alias=True)["model_info"]
        == theirs.model_dump(by_alias=True)["model_info"]
    )


# -- dict-style access: semantics shared with the official client -------------------


@pytest.mark.parametrize(
    "theirs_of", [official_of, mirror_of], ids=["official", "mirror"]
)
def test_get_is_getattr(theirs_of: Callable[[Case], Any]) -> None:
    # Official: `getattr(self, key) if hasattr(self, key) else default`. A field
    # that is None gives None, not the default, though it is not `in` r.
    for r in (ours_of(case("chat-chunk")), theirs_of(case("chat-chunk"))):
        assert "eval_count" not in r
        assert r.get("eval_count", 0) is None
        assert r.get("nonsense", 0) == 0
        assert r.get("model") == "llama3.2"


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_setitem(case: Case) -> None:
    ours, theirs = ours_of(case), mirror_of(case)
    name, value = next((k, v) for k, v in ours if v is not None)
    for r in (ours, theirs):
        r[name] = "new"
        assert r[name] == getattr(r, name) == "new"
        assert name in r
        r[name] = value  # unchecked, as pydantic without validate_assignment
        assert r[name] is value
    for r in (ours, theirs):
        error = f'"{case.type.__name__}" object has no field "nonsense"'
        with pytest.raises(ValueError, match=error):
            r["nonsense"] = 1


def test_setitem_then_in() -> None:
    ours, theirs = ours_of(case("chat-chunk")), official_of(case("chat-chunk"))
    for r in (ours, theirs):
        r["message"]["content"] = "edited"
        r["eval_count"] = 3
        assert r["message"]["content"] == "edited" and r.message.content == "edited"
        assert "eval_count" in r and r["eval_count"] == 3
        r["done_reason"] = None
    # pydantic records the assignment; ours cannot tell it from "never sent".
    assert ("done_reason" in ours, "done_reason" in theirs) == (False, True)


def test_wire_names_are_keys_too() -> None:
    # An extension: the official client only takes attribute names.
    user = ours_of(case("user"))
    assert user["avatarurl"] == user["avatar_url"] == "avatars/parth.png"
    assert "firstname" in user and user.get("lastname") == "S"
    assert "firstname" not in mirror_of(case("user"))
    request = CreateRequest(model="m", stream=False, from_="base")
    assert request["from"] == request.get("from") == "base"
    request["from"] = "other"
    assert request.from_ == "other"
    assert "from" not in CreateRequest(model="m", stream=False)  # UNSET


def test_private_fields_are_not_keys() -> None:
    # pydantic has no field whose name starts with "_"; neither do our dumps.
    r = ours_of(case("chat-final"))
    assert all(not name.startswith("_") for name, _ in r)
    assert "_debug_info" not in r.model_dump()  # debug_info, by its name
    assert "_debug_info" in r.model_dump(by_alias=True)


# -- model_dump's arguments ---------------------------------------------------------

TOOLS = case("chat-tool-call")
FILTERS = [
    {"message"},
    {"message": True},
    {"message": ...},
    {"message": {"tool_calls"}},
    {"message": {"tool_calls": {0: {"function": {"name"}}}}},
    {"message": {"tool_calls": {"__all__": {"function": {"name", "arguments"}}}}},
    {"message": {"tool_calls": {"__all__": {"function": {"name"}}, 0: True}}},
    {"message": {"tool_calls": {"__all__": {"function"}, 0: {"function": {"name"}}}}},
    {"message": {"tool_calls": {"__all__": {"function": {"arguments": {"city"}}}}}},
    {"message": {"role": True, "content": False}},
    {"message": None},
    {"__all__": True},
    {"__all__": {"role"}},
    ["model", "done"],
    ("model",),
    frozenset({"model", "nonsense"}),
    set(),
    {},
]


@pytest.mark.parametrize("spec", FILTERS, ids=repr)
@pytest.mark.parametrize(
    "theirs_of", [official_of, mirror_of], ids=["official", "mirror"]
)
def test_include_and_exclude(spec: Any, theirs_of: Callable[[Case], Any]) -> None:
    for kwargs in (
        {"include": spec, "exclude": {"created_at": True}},
        {"exclude": spec, "include": {"model", "done", "eval_count", "message"}},
    ):
        behaviour = Behaviour(lambda r, _, kwargs=kwargs: r.model_dump(**kwargs))
        compare(TOOLS, behaviour, theirs_of, [])


def test_a_filter_that_is_neither_set_nor_dict() -> None:
    ours, theirs = ours_of(TOOLS), mirror_of(TOOLS)
    for r in (ours, theirs):
        with pytest.raises(Exception, match="`exclude` argument must be a set or dict"):
            r.model_dump(exclude={"message": False})


def test_mode_is_json_only_when_exactly_json() -> None:
    model = case("process-model")
    for r in (ours_of(model), mirror_of(model)):
        for mode in ("JSON", "python", "other"):
            assert isinstance(r.model_dump(mode=mode)["expires_at"], dt.datetime)
        assert (
            r.model_dump(mode="json")["expires_at"]
            == "2024-06-04T14:38:31.837530-07:00"
        )


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.model_dump(exclude_nones=True),
        lambda r: r.model_dump("json"),
        lambda r: r.model_dump_json(mode="json"),
        lambda r: r.model_dump_json(2),
    ],
    ids=["misspelt", "positional", "json-has-no-mode", "positional-indent"],
)
def test_unknown_arguments_are_type_errors(call: Callable[[Any], Any]) -> None:
    for r in (ours_of(case("chat-final")), official_of(case("chat-final"))):
        with pytest.raises(TypeError):
            call(r)


def test_every_pydantic_argument_is_accepted() -> None:
    import inspect

    for method in ("model_dump", "model_dump_json"):
        theirs = inspect.signature(getattr(pydantic.BaseModel, method)).parameters
        ours = inspect.signature(getattr(Model, method)).parameters
        assert list(ours) == list(theirs)
        assert [p.default for p in ours.values()] == [
            p.default for p in theirs.values()
        ]


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_json_text_is_pydantics(case: Case) -> None:
    # Byte for byte, where declarations and datetimes agree (the mirror).
    if BEYOND_MICROSECONDS.search(case.raw.decode()):
        pytest.skip(
            "msgspec rounds sub-microsecond digits (test_sub_microsecond_digits)"
        )
    ours, theirs = ours_of(case), mirror_of(case)
    for kwargs in ({}, {"indent": 2}, {"ensure_ascii": True}, {"by_alias": True}):
        assert ours.model_dump_json(**kwargs) == theirs.model_dump_json(**kwargs)


def test_values_pydantic_converts() -> None:
    # Any-typed fields (tool arguments, model_info) hold whatever user code puts
    # there: sets, tuples, bytes, datetimes, non-str keys.
    odd = {
        "set": {1},
        "tuple": (1, "a"),
        "bytes": b"caf\xc3\xa9",
        "when": dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        "keys": {1: "one", False: "no", None: "none", 2.5: "x"},
        "text": "\u00e9\U0001f600\u2028",
    }
    ours, theirs = ours_of(TOOLS), mirror_of(TOOLS)
    for r in (ours, theirs):
        r["message"]["tool_calls"][0]["function"]["arguments"] = odd
    assert ours.model_dump() == theirs.model_dump()
    dumped = ours.model_dump()["message"]["tool_calls"][0]["function"]["arguments"]
    assert dumped["set"] == {1} and dumped["tuple"] == (1, "a")
    assert dumped is not odd
    assert ours.model_dump(mode="json") == theirs.model_dump(mode="json")
    for kwargs in ({}, {"ensure_ascii": True}, {"indent": 1}):
        assert ours.model_dump_json(**kwargs) == theirs.model_dump_json(**kwargs)


def test_non_finite_floats() -> None:
    # A float field keeps NaN in mode="json" (pydantic converts only Any-typed
    # values); JSON text spells it null.
    ours, theirs = ours_of(case("embeddings")), mirror_of(case("embeddings"))
    for r in (ours, theirs):
        r["embedding"] = [float("inf"), 1.0]
    assert ours.model_dump(mode="json") == theirs.model_dump(mode="json")
    text = '{"embedding":[null,1.0]}'
    assert ours.model_dump_json() == theirs.model_dump_json() == text
    # In an Any-typed field pydantic makes it None; a Struct's dump does not
    # look up declared types, and JSON cannot carry NaN: only user code can
    # put one there.
    for r in (ours, theirs):
        r["embedding"] = {"x": float("inf")}
    assert ours.model_dump(mode="json") == {"embedding": {"x": float("inf")}}
    assert ours.model_dump_json() == '{"embedding":{"x":null}}'


def test_fallback() -> None:
    class Opaque:
        pass

    thing = Opaque()
    ours, theirs = ours_of(TOOLS), mirror_of(TOOLS)
    for r in (ours, theirs):
        r["message"]["tool_calls"][0]["function"]["arguments"] = {"x": thing}
    for mode in ("python", "json"):
        for kwargs in (
            {"mode": mode, "fallback": lambda v: "opaque"},
            {"mode": "python"},
        ):
            assert ours.model_dump(**kwargs) == theirs.model_dump(**kwargs)

    def name(value: Any) -> str:
        return type(value).__name__

    assert ours.model_dump_json(fallback=name) == theirs.model_dump_json(fallback=name)
    # Without a fallback pydantic raises PydanticSerializationError (a
    # ValueError); we raise msgspec's TypeError: no pydantic import here.
    with pytest.raises(TypeError, match="Opaque"):
        ours.model_dump_json()
    with pytest.raises(ValueError, match="Opaque"):
        theirs.model_dump_json()
