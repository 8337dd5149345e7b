"""Wire-level helpers that make the emulator sound like Ollama's Go server.

Owns: request-body decoding with Go ``encoding/json`` style error messages, the
``keep_alive`` duration rules (Go ``time.ParseDuration``) and ``think`` values,
RFC 3339 timestamps, and the compact JSON encoder. Imports only msgspec and the
standard library.
"""

from __future__ import annotations

import base64
import json
import math
import time
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec

JSON_UTF8: Final = "application/json; charset=utf-8"
JSON_PLAIN: Final = "application/json"
NDJSON: Final = "application/x-ndjson"
FOREVER: Final = math.inf

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode(obj: Any) -> bytes:
    """Compact JSON with Go's HTML escaping of ``<``, ``>`` and ``&``."""
    raw = _encoder.encode(obj)
    # Those bytes can only occur inside strings in valid JSON, so a plain
    # replace reproduces Go's escaping exactly.
    if b"<" in raw or b">" in raw or b"&" in raw:
        raw = (
            raw.replace(b"<", b"\\u003c")
            .replace(b">", b"\\u003e")
            .replace(b"&", b"\\u0026")
        )
    return raw


def try_json(body: bytes) -> Any:
    """The parsed body, or None when it is not JSON (for the request log)."""
    if not body:
        return None
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError:
        return None


# --- timestamps --------------------------------------------------------------

_ts_cache: list[Any] = [-1, b""]


def created_at_bytes() -> bytes:
    """Now as RFC 3339 UTC with nanoseconds, trailing zeros trimmed (Go's format)."""
    ns = time.time_ns()
    sec, frac = divmod(ns, 1_000_000_000)
    # Formatting the seconds part dominates; the hot streaming loop asks for a
    # timestamp per line, so cache it per second.
    if _ts_cache[0] != sec:
        _ts_cache[0] = sec
        _ts_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)).encode()
    prefix: bytes = _ts_cache[1]
    if frac:
        return prefix + (b".%09d" % frac).rstrip(b"0") + b"Z"
    return prefix + b"Z"


def created_at() -> str:
    """`created_at_bytes` as str."""
    return created_at_bytes().decode()


def local_rfc3339(moment: datetime) -> str:
    """A local-offset RFC 3339 timestamp as Go prints it (``Z`` for UTC)."""
    local = moment.astimezone()
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond:06d}".rstrip("0")
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# --- Go strings --------------------------------------------------------------


def go_quote(text: str) -> str:
    """Approximation of Go's ``%q`` / ``strconv.Quote``."""
    return json.dumps(text, ensure_ascii=False)


def _quote_char(char: str) -> str:
    # Go's scanner quoteChar: '\'' and '"' special, else strconv.Quote'd rune.
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
    named |= {"\t": "\\t", "\v": "\\v", "\\": "\\\\"}
    if char in named:
        return f"'{named[char]}'"
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"'\\x{ord(char):02x}'"
    return f"'{char}'"


# --- Go-like JSON syntax scanning ---------------------------------------------


class GoJSONError(Exception):
    """A request body error, with the message Go's decoder would produce."""


class _Scanner:
    """Finds the end of the first JSON value, failing like Go's scanner."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)

    def ws(self, i: int) -> int:
        while i < self.n and self.s[i] in " \t\r\n":
            i += 1
        return i

    def fail(self, i: int, context: str) -> GoJSONError:
        if i >= self.n:
            return GoJSONError("unexpected EOF")
        return GoJSONError(f"invalid character {_quote_char(self.s[i])} {context}")

    def value(self, i: int, context: str = "looking for beginning of value") -> int:
        if i >= self.n:
            raise self.fail(i, context)
        c = self.s[i]
        if c == "{":
            return self.obj(i + 1)
        if c == "[":
            return self.arr(i + 1)
        if c == '"':
            return self.string(i + 1)
        if c == "-" or c.isdigit():
            return self.number(i)
        for word in ("true", "false", "null"):
            if c == word[0]:
                return self.literal(i, word)
        raise self.fail(i, context)

    def obj(self, i: int) -> int:
        i = self.ws(i)
        if i < self.n and self.s[i] == "}":
            return i + 1
        while True:
            if i >= self.n or self.s[i] != '"':
                raise self.fail(i, "looking for beginning of object key string")
            i = self.ws(self.string(i + 1))
            if i >= self.n or self.s[i] != ":":
                raise self.fail(i, "after object key")
            i = self.ws(self.value(self.ws(i + 1)))
            if i < self.n and self.s[i] == ",":
                i = self.ws(i + 1)
                continue
            if i < self.n and self.s[i] == "}":
                return i + 1
            raise self.fail(i, "after object key:value pair")

    def arr(self, i: int) -> int:
        i = self.ws(i)
        if i < self.n and self.s[i] == "]":
            return i + 1
        while True:
            i = self.ws(self.value(i))
            if i < self.n and self.s[i] == ",":
                i = self.ws(i + 1)
                continue
            if i < self.n and self.s[i] == "]":
                return i + 1
            raise self.fail(i, "after array element")

    def string(self, i: int) -> int:
        while i < self.n:
            c = self.s[i]
            if c == '"':
                return i + 1
            if c == "\\":
                i += 1
                if i < self.n and self.s[i] == "u":
                    for k in range(i + 1, i + 5):
                        if k >= self.n or self.s[k] not in "0123456789abcdefABCDEF":
                            raise self.fail(k, "in \\u hexadecimal character escape")
                    i += 5
                    continue
                if i >= self.n or self.s[i] not in '"\\/bfnrt':
                    raise self.fail(i, "in string escape code")
            elif ord(c) < 0x20:
                raise self.fail(i, "in string literal")
            i += 1
        raise self.fail(i, "")

    def digits(self, i: int) -> int:
        if i >= self.n or not self.s[i].isdigit():
            raise self.fail(i, "in numeric literal")
        while i < self.n and self.s[i].isdigit():
            i += 1
        return i

    def number(self, i: int) -> int:
        if self.s[i] == "-":
            i += 1
        if i < self.n and self.s[i] == "0":
            i += 1
        else:
            i = self.digits(i)
        if i < self.n and self.s[i] == ".":
            i = self.digits(i + 1)
        if i < self.n and self.s[i] in "eE":
            i += 1
            if i < self.n and self.s[i] in "+-":
                i += 1
            i = self.digits(i)
        return i

    def literal(self, i: int, word: str) -> int:
        for k, expected in enumerate(word):
            if i + k >= self.n:
                raise self.fail(i + k, "")
            if self.s[i + k] != expected:
                raise self.fail(
                    i + k, f"in literal {word} (expecting {_quote_char(expected)})"
                )
        return i + len(word)


def decode_body(body: bytes, struct: str) -> dict[str, Any]:
    """Decode a request body as Ollama's handlers do (first JSON value only).

    Raises GoJSONError with the message the Go server sends in its 400 body.
    """
    text = body.decode("utf-8", "replace")
    if not text.strip(" \t\r\n"):
        raise GoJSONError("missing request body")
    try:
        value = _decoder.decode(body)
    except msgspec.DecodeError:
        # Go reads only the first value: trailing bytes are never looked at.
        scanner = _Scanner(text)
        end = scanner.value(scanner.ws(0))
        try:
            value = _decoder.decode(text[:end].encode())
        except msgspec.DecodeError as exc:  # pragma: no cover - scanner agrees
            raise GoJSONError(str(exc)) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GoJSONError(
            f"json: cannot unmarshal {json_kind(value)} into Go value of type "
            f"api.{struct}"
        )
    return value


def json_kind(value: Any) -> str:
    """How Go names a JSON value in an unmarshal type error."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- field type checking ------------------------------------------------------

# Field specs: a Go type name string for scalars ("string", "bool", "int",
# "float64"), "any", "map[string]interface {}", "map[string]string",
# ("[]", elem_spec, go_name) for slices, ("struct", go_name, {field: spec}) for
# nested structs, and "custom:<name>" for fields with their own UnmarshalJSON.
Spec = Any


def _matches(spec: str, value: Any) -> bool:
    if spec == "string":
        return isinstance(value, str)
    if spec == "bool":
        return isinstance(value, bool)
    if spec == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec == "float64":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if spec.startswith("map["):
        if not isinstance(value, dict):
            return False
        return spec != "map[string]string" or all(
            isinstance(v, str) for v in value.values()
        )
    return True


def _go_name(spec: Spec) -> str:
    if isinstance(spec, tuple):
        return str(spec[2] if spec[0] == "[]" else spec[1])
    return str(spec)


def _type_error(value: Any, where: str, spec: Spec) -> str:
    kind = json_kind(value)
    if kind == "number" and spec == "int":
        kind = f"number {value!r}"
    return (
        f"json: cannot unmarshal {kind} into Go struct field {where} "
        f"of type {_go_name(spec)}"
    )


def check_fields(
    data: dict[str, Any], struct: str, fields: dict[str, Spec], path: str = ""
) -> str | None:
    """The error Go's decoder reports for ``data``, or None.

    As ``encoding/json``: a type error is remembered and decoding goes on (the
    first one is reported), but an error from a field's own ``UnmarshalJSON``
    (``keep_alive``, ``think``) stops decoding at once and wins. Unknown keys
    are ignored.
    """
    saved = None
    for key, value in data.items():
        spec = fields.get(key)
        if spec is None or value is None:
            continue
        if isinstance(spec, str) and spec.startswith("custom:"):
            try:
                _CUSTOM[spec](value)
            except GoJSONError as exc:
                return str(exc)
            continue
        where = f"{struct}.{path}{key}"
        error = _check(value, spec, where, struct, f"{path}{key}.")
        if error and saved is None:
            saved = error
    return saved


def _check(value: Any, spec: Spec, where: str, struct: str, path: str) -> str | None:
    if isinstance(spec, tuple) and spec[0] == "[]":
        if not isinstance(value, list):
            return _type_error(value, where, spec)
        for item in value:
            if item is None:
                continue
            error = _check(item, spec[1], where, struct, path)
            if error:
                return error
        return None
    if isinstance(spec, tuple) and spec[0] == "struct":
        if not isinstance(value, dict):
            return _type_error(value, where, spec)
        return check_fields(value, struct, spec[2], path)
    if spec == "base64":
        if not isinstance(value, str):
            return _type_error(value, where, "api.ImageData")
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            return "illegal base64 data at input byte 0"
        return None
    if isinstance(spec, str) and not spec.startswith("custom:") and spec != "any":
        if not _matches(spec, value):
            return _type_error(value, where, spec)
        if spec == "int" and isinstance(value, float):  # pragma: no cover
            return _type_error(value, where, spec)
    return None


# --- keep_alive ---------------------------------------------------------------

_UNITS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> float:
    """Go's ``time.ParseDuration``, in seconds; raises GoJSONError like Go."""
    quoted = go_quote(text)
    s = text
    negative = False
    if s[:1] in ("-", "+"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise GoJSONError(f"time: invalid duration {quoted}")
    total = 0.0
    while s:
        if not (s[0] == "." or s[0].isdigit()):
            raise GoJSONError(f"time: invalid duration {quoted}")
        i = 0
        while i < len(s) and s[i].isdigit():
            i += 1
        whole, s = s[:i], s[i:]
        frac = ""
        if s.startswith("."):
            s = s[1:]
            i = 0
            while i < len(s) and s[i].isdigit():
                i += 1
            frac, s = s[:i], s[i:]
        if not whole and not frac:
            raise GoJSONError(f"time: invalid duration {quoted}")
        i = 0
        while i < len(s) and s[i] != "." and not s[i].isdigit():
            i += 1
        unit, s = s[:i], s[i:]
        if not unit:
            raise GoJSONError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            raise GoJSONError(
                f"time: unknown unit {go_quote(unit)} in duration {quoted}"
            )
        total += float(f"{whole or 0}.{frac or 0}") * _UNITS[unit]
    return -total if negative else total


def parse_keep_alive(value: Any) -> float | None:
    """Seconds to stay loaded (``math.inf`` = forever); None when not given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        go_type = {
            bool: "bool",
            list: "[]interface {}",
            dict: "map[string]interface {}",
        }[type(value)]
        raise GoJSONError(f"Unsupported type: '{go_type}'")
    seconds = float(value) if not isinstance(value, str) else parse_go_duration(value)
    return FOREVER if seconds < 0 else seconds


_THINK_VALUES: Final = ("high", "medium", "low", "max")


def parse_think(value: Any) -> bool | str | None:
    """Go's ``ThinkValue.UnmarshalJSON``; raises GoJSONError with its text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value not in _THINK_VALUES:
            raise GoJSONError(
                f"invalid think value: {go_quote(value)} (must be "
                '"high", "medium", "low", "max", true, or false)'
            )
        return value
    raise GoJSONError(
        'think must be a boolean or string ("high", "medium", "low", "max", '
        "true, or false)"
    )


_CUSTOM: Final = {"custom:duration": parse_keep_alive, "custom:think": parse_think}


def expiry(seconds: float) -> datetime:
    """When a model kept alive for ``seconds`` expires (forever ~ year 2318)."""
    now = datetime.now().astimezone()
    if seconds == FOREVER:
        # Go adds math.MaxInt64 nanoseconds: about 292 years.
        return now + timedelta(seconds=(2**63 - 1) / 1e9)
    return now + timedelta(seconds=seconds)


def ns_since(start: int) -> int:
    """Nanoseconds since a ``time.perf_counter_ns()`` mark, at least 1."""
    return max(1, time.perf_counter_ns() - start)
