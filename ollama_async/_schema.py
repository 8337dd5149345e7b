"""JSON schemas for ``format=`` and tool parameters, and parsing a model's JSON
answer back into a type. Must not import aiohttp.

Schemas come from msgspec (``msgspec.json.schema``: Structs, dataclasses,
TypedDicts, enums, ``Literal`` ...) or from any class with a
``model_json_schema()`` classmethod (pydantic, duck-typed). Both emit
``$ref``/``$defs``; we inline them, because the server's tool ``Property``
type has no ``$ref`` (it would be dropped) and a flat schema is what a model
reads best. Only a recursive type keeps ``$defs`` in ``format`` (llama.cpp's
grammar converter resolves local ``#/$defs/`` refs); in tool schemas the
recursion is cut to ``{"type": "object"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from ._errors import RequestError, StructuredOutputError

__all__ = ["inline_refs", "parse_json", "type_schema"]

T = TypeVar("T")

_DEF_PREFIXES = ("#/$defs/", "#/definitions/")


def _enum_type(values: list[Any]) -> str | None:
    kinds = set()
    for value in values:
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, float):
            kinds.add("number")
        elif isinstance(value, str):
            kinds.add("string")
        else:
            return None
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else None


def inline_refs(schema: Mapping[str, Any], *, keep_recursive: bool) -> dict[str, Any]:
    """``schema`` with local ``$ref``s replaced by what they point to.

    A ref that leads back into itself stays a ``$ref`` (with its definition
    kept under ``$defs``) when ``keep_recursive``, else becomes
    ``{"type": "object"}``. An ``enum`` without a ``type`` gets one.
    """
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        found = schema.get(key)
        if isinstance(found, Mapping):
            defs.update(found)
    kept: dict[str, Any] = {}

    def target(ref: Any) -> str | None:
        if isinstance(ref, str):
            for prefix in _DEF_PREFIXES:
                if ref.startswith(prefix) and ref[len(prefix) :] in defs:
                    return ref[len(prefix) :]
        return None

    def walk(node: Any, stack: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        if not isinstance(node, Mapping):
            return node
        name = target(node.get("$ref"))
        rest = {
            k: walk(v, stack)
            for k, v in node.items()
            if k not in ("$ref", "$defs", "definitions")
        }
        if name is None:
            if "$ref" in node:
                rest["$ref"] = node["$ref"]  # not ours to resolve
            if isinstance(rest.get("enum"), list) and "type" not in rest:
                kind = _enum_type(rest["enum"])
                if kind is not None:
                    rest["type"] = kind
            return rest
        if name in stack:
            if not keep_recursive:
                return {"type": "object", **rest}
            kept.setdefault(name, None)
            return {"$ref": f"#/$defs/{name}", **rest}
        resolved = walk(defs[name], stack | {name})
        return {**resolved, **rest}

    result: dict[str, Any] = walk(schema, frozenset())
    done: set[str] = set()
    while len(done) < len(kept):
        for name in [n for n in kept if n not in done]:
            done.add(name)
            kept[name] = walk(defs[name], frozenset({name}))
    if kept:
        result["$defs"] = kept
    return result


def type_schema(tp: Any) -> dict[str, Any]:
    """The JSON schema of a type: ``model_json_schema()`` when the class has one
    (pydantic), else msgspec's. Raises TypeError for unsupported types."""
    method = getattr(tp, "model_json_schema", None)
    if isinstance(tp, type) and callable(method):
        raw = method()
        if not isinstance(raw, Mapping):
            raise TypeError(f"{tp.__name__}.model_json_schema() did not return a dict")
    else:
        raw = msgspec.json.schema(tp)
    return inline_refs(raw, keep_recursive=True)


def format_schema(format: Any) -> str | dict[str, Any] | None:
    """``format=`` as sent: ``"json"``, ``""``, a schema dict (as given), or
    the schema of a type. None for anything else."""
    if isinstance(format, str):
        return format if format in ("", "json") else None
    if isinstance(format, Mapping):
        return dict(format)
    if isinstance(format, type) or hasattr(format, "__origin__"):
        try:
            return type_schema(format)
        except (TypeError, ValueError) as exc:
            raise RequestError(
                f"cannot make a JSON schema for format={format!r}: {exc}"
            ) from None
    return None


def _looks_truncated(text: str) -> bool:
    stripped = text.rstrip()
    if not stripped:
        return True
    depth = 0
    in_string = escaped = False
    for char in stripped:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return in_string or depth > 0


def parse_json(text: str, tp: Any, *, done_reason: str | None = None) -> Any:
    """Decode a model's JSON answer into ``tp`` (``Any``: plain builtins).

    Classes with ``model_validate_json`` (pydantic) validate themselves; other
    types go through msgspec, leniently (``"3"`` is accepted for an int).
    Raises :class:`StructuredOutputError` with an excerpt of the answer.
    """
    truncated = done_reason == "length" or _looks_truncated(text)
    validate = getattr(tp, "model_validate_json", None)
    try:
        if isinstance(tp, type) and callable(validate):
            return validate(text)
        return msgspec.json.decode(text, type=tp, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        name = getattr(tp, "__name__", None) or repr(tp)
        if truncated:
            why = "the answer was cut short"
            if done_reason == "length":
                why += " (done_reason='length': raise num_predict or num_ctx)"
        else:
            why = f"it does not fit {name}" if tp is not Any else "it is not JSON"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if first:
                why += f" ({first})"
        raise StructuredOutputError(
            f"cannot parse the model's answer as {name}: {why}",
            data=text,
            truncated=truncated,
        ) from exc
