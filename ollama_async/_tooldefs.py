"""Tool definitions from Python callables: the JSON schema ``chat(tools=[f])``
sends for ``f``, built from its signature, type hints and docstring. Pure:
no IO, no client.

Definitions are built when first used and cached per callable; ``inspect``
and ``typing`` introspection only happens then, never at import.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from ._errors import RequestError
from ._schema import inline_refs

__all__ = ["NOT_FOR_MODEL", "ToolSpec", "parse_docstring", "spec", "tool_definition"]

# -- docstrings ----------------------------------------------------------------

_GOOGLE_ARGS = re.compile(
    r"(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:"
)
_GOOGLE_OTHER = re.compile(
    r"(?:Returns?|Yields?|Raises|Examples?|Notes?|Attributes|See Also|Warnings?"
    r"|References|Todo)\s*:"
)
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_NUMPY_RULE = re.compile(r"-{3,}")
_NUMPY_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?::.*)?")
_REST_PARAM = re.compile(
    r":(?:param|parameter|arg|argument|key|keyword)\s+(.*?):\s*(.*)"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(p.split()) for p in parts if p.strip()).strip()


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary and per-parameter descriptions of a Google, NumPy or reST
    docstring."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, list[str]] = {}
    i = 0
    in_summary = True
    while i < len(lines):
        line = lines[i]
        text = line.strip()
        is_numpy = i + 1 < len(lines) and _NUMPY_RULE.fullmatch(lines[i + 1].strip())
        if is_numpy:
            in_summary = False
            i += 2
            if text.lower() not in ("parameters", "other parameters", "arguments"):
                while i < len(lines) and not (
                    i + 1 < len(lines) and _NUMPY_RULE.fullmatch(lines[i + 1].strip())
                ):
                    i += 1
                continue
            current: list[str] | None = None
            while i < len(lines):
                line = lines[i]
                if i + 1 < len(lines) and _NUMPY_RULE.fullmatch(lines[i + 1].strip()):
                    break
                entry = _NUMPY_ENTRY.fullmatch(line.strip())
                if line.strip() and _indent(line) == 0 and entry:
                    for name in entry.group(1).split(","):
                        current = params.setdefault(name.strip(), [])
                elif current is not None:
                    current.append(line)
                i += 1
            continue
        if _GOOGLE_ARGS.fullmatch(text):
            in_summary = False
            base = _indent(line)
            i += 1
            entry_indent: int | None = None
            current = None
            while i < len(lines):
                line = lines[i]
                if line.strip() and _indent(line) <= base:
                    break
                if line.strip():
                    match = _GOOGLE_ENTRY.fullmatch(line.strip())
                    if entry_indent is None:
                        entry_indent = _indent(line)
                    if match and _indent(line) == entry_indent:
                        current = params.setdefault(match.group(1), [])
                        current.append(match.group(2))
                    elif current is not None:
                        current.append(line)
                i += 1
            continue
        rest = _REST_PARAM.fullmatch(text)
        if rest:
            in_summary = False
            name = rest.group(1).split()[-1].lstrip("*")
            current = params.setdefault(name, [rest.group(2)])
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0:
                current.append(lines[i])
                i += 1
            continue
        if text.startswith(":") or _GOOGLE_OTHER.fullmatch(text):
            in_summary = False
        elif in_summary:
            summary.append(line)
        i += 1
    return (
        "\n".join(summary).strip(),
        {name: _join(parts) for name, parts in params.items()},
    )


# -- definitions ---------------------------------------------------------------


class ToolSpec(msgspec.Struct, frozen=True):
    """What we know about one tool callable."""

    name: str
    definition: dict[str, Any]
    signature: inspect.Signature
    hints: dict[str, Any]
    is_async: bool


NOT_FOR_MODEL = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _strip_titles(node: Any) -> Any:
    """msgspec titles every Struct and enum with its class name: noise for a
    model, which reads the property name."""
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "default", "examples"):
            out[key] = value
        else:
            out[key] = _strip_titles(value)
    return out


def _flatten_types(node: Any) -> Any:
    """``anyOf`` of bare types (``{"type": "string"}``, ``{"type": "null"}``)
    as one ``type`` list, the form Ollama's tool ``Property`` documents."""
    if isinstance(node, list):
        return [_flatten_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _flatten_types(v) for k, v in node.items()}
    options = out.get("anyOf")
    if (
        isinstance(options, list)
        and options
        and all(isinstance(o, dict) and set(o) == {"type"} for o in options)
        and all(isinstance(o["type"], str) for o in options)
    ):
        del out["anyOf"]
        out["type"] = [o["type"] for o in options]
    return out


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``X | None`` with a ``None`` default: the model should send X or omit it."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(options):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**kept[0], **rest}
    return schema


def _parameter_schema(tool: str, param: inspect.Parameter, hint: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if hint is not inspect.Parameter.empty:
        try:
            raw = msgspec.json.schema(hint)
        except (TypeError, ValueError) as exc:
            raise RequestError(
                f"tool {tool!r}: cannot describe parameter {param.name!r} "
                f"of type {hint!r}: {exc}"
            ) from None
        schema = _strip_titles(inline_refs(raw, keep_recursive=False))
    if param.default is None:
        schema = _without_null(schema)
    elif param.default is not inspect.Parameter.empty:
        try:
            schema["default"] = msgspec.to_builtins(param.default)
        except (TypeError, ValueError):
            pass  # not JSON: the model need not know it
    flat: dict[str, Any] = _flatten_types(schema)
    return flat


def _tool_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None)
    if name is None and isinstance(func, functools.partial):
        name = getattr(func.func, "__name__", None)
    return name if isinstance(name, str) else type(func).__name__


def _is_async(func: Any) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(type(func), "__call__", None)  # noqa: B004 - callable instances
    return not inspect.isfunction(func) and inspect.iscoroutinefunction(call)


def _build(func: Callable[..., Any]) -> ToolSpec:
    name = _tool_name(func)
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise RequestError(f"tool {name!r} has no inspectable signature") from exc
    target = func.func if isinstance(func, functools.partial) else func
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception as exc:
        raise RequestError(f"tool {name!r}: cannot resolve type hints: {exc}") from exc
    summary, described = parse_docstring(inspect.getdoc(target))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        if param.kind in NOT_FOR_MODEL:
            continue
        hint = hints.get(param.name, inspect.Parameter.empty)
        schema = _parameter_schema(name, param, hint)
        # The parameter's own words beat its type's docstring; an explicit
        # Annotated[..., Meta(description=...)] beats both.
        if param.name in described and (
            "description" not in schema or typing.get_origin(hint) is not Annotated
        ):
            schema["description"] = described[param.name]
        properties[param.name] = schema
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    function: dict[str, Any] = {"name": name}
    if summary:
        function["description"] = summary
    function["parameters"] = {
        "type": "object",
        "properties": properties,
        "required": required,
    }
    return ToolSpec(
        name=name,
        definition={"type": "function", "function": function},
        signature=signature,
        hints=hints,
        is_async=_is_async(func),
    )


@functools.lru_cache(maxsize=512)
def _cached(func: Callable[..., Any]) -> ToolSpec:
    return _build(func)


def spec(func: Callable[..., Any]) -> ToolSpec:
    """The (cached) spec of a tool callable."""
    try:
        return _cached(func)
    except TypeError as exc:  # unhashable callable
        if "unhashable" not in str(exc):
            raise
        return _build(func)


def tool_definition(func: Callable[..., Any]) -> dict[str, Any]:
    """The tool definition ``chat(tools=[func])`` sends for ``func``.

    Built from the signature, type hints and docstring (Google, NumPy or reST
    style): the summary becomes the description; each parameter gets a JSON
    schema (``Literal``/``Enum`` as ``enum``, ``list[X]`` with ``items``,
    Structs, dataclasses and TypedDicts as nested objects) and its documented
    description; parameters without a default are ``required``.

    Raises:
        RequestError: a parameter's type cannot be described in JSON schema.
    """
    copy: dict[str, Any] = msgspec.json.decode(
        msgspec.json.encode(spec(func).definition)
    )
    return copy
