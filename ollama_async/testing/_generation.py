"""Deterministic "model output": words, JSON from schemas, tool calls, embeddings.

Everything here is a pure function of its inputs (a private ``random.Random`` seeded
by a hash of model and request, never the global ``random`` state), so the same
request always gets the same answer. Imports only the standard library.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import struct
import zlib
from typing import Any, Final

_VOCAB: Final = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "river",
    "mountain",
    "light",
    "shadow",
    "signal",
    "memory",
    "garden",
    "engine",
    "cloud",
    "forest",
    "ocean",
    "paper",
    "window",
    "stone",
    "bright",
    "quiet",
    "gentle",
    "rapid",
    "simple",
    "careful",
    "distant",
    "golden",
    "hidden",
    "open",
    "model",
    "answer",
    "question",
    "system",
    "network",
    "value",
    "result",
    "pattern",
    "reason",
    "small",
    "large",
    "early",
    "late",
    "north",
    "south",
    "winter",
    "summer",
    "morning",
    "evening",
    "runs",
    "builds",
    "finds",
    "keeps",
    "moves",
    "turns",
    "holds",
    "brings",
    "shows",
    "makes",
]
_SPACED: Final = [" " + word for word in _VOCAB]
_ALNUM: Final = "abcdefghijklmnopqrstuvwxyz0123456789"
_TOKEN_RE: Final = re.compile(r"\w+|[^\w\s]")
_JSON_PIECES: Final = re.compile(
    r'\s*(?:[{}\[\],:]|"(?:\\.|[^"\\])*"|[^\s{}\[\],:"]+)|\s+'
)
_MAX_DEPTH: Final = 8


def rng_for(*parts: object) -> random.Random:
    """A private generator seeded by a stable hash of ``parts``."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def count_tokens(text: str) -> int:
    """Rough token count: words and punctuation marks."""
    return len(_TOKEN_RE.findall(text))


def token_id(token: str) -> int:
    """A stable vocabulary id for ``context`` arrays."""
    return zlib.crc32(token.encode()) % 128_256


def words(rng: random.Random, count: int) -> list[str]:
    """``count`` word tokens forming sentences: ``["The", " fox", " runs."]``."""
    out = rng.choices(_SPACED, k=count)
    # Only sentence boundaries need Python-level work, which keeps a million
    # tokens (benchmarks) well under a second.
    start = 0
    while start < count:
        length = 6 + (start * 7 + count) % 9
        out[start] = " " + out[start][1:].capitalize()
        out[min(start + length, count) - 1] += "."
        start += length
    if out:
        out[0] = out[0][1:]
    return out


def split_text(text: str) -> list[str]:
    """Split fixed text into word tokens that concatenate back to it."""
    tokens = re.findall(r"\s*\S+", text)
    tail = text[sum(map(len, tokens)) :]
    return [*tokens, tail] if tail else tokens


def split_json(text: str) -> list[str]:
    """Split a JSON document into small stream chunks (strings cut at 8 chars)."""
    out: list[str] = []
    for piece in _JSON_PIECES.findall(text):
        while len(piece) > 8:
            out.append(piece[:8])
            piece = piece[8:]
        out.append(piece)
    return out


# --- JSON schema -> instance ---------------------------------------------------


def from_schema(
    schema: Any, rng: random.Random, root: Any = None, depth: int = 0
) -> Any:
    """A JSON value valid for ``schema`` (the common JSON-schema keywords)."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return " ".join(words(rng, 2)).strip(".")
    if "$ref" in schema:
        return from_schema(_resolve(schema["$ref"], root), rng, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            usable = [
                o
                for o in options
                if not (isinstance(o, dict) and o.get("type") == "null")
            ]
            return from_schema((usable or options)[0], rng, root, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = (
                _resolve(part["$ref"], root)
                if isinstance(part, dict) and "$ref" in part
                else part
            )
            if isinstance(part, dict):
                merged["properties"] = {
                    **merged.get("properties", {}),
                    **part.get("properties", {}),
                }
                merged["required"] = [
                    *merged.get("required", []),
                    *part.get("required", []),
                ]
                merged.setdefault("type", part.get("type"))
        return from_schema(merged, rng, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = (
            "object"
            if "properties" in schema
            else "array"
            if "items" in schema
            else "string"
        )
    maker = _MAKERS.get(kind, _string)
    return maker(schema, rng, root, depth)


def _resolve(ref: str, root: Any) -> Any:
    node = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node


def _object(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> Any:
    props = schema.get("properties")
    required = set(schema.get("required") or ())
    out: dict[str, Any] = {}
    if isinstance(props, dict):
        for name, sub in props.items():
            # Deep recursive schemas would never end: keep only what is required.
            if depth < _MAX_DEPTH or name in required:
                out[name] = from_schema(sub, rng, root, depth + 1)
    for name in required - out.keys():
        out[name] = from_schema({}, rng, root, depth + 1)
    return out


def _array(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> Any:
    low = int(schema.get("minItems", 1 if depth < _MAX_DEPTH else 0))
    high = int(schema.get("maxItems", max(low, 3)))
    count = low if high < low else rng.randint(low, min(high, max(low, 3)))
    prefix = schema.get("prefixItems") or []
    items = schema.get("items", {})
    out = [from_schema(sub, rng, root, depth + 1) for sub in prefix[:count]]
    enum = items.get("enum") if isinstance(items, dict) else None
    if schema.get("uniqueItems") and isinstance(enum, list):
        return out + rng.sample(enum, min(len(enum), count - len(out)))
    out += [from_schema(items, rng, root, depth + 1) for _ in range(count - len(out))]
    return out


def _string(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> Any:
    fmt = schema.get("format")
    fixed = {
        "date-time": "2026-05-01T09:30:12Z",
        "date": "2026-05-01",
        "time": "09:30:12",
        "email": "alex@example.com",
        "uri": "https://example.com/item",
        "hostname": "example.com",
        "ipv4": "192.0.2.7",
    }
    if fmt == "uuid":
        text = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"
    text = fixed.get(str(fmt)) or "".join(words(rng, rng.randint(1, 3))).rstrip(".")
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    text = text.ljust(low, "x")
    return text[: int(high)] if high is not None else text


def _number(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> Any:
    integer = schema.get("type") == "integer" or (
        isinstance(schema.get("type"), list) and "integer" in schema["type"]
    )
    step = 1 if integer else 0.01
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0 if integer else 0.0))
    if "minimum" not in schema and "exclusiveMinimum" in schema:
        low += step
    high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
    if "maximum" not in schema and "exclusiveMaximum" in schema:
        high -= step
    if high < low:
        high = low
    if integer:
        value: float = rng.randint(
            math.ceil(low), max(math.ceil(low), math.floor(high))
        )
        multiple = schema.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            value = math.ceil(low / multiple) * multiple
        return int(value)
    return round(rng.uniform(low, high), 2) if high > low else low


def _boolean(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> Any:
    return rng.random() < 0.5


def _null(schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> Any:
    return None


_MAKERS: Final = {
    "object": _object,
    "array": _array,
    "string": _string,
    "integer": _number,
    "number": _number,
    "boolean": _boolean,
    "null": _null,
}


# "keys: a, b" / "fields: a and b" (up to the end of the list).
_KEY_LIST: Final = re.compile(
    r"\b(?:keys?|fields?|properties)\s*:\s*"
    r"([A-Za-z_][\w-]*(?:\s*(?:,|\band\b)\s*[A-Za-z_][\w-]*)*)",
    re.IGNORECASE,
)
_QUOTED_KEY: Final = re.compile(r"`([A-Za-z_][\w-]*)`|\"([A-Za-z_][\w-]*)\"")
_INT_KEY: Final = re.compile(
    r"(?:^|_)(?:age|count|year|years|number|num|total|quantity|size|population"
    r"|score|rank|id|index|length|width|height|days|hours|minutes)$",
    re.IGNORECASE,
)
_FLOAT_KEY: Final = re.compile(
    r"(?:^|_)(?:price|cost|rate|ratio|percent|percentage|amount|temperature"
    r"|lat|lon|latitude|longitude|confidence|probability|weight)$",
    re.IGNORECASE,
)
_BOOL_KEY: Final = re.compile(
    r"^(?:is|has|can|should)_|(?:^|_)(?:enabled|valid|ok)$", re.IGNORECASE
)


def json_keys(prompt: str) -> list[str]:
    """The keys a prompt asks a ``format: "json"`` answer to have.

    ``keys: a, b`` (or ``fields:``/``properties:``, items separated by commas
    or "and") names them; otherwise every name written in backticks or double
    quotes does (`` `name` and `age` ``, ``"name" and "age"``), in order,
    once each. None found: no keys.
    """
    listed = _KEY_LIST.search(prompt)
    if listed:
        found = re.split(r"\s*(?:,|\band\b)\s*", listed.group(1))
    else:
        found = [a or b for a, b in _QUOTED_KEY.findall(prompt)]
    return list(dict.fromkeys(k for k in found if k))


def _value_for(key: str, rng: random.Random) -> Any:
    """A value whose JSON type the key's name suggests (``age``: an integer,
    ``price``: a number, ``is_open``: a boolean, anything else: words)."""
    if _INT_KEY.search(key):
        return rng.randint(1, 99)
    if _FLOAT_KEY.search(key):
        return round(rng.uniform(0.0, 100.0), 2)
    if _BOOL_KEY.search(key):
        return rng.random() < 0.5
    return "".join(words(rng, rng.randint(1, 3))).rstrip(".")


def json_text(format_: Any, rng: random.Random, prompt: str = "") -> str:
    """The answer for ``format``: a schema instance; for "json", an object with
    the keys ``prompt`` asks for (`json_keys`), else ``answer`` and
    ``confidence``."""
    if isinstance(format_, dict):
        value = from_schema(format_, rng)
    elif keys := json_keys(prompt):
        value = {key: _value_for(key, rng) for key in keys}
    else:
        value = {"answer": "".join(words(rng, 6)).strip(), "confidence": 0.87}
    return json.dumps(value, ensure_ascii=False)


# --- tool calls -----------------------------------------------------------------


def call_id(rng: random.Random) -> str:
    """Ollama's chat tool-call id: ``call_`` + 8 of ``[a-z0-9]``."""
    return "call_" + "".join(rng.choice(_ALNUM) for _ in range(8))


def pick_tool(tools: list[Any], prompt: str) -> Any:
    """The tool ``prompt`` names (its name, or its name with ``_``/``-`` read
    as spaces, in any case; the earliest mentioned wins), else the first."""
    text = prompt.lower()
    best: tuple[int, int] | None = None
    for index, tool in enumerate(tools):
        function = tool.get("function", {}) if isinstance(tool, dict) else {}
        name = str(function.get("name") or "").lower() if function else ""
        if not name:
            continue
        spaced = re.sub(r"[_-]+", " ", name)
        places = [p for p in (text.find(name), text.find(spaced)) if p >= 0]
        if places and (best is None or min(places) < best[0]):
            best = (min(places), index)
    return tools[best[1] if best else 0]


def default_tool_call(tool: Any, rng: random.Random) -> dict[str, Any]:
    """A call of ``tool`` with arguments made up from its parameter schema."""
    function = tool.get("function", {}) if isinstance(tool, dict) else {}
    params = function.get("parameters") or {"type": "object"}
    args = from_schema(params, rng) if isinstance(params, dict) else {}
    return {
        "name": function.get("name", ""),
        "arguments": args if isinstance(args, dict) else {},
    }


def wire_tool_calls(
    calls: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """Scripted or generated calls as chat's ``tool_calls`` wire objects."""
    out = []
    for index, call in enumerate(calls):
        fn = call.get("function", call)
        out.append(
            {
                "id": call.get("id") or call_id(rng),
                "function": {
                    "index": index,
                    "name": fn.get("name", ""),
                    "arguments": fn.get("arguments", {}),
                },
            }
        )
    return out


# --- embeddings -----------------------------------------------------------------

_F32: Final = struct.Struct("<f")


def _float32(x: float) -> float:
    # Go prints float32 with the fewest digits that round-trip in float32.
    exact = _F32.unpack(_F32.pack(x))[0]
    for digits in range(6, 10):
        short = float(f"{exact:.{digits}g}")
        if _F32.unpack(_F32.pack(short))[0] == exact:
            return short
    return float(exact)  # pragma: no cover


def embedding(
    model_key: str, text: str, dim: int, *, normalize: bool = True
) -> list[float]:
    """A deterministic vector for ``text``; unit length (float32) when normalised."""
    rng = rng_for("embed", model_key, text)
    vec = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    if not normalize:
        return [x * 0.5 for x in vec]
    return normalized(vec)


def normalized(vec: list[float]) -> list[float]:
    """L2-normalise and round to float32 as Ollama sends it."""
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [_float32(x / norm) for x in vec]
