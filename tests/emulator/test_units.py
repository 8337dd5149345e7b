"""The emulator's pure helpers: names, durations, fault headers, generation."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from ollama_async.testing import FakeModel, Fault
from ollama_async.testing import _generation as gen
from ollama_async.testing._faults import parse_fault_header
from ollama_async.testing._registry import (
    ModelRefError,
    ModelRegistry,
    parse_name,
    parse_ref,
    pull_ref,
    unqualified,
)
from ollama_async.testing._wire import (
    GoJSONError,
    created_at,
    local_rfc3339,
    parse_go_duration,
    parse_keep_alive,
)


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("llama3.2", "registry.ollama.ai/library/llama3.2:latest"),
        ("llama3.2:1b", "registry.ollama.ai/library/llama3.2:1b"),
        ("me/model", "registry.ollama.ai/me/model:latest"),
        ("host:5000/me/model:v1", "host:5000/me/model:v1"),
        ("https://h.io/me/model", "h.io/me/model:latest"),
    ],
)
def test_parse_name(text, full):
    parsed = parse_name(text)
    assert parsed is not None and parsed.full == full


@pytest.mark.parametrize(
    "text", ["", "a b", "a/b/c/d", "x:", "-x", "a.b/c", ":tag", "model@sha256:abc"]
)
def test_invalid_names(text):
    assert parse_name(text) is None


@pytest.mark.parametrize(
    ("text", "base", "source"),
    [
        (" llama3.2 ", "llama3.2", ""),
        ("llama3.2:local", "llama3.2", "local"),
        ("gpt-oss:20b:cloud", "gpt-oss:20b", "cloud"),
        ("gpt-oss:20b-cloud", "gpt-oss:20b", "cloud"),
        ("gpt-oss:CLOUD", "gpt-oss", "cloud"),
        ("host:5000/me/model-cloud", "host:5000/me/model-cloud", ""),
    ],
)
def test_model_refs(text, base, source):
    # internal/modelref/modelref.go: ParseRef and parseSourceSuffix.
    ref = parse_ref(text)
    assert (ref.original, ref.base, ref.source) == (text.strip(), base, source)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (" ", "required", "model is required"),
        (
            "x:local:cloud",
            "conflict",
            'use either :local or :cloud, not both: "x:local:cloud"',
        ),
        ("a/b/c/d", "invalid", "invalid model name"),
    ],
)
def test_model_ref_errors(text, kind, message):
    with pytest.raises(ModelRefError) as info:
        parse_ref(text)
    assert (info.value.kind, str(info.value)) == (kind, message)


def test_pull_names_of_cloud_models_are_the_legacy_stubs():
    assert pull_ref("gpt-oss:20b:cloud").base == "gpt-oss:20b-cloud"
    assert pull_ref("gpt-oss:cloud").base == "gpt-oss:cloud"
    assert pull_ref("gpt-oss:20b:local").base == "gpt-oss:20b"


def test_unqualified_names_print_as_go_prints_them():
    assert (
        unqualified("x:") == "unqualified name: registry.ollama.ai/library/x:!MISSING!"
    )
    assert unqualified("a/b/c/d") == "unqualified name: a/b/c/d:latest"


def test_display_names():
    assert parse_name("LLama3.2").display == "LLama3.2:latest"
    assert parse_name("me/m").display == "me/m:latest"
    assert parse_name("h.io/me/m:t").display == "h.io/me/m:t"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("5m", 300),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("-1m", -60),
        ("2us", 2e-6),
        (".5h", 1800),
    ],
)
def test_go_durations(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)


def test_keep_alive_forever_and_numbers():
    assert parse_keep_alive(-1) == float("inf")
    assert parse_keep_alive("-5m") == float("inf")
    assert parse_keep_alive(2.5) == 2.5
    assert parse_keep_alive(None) is None
    with pytest.raises(GoJSONError, match="invalid duration"):
        parse_keep_alive("")


def test_timestamps():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", created_at())
    assert not re.search(r"\.\d*0Z$", created_at())  # trailing zeros trimmed
    moment = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=timezone(timedelta(hours=-7)))
    text = local_rfc3339(moment)
    assert datetime.fromisoformat(text) == moment
    assert ".12" in text and not text.split("T")[1].startswith("03:04:05.120")


def test_fault_header_parsing():
    assert parse_fault_header("error_after=3") == Fault(error_after=3)
    assert parse_fault_header(" status=503 ; retry_after=1.5 ,times=2") == Fault(
        status=503, retry_after=1.5, times=2
    )
    assert parse_fault_header("stall_after=1;stall_for=0.2;path=/api/chat") == Fault(
        stall_after=1, stall_for=0.2, path="/api/chat"
    )
    with pytest.raises(ValueError, match="unknown fault field"):
        parse_fault_header("explode=1")


def test_fault_is_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        Fault(503)  # type: ignore[misc]
    fault = Fault(status=503)
    with pytest.raises(AttributeError):
        fault.status = 500  # type: ignore[misc]


def test_registry_mapping():
    registry = ModelRegistry([FakeModel(name="a"), FakeModel(name="me/b:v2")])
    assert list(registry) == ["a:latest", "me/b:v2"]
    assert registry["A:LATEST"].name == "a:latest"
    assert "ME/B:v2" in registry and "b" not in registry
    registry["c"] = registry["a"]
    assert registry["c"].name == "c:latest"
    assert registry["c"].digest != registry["a"].digest
    del registry["a"]
    assert len(registry) == 2
    with pytest.raises(KeyError):
        registry["a"]


def test_split_text_round_trips():
    for text in ["Hello there!", "  lead", "trail  ", "a\nb", ""]:
        assert "".join(gen.split_text(text)) == text


def test_words_are_sentences():
    tokens = gen.words(gen.rng_for("seed"), 40)
    text = "".join(tokens)
    assert len(tokens) == 40 and text[0].isupper() and text.endswith(".")
    assert tokens == gen.words(gen.rng_for("seed"), 40)


SCHEMAS = [
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "uuid"},
    {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
    {"type": "number", "minimum": 1.5, "maximum": 1.5},
    {"type": ["null", "boolean"]},
    {"const": 42},
    {
        "type": "array",
        "items": {"enum": ["a", "b", "c"]},
        "uniqueItems": True,
        "minItems": 3,
    },
    {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    },
    {
        "allOf": [
            {"properties": {"a": {"type": "integer"}}},
            {"properties": {"b": {"type": "string"}}, "required": ["b"]},
        ]
    },
    {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=[json.dumps(s)[:40] for s in SCHEMAS])
def test_schema_instances(schema):
    value = gen.from_schema(schema, gen.rng_for(json.dumps(schema)))
    json.dumps(value)
    if schema.get("format") == "date-time":
        datetime.fromisoformat(value)
    if schema.get("format") == "uuid":
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}", value
        )
    if "exclusiveMinimum" in schema:
        assert value in (1, 2)
    if schema.get("minimum") == 1.5:
        assert value == 1.5
    if "const" in schema:
        assert value == 42
    if schema.get("uniqueItems"):
        assert sorted(value) == ["a", "b", "c"]
    if "prefixItems" in schema:
        assert isinstance(value[0], int) and isinstance(value[1], str)
    if "allOf" in schema:
        assert isinstance(value["a"], int) and isinstance(value["b"], str)
    if schema.get("required") == ["next"]:
        depth = 0
        while isinstance(value, dict) and "next" in value:
            value, depth = value["next"], depth + 1
        assert depth >= 1


def test_embedding_float32_and_unit_length():
    vector = gen.embedding("m", "text", 32)
    assert sum(x * x for x in vector) == pytest.approx(1, abs=1e-6)
    assert all(len(repr(x)) <= 16 for x in vector)  # shortest float32 digits
    assert vector == gen.embedding("m", "text", 32)
    assert vector != gen.embedding("m", "other", 32)
