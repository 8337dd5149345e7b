"""Every argument check, run before anything is sent: a bad argument raises
:class:`RequestError` naming the parameter and what was wrong. Endpoint
arguments are also converted here to what goes on the wire (images to base64,
functions to tool definitions, types to JSON schemas); configuration values
(``Timeout``, ``Limits``, ``Retry``, client options) use the generic checks at
the end. Pure: no IO."""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import hashlib
import io
import math
import numbers
import os
import re
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeAlias

import msgspec

from ._errors import RequestError
from ._schema import format_schema
from ._tooldefs import spec
from .types import (
    UNSET,
    Image,
    Message,
    Options,
    ThinkLevel,
    Tool,
    ToolCall,
    ToolCallFunction,
    UnsetType,
)

__all__ = [
    "ImageInput",
    "RequestError",
    "basic_auth",
    "blob_digest",
    "blob_digests",
    "bool_arg",
    "callback",
    "check_str",
    "context_arg",
    "count_arg",
    "encode_image",
    "file_digest",
    "flag",
    "format_arg",
    "fraction",
    "header",
    "images_arg",
    "instance_of",
    "int_arg",
    "is_tool_callable",
    "items_arg",
    "json_arg",
    "keep_alive_arg",
    "license_arg",
    "messages_arg",
    "model_arg",
    "multiplier",
    "non_empty_str",
    "opt",
    "options_arg",
    "path_arg",
    "positive_int",
    "progress_arg",
    "seconds",
    "texts_arg",
    "think_arg",
    "tools_arg",
    "unencodable",
    "unexpected_keywords",
    "web_authorization",
]

ImageInput: TypeAlias = (
    "str | bytes | bytearray | memoryview | os.PathLike[str] | io.IOBase"
)

_THINK_LEVELS = ("low", "medium", "high", "max")
# Go's time.ParseDuration: a sequence of decimal numbers with units (ASCII
# digits only: Go's parser knows no others).
_DURATION = re.compile(
    r"[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+"
)
_UNSAFE_NAME = re.compile(r"[\x00-\x20\x7f]")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HASH_PIECE = 1024 * 1024
_INT64 = 1 << 63
_FLOAT32_MAX = 3.4028234663852886e38
# Go's time.Duration counts nanoseconds in an int64: about 292 years.
_MAX_KEEP_ALIVE = _INT64 / 1e9
# HTTP header names are tokens (RFC 9110 5.6.2); values may not hold control
# characters but tab (Go's server answers 400 to either), nor anything beyond
# latin-1 (HTTP's obs-text): aiohttp's writer would drop a lone surrogate
# without a word.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")

# How Ollama reads each option (api/types.go: Options, Runner and FromMap):
# JSON numbers arrive as float64, and integer options keep int64(x), the
# value truncated toward zero; null leaves an option at its default; a key
# it does not know is ignored (logged).
_INT_OPTIONS = frozenset(
    {
        "num_ctx",
        "num_batch",
        "num_gpu",
        "main_gpu",
        "num_thread",
        "draft_num_predict",
        "num_keep",
        "seed",
        "num_predict",
        "top_k",
        "repeat_last_n",
    }
)
_FLOAT_OPTIONS = frozenset(
    {
        "top_p",
        "min_p",
        "typical_p",
        "temperature",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
    }
)
_BOOL_OPTIONS = frozenset({"use_mmap"})
_LIST_OPTIONS = frozenset({"stop"})
_Context: TypeAlias = list[Annotated[int, msgspec.Meta(ge=-_INT64, le=_INT64 - 1)]]
_encode_text = msgspec.json.Encoder().encode
# Tool definitions of functions (cached by _tooldefs) already checked, by id;
# the value keeps the id from being reused.
_CHECKED_DEFINITIONS: dict[int, Any] = {}


# -- plain JSON --------------------------------------------------------------------


def _text_problem(text: str) -> str | None:
    """Why ``text`` cannot be sent as UTF-8 (a lone surrogate), else None.

    Costs nothing for ASCII text. Other text goes through msgspec, which
    keeps the UTF-8 it makes inside the str (CPython's cache), so encoding
    the request later does not transcode it a second time."""
    if text.isascii():
        return None
    try:
        _encode_text(text)
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone surrogate {text[exc.start]!r} at index {exc.start}, "
            "which UTF-8 cannot carry"
        )
    return None


def _check_text(name: str, text: str) -> str:
    problem = _text_problem(text)
    if problem is not None:
        raise RequestError(f"{name} {problem}")
    return text


def _json_problem(value: Any) -> tuple[str, str] | None:
    """``(where, why)`` for the first part of ``value`` that JSON cannot carry
    as it is: NaN or infinity (msgspec would send null), a lone surrogate, a
    non-str key, or a value that is not a str, number, bool, None, list, tuple,
    dict, Struct or Enum of those. ``where`` is a path suffix such as
    ``['a'][0]``. None when all of it is plain JSON."""
    kind = type(value)
    if kind is dict:
        return _dict_problem(value)
    if kind is list or kind is tuple:
        return _list_problem(value)
    if kind is str:
        problem = _text_problem(value)
        return None if problem is None else ("", problem)
    if kind is int or kind is bool or value is None:
        return None
    if kind is float:
        if math.isfinite(value):
            return None
        return "", f"is {value!r}, which JSON cannot carry"
    if isinstance(value, dict):
        return _dict_problem(value)
    if isinstance(value, list | tuple):
        return _list_problem(value)
    if isinstance(value, msgspec.Struct):
        for field in value.__struct_fields__:
            item = getattr(value, field)
            found = None if item is UNSET else _json_problem(item)
            if found is not None:
                return f".{field}{found[0]}", found[1]
        return None
    if isinstance(value, enum.Enum):
        return _json_problem(value.value)
    return "", (
        f"is a {_type_name(kind)}, not a JSON value (str, int, float, bool, "
        "None, list or dict)"
    )


# The two containers check their scalar items inline, without a call each:
# this runs on every request that has options, a format schema or tools.


def _plain(item: Any) -> bool:
    """A JSON scalar msgspec sends as it is: nothing to look into."""
    kind = type(item)
    return (
        (kind is str and item.isascii())
        or kind is int
        or kind is bool
        or item is None
        or (kind is float and math.isfinite(item))
    )


def _dict_problem(value: dict[Any, Any]) -> tuple[str, str] | None:
    for key, item in value.items():
        if type(key) is not str:
            return "", f"has a key that is not a str: {key!r:.60}"
        if not key.isascii():
            problem = _text_problem(key)
            if problem is not None:
                return "", f"has a key that {problem}"
        if _plain(item):
            continue
        found = _dict_problem(item) if type(item) is dict else _json_problem(item)
        if found is not None:
            return f"[{key!r}]{found[0]}", found[1]
    return None


def _list_problem(value: list[Any] | tuple[Any, ...]) -> tuple[str, str] | None:
    for index, item in enumerate(value):
        if _plain(item):
            continue
        found = _dict_problem(item) if type(item) is dict else _json_problem(item)
        if found is not None:
            return f"[{index}]{found[0]}", found[1]
    return None


def json_arg(name: str, value: Any) -> Any:
    """``value`` when it is plain JSON that msgspec sends as it is (see
    :func:`_json_problem`), else a RequestError naming the part."""
    try:
        found = _json_problem(value)
    except RecursionError:
        raise RequestError(f"{name} is nested too deeply to send") from None
    if found is not None:
        raise RequestError(f"{name}{found[0]} {found[1]}")
    return value


def unencodable(request: msgspec.Struct, exc: BaseException) -> RequestError:
    """The RequestError for a request msgspec could not encode: the checks
    run per argument let through nothing JSON cannot carry, except in strings
    and typed values checked only here, once encoding failed."""
    try:
        found = _json_problem(request)
    except RecursionError:
        return RequestError("the request is nested too deeply to send")
    if found is None:
        return RequestError(f"the request cannot be encoded as JSON: {exc}")
    return RequestError(f"{found[0].lstrip('.')} {found[1]}")


def opt(value: Any) -> Any:
    """``UNSET`` for ``None``: the official client's "not given"."""
    return UNSET if value is None else value


def check_str(name: str, value: Any) -> Any:
    """``value`` when it is a str that UTF-8 can carry, or None (UNSET), else
    a RequestError."""
    if value is None:
        return UNSET
    if not isinstance(value, str):
        raise RequestError(f"{name} must be a str, got {type(value).__name__}")
    return _check_text(name, value)


def model_arg(model: Any, name: str = "model") -> str:
    """A model name: a non-empty str without whitespace or control characters."""
    if not isinstance(model, str):
        raise RequestError(f"{name} must be a str, got {type(model).__name__}")
    if not model:
        raise RequestError(f"must provide a {name}")
    if _UNSAFE_NAME.search(model):
        raise RequestError(
            f"{name} {model!r} contains whitespace or control characters"
        )
    return _check_text(name, model)


def encode_image(image: Any) -> str:
    """Padded base64 without a data-URL prefix, from bytes, a path, a binary
    file object or a base64 str. A missing or unreadable file raises."""
    if isinstance(image, Image):
        image = image.value
    if isinstance(image, bytes | bytearray | memoryview):
        return base64.b64encode(image).decode("ascii")
    if isinstance(image, os.PathLike):
        return base64.b64encode(_read_file(Path(image))).decode("ascii")
    if isinstance(image, io.IOBase) or hasattr(image, "read"):
        try:
            data = image.read()
        except OSError as exc:
            raise RequestError(
                f"cannot read image file {getattr(image, 'name', image)!r}: {exc}"
            ) from exc
        if not isinstance(data, bytes | bytearray):
            raise RequestError("an image file object must be opened in binary mode")
        return base64.b64encode(data).decode("ascii")
    if isinstance(image, str):
        # An existing file wins: names such as "photo1" or "img/cat_01" are
        # also valid (unpadded) base64; the official client checks for a file
        # first too.
        path = Path(image)
        try:
            is_file = len(image) <= 4096 and path.is_file()
        except (OSError, ValueError):
            is_file = False
        if is_file:
            return base64.b64encode(_read_file(path)).decode("ascii")
        text = image.strip()
        if text.startswith("data:") and "," in text:
            text = text.split(",", 1)[1]  # the server wants bare base64
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = None
        if raw is not None and text:
            return base64.b64encode(raw).decode("ascii")  # re-padded
        raise RequestError(
            f"image {image[:60]!r} is neither base64 data nor an existing file"
        )
    raise RequestError(
        f"an image must be bytes, a path, a binary file or base64 str, "
        f"got {type(image).__name__}"
    )


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RequestError(
            f"cannot read image file {str(path)!r}: {exc.strerror}"
        ) from exc


def _images(images: Any, where: str) -> list[str]:
    if isinstance(images, str | bytes) or not isinstance(images, Sequence):
        raise RequestError(f"{where} must be a list of images")
    return [encode_image(image) for image in images]


def messages_arg(messages: Any) -> list[Message] | UnsetType:
    """Messages (``Message`` or mappings) checked and converted."""
    if messages is None:
        return UNSET
    if isinstance(messages, str | bytes | Mapping) or not isinstance(
        messages, Sequence
    ):
        raise RequestError("messages must be a list of messages")
    result: list[Message] = []
    for index, message in enumerate(messages):
        if isinstance(message, Message):
            if message.images:
                message = msgspec.structs.replace(
                    message, images=_images(message.images, f"messages[{index}].images")
                )
        elif not isinstance(message, Mapping):
            raise RequestError(
                f"messages[{index}] must be a Message or a mapping, "
                f"got {type(message).__name__}"
            )
        else:
            fields = {k: v for k, v in message.items() if v is not None}
            if "images" in fields:
                fields["images"] = _images(
                    fields["images"], f"messages[{index}].images"
                )
            if "role" not in fields:
                raise RequestError(f"messages[{index}] has no role")
            try:
                message = msgspec.convert(fields, Message)
            except msgspec.ValidationError as exc:
                raise RequestError(f"invalid messages[{index}]: {exc}") from None
        if message.tool_calls:
            _check_tool_calls(index, message.tool_calls)
        result.append(message)
    return result


def _check_tool_calls(index: int, calls: Any) -> None:
    """Tool-call arguments are free-form JSON: the one part of a message
    whose floats (NaN) or values msgspec would send wrong. Typed fields
    (names, ids) fail at encoding if they hold what UTF-8 cannot carry."""
    for number, call in enumerate(calls):
        function = call.function if type(call) is ToolCall else None
        arguments = function.arguments if type(function) is ToolCallFunction else None
        if type(arguments) is dict:
            found = _dict_problem(arguments)
            where = ".function.arguments"
        else:
            found = _json_problem(call)
            where = ""
        if found is not None:
            raise RequestError(
                f"messages[{index}].tool_calls[{number}]{where}{found[0]} {found[1]}"
            )


def images_arg(images: Any) -> list[str] | UnsetType:
    """Images for ``generate``."""
    if images is None:
        return UNSET
    return _images(images, "images")


def options_arg(options: Any, name: str = "options") -> dict[str, Any] | UnsetType:
    """Options as a dict, checked and converted as Ollama reads them
    (``FromMap`` in ``api/types.go``): a number for an integer option is
    truncated toward zero (``4096.0`` is sent as ``4096``), ``None`` is left
    out (the server leaves the option at its default), and a key it does not
    know is kept, its value checked only for being plain JSON.

    ``create(parameters=...)`` (``name="parameters"``) keeps ``None``: the
    server stores it, and it clears a parameter the base model sets."""
    if options is None:
        return UNSET
    if isinstance(options, Options):
        items: Any = (
            (field, getattr(options, field)) for field in options.__struct_fields__
        )
    elif isinstance(options, Mapping):
        items = options.items()
    else:
        raise RequestError(
            f"{name} must be a mapping or Options, got {type(options).__name__}"
        )
    keep_none = name == "parameters"
    result: dict[str, Any] = {}
    for key, value in items:
        if type(key) is not str:
            raise RequestError(f"{name} keys must be str, got {key!r}")
        if value is None or value is UNSET:
            if keep_none and value is None:
                result[_check_text(f"{name} key {key!r}", key)] = None
            continue
        if key in _INT_OPTIONS:
            result[key] = _int_option(name, key, value)
        elif key in _FLOAT_OPTIONS:
            result[key] = _float_option(name, key, value)
        elif key in _BOOL_OPTIONS:
            if not isinstance(value, bool):
                raise RequestError(
                    f"{name}[{key!r}] must be a bool, got {type(value).__name__}"
                )
            result[key] = value
        elif key in _LIST_OPTIONS:
            if type(value) is not list and not isinstance(value, list | tuple):
                raise RequestError(
                    f"{name}[{key!r}] must be a list of str, got {value!r:.60}"
                )
            for item in value:
                if type(item) is not str:
                    raise RequestError(
                        f"{name}[{key!r}] must be a list of str, got {value!r:.60}"
                    )
                if not item.isascii():
                    _check_text(f"{name}[{key!r}]", item)
            result[key] = list(value)
        else:
            result[key] = _option_json(name, key, value)
    return result


def _option_json(name: str, key: str, value: Any) -> Any:
    """An option the server reads as free-form JSON (or ignores)."""
    found = _dict_problem({key: value})
    if found is not None:
        raise RequestError(f"{name}{found[0]} {found[1]}")
    return value


def _int_option(name: str, key: str, value: Any) -> int:
    """An integer option as the server keeps it: ``int64(float64(value))``."""
    if type(value) is int and -(1 << 53) <= value <= 1 << 53:
        return value  # exact in a float64: the common case, unchanged
    number = _option_number(name, key, value, "an integer")
    if not -_INT64 <= number < _INT64:
        raise RequestError(
            f"{name}[{key!r}] is {value!r}, outside the server's 64-bit integers"
        )
    return int(number)


def _float_option(name: str, key: str, value: Any) -> float | int:
    """A float option; the server keeps it as a float32."""
    if type(value) is float and -_FLOAT32_MAX <= value <= _FLOAT32_MAX:
        return value  # finite (NaN fails the comparison), the common case
    number = _option_number(name, key, value, "a number")
    if abs(number) > _FLOAT32_MAX:
        raise RequestError(
            f"{name}[{key!r}] is {value!r}, beyond a float32: the server "
            "would make it infinite"
        )
    return value if type(value) is int else number


def _option_number(name: str, key: str, value: Any, kind: str) -> float:
    """``value`` as the float64 the server decodes it into."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RequestError(
            f"{name}[{key!r}] must be {kind}, got {type(value).__name__} {value!r:.40}"
        )
    try:
        number = float(value)
    except OverflowError:
        raise RequestError(
            f"{name}[{key!r}] is {value!r:.40}, beyond what JSON numbers carry"
        ) from None
    if not math.isfinite(number):
        raise RequestError(f"{name}[{key!r}] is {value!r}, which JSON cannot carry")
    return number


def keep_alive_arg(keep_alive: Any) -> float | str | UnsetType:
    """Seconds (number or ``timedelta``) or a Go duration string with units.
    A negative number keeps the model loaded indefinitely, as the server
    reads it."""
    if keep_alive is None:
        return UNSET
    if isinstance(keep_alive, str):
        if keep_alive != "0" and not _DURATION.fullmatch(keep_alive):
            raise RequestError(
                f"keep_alive {keep_alive!r} is not a duration with units, such as "
                "'5m', '1h30m' or '-1m' (a bare number must be passed as a number)"
            )
        return keep_alive
    if isinstance(keep_alive, datetime.timedelta):
        keep_alive = keep_alive.total_seconds()
    elif isinstance(keep_alive, bool) or not isinstance(keep_alive, numbers.Real):
        raise RequestError(
            "keep_alive must be seconds (a number or timedelta) or a duration "
            f"such as '5m', got {type(keep_alive).__name__}"
        )
    try:
        seconds = float(keep_alive)
    except OverflowError:
        raise RequestError(
            f"keep_alive is {keep_alive!r:.40}, beyond what JSON numbers carry"
        ) from None
    if math.isnan(seconds) or seconds >= _MAX_KEEP_ALIVE:
        # msgspec sends NaN and infinity as null, which the server takes for
        # "not given" (5 minutes); past ~292 years Go's Duration overflows.
        raise RequestError(
            f"keep_alive is {keep_alive!r:.40} seconds, which the server cannot "
            "hold; a negative number (-1) keeps the model loaded indefinitely"
        )
    if seconds == -math.inf:
        raise RequestError(
            "keep_alive is -inf, which JSON cannot carry; pass -1 to keep the "
            "model loaded indefinitely"
        )
    return keep_alive if type(keep_alive) in (int, float) else seconds


def think_arg(think: Any) -> bool | ThinkLevel | UnsetType:
    """``True``/``False`` or a level (``low``, ``medium``, ``high``, ``max``)."""
    if think is None:
        return UNSET
    if isinstance(think, bool) or think in _THINK_LEVELS:
        result: bool | ThinkLevel = think
        return result
    raise RequestError(
        f"think must be True, False or one of {', '.join(_THINK_LEVELS)}, got {think!r}"
    )


def format_arg(format: Any) -> str | dict[str, Any] | UnsetType:
    """``"json"``, ``""``, a JSON-schema mapping (sent as given), or a type
    whose schema is sent: a msgspec Struct, dataclass, TypedDict ..., or a
    class with ``model_json_schema()`` (pydantic)."""
    if format is None:
        return UNSET
    result = format_schema(format)
    if result is None:
        raise RequestError(
            "format must be 'json', a JSON schema dict or a type (Struct, "
            f"dataclass, pydantic model ...), got {format!r}"
        )
    if type(result) is dict:
        json_arg("format", result)
    return result


def is_tool_callable(tool: Any) -> bool:
    """Whether ``tools=`` gets a Python callable (rather than a definition)."""
    return callable(tool) and not isinstance(tool, Tool | Mapping | type)


def tools_arg(tools: Any) -> list[dict[str, Any]] | UnsetType:
    """Tool definitions as dicts: dicts and ``Tool`` values sent as given (no
    schema detail is dropped), callables described by :func:`tool_definition`."""
    if tools is None:
        return UNSET
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Sequence):
        raise RequestError("tools must be a list of tools")
    result: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        if isinstance(tool, Tool):
            # Checked before to_builtins, which would turn bytes into base64.
            json_arg(f"tools[{index}]", tool)
            result.append(tool.to_dict())
            continue
        if is_tool_callable(tool):
            definition = spec(tool).definition
            # Built once per function (and cached): checked once too.
            if _CHECKED_DEFINITIONS.get(id(definition)) is not definition:
                json_arg(f"tools[{index}]", definition)
                if len(_CHECKED_DEFINITIONS) >= 512:
                    _CHECKED_DEFINITIONS.clear()
                _CHECKED_DEFINITIONS[id(definition)] = definition
            result.append(definition)
            continue
        if not isinstance(tool, Mapping):
            raise RequestError(
                f"tools[{index}] must be a function, a Tool or a mapping, "
                f"got {type(tool).__name__}"
            )
        function = tool.get("function")
        if not isinstance(function, Mapping) or not isinstance(
            function.get("name"), str
        ):
            raise RequestError(f"tools[{index}] needs a function with a name")
        result.append(json_arg(f"tools[{index}]", {"type": "function", **tool}))
    return result


def int_arg(name: str, value: Any, low: int, high: int) -> int | UnsetType:
    """An int within ``[low, high]``, or UNSET for None."""
    if value is None:
        return UNSET
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise RequestError(f"{name} must be between {low} and {high}, got {value}")
    return value


def bool_arg(name: str, value: Any) -> bool | UnsetType:
    """A bool, or UNSET for None."""
    if value is None:
        return UNSET
    if not isinstance(value, bool):
        raise RequestError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def web_authorization(what: str, api_key: Any) -> str:
    """The ``Authorization`` value for ollama.com's web API, from ``api_key``
    or else ``$OLLAMA_API_KEY``."""
    name = "api_key"
    if api_key is None:
        name, api_key = "OLLAMA_API_KEY", os.environ.get("OLLAMA_API_KEY", "")
        if not api_key.strip():
            raise RequestError(
                f"{what} needs an ollama.com API key: pass api_key= or set "
                "OLLAMA_API_KEY (create one at https://ollama.com/settings/keys)"
            )
    if not isinstance(api_key, str) or not api_key.strip():
        raise RequestError("api_key must be a non-empty str")
    return header("Authorization", f"Bearer {api_key.strip()}", name)[1]


def context_arg(context: Any) -> list[int] | UnsetType:
    """``generate(context=...)``: the token ids a previous answer returned."""
    if context is None:
        return UNSET
    if not isinstance(context, list | tuple):
        if isinstance(context, str | bytes | bytearray) or not isinstance(
            context, Sequence
        ):
            raise RequestError(
                f"context must be a list of ints, got {type(context).__name__}"
            )
        context = list(context)
    try:
        # In C, and bounded: the server's []int holds 64-bit ints only.
        result: list[int] = msgspec.convert(context, _Context)
    except msgspec.ValidationError as exc:
        raise RequestError(
            f"context must be a list of 64-bit ints: {str(exc).replace('$', 'context')}"
        ) from None
    return result


def license_arg(license: Any) -> str | list[str] | UnsetType:
    """``create(license=...)``: one license text or several."""
    if license is None:
        return UNSET
    if isinstance(license, str):
        return _check_text("license", license)
    if (
        isinstance(license, bytes | bytearray)
        or not isinstance(license, Sequence)
        or not all(isinstance(text, str) for text in license)
    ):
        raise RequestError(
            f"license must be a str or a list of str, got {type(license).__name__}"
        )
    return [_check_text("license", text) for text in license]


def texts_arg(name: str, value: Any) -> str | list[str]:
    """One text, or a list of texts (``embed(input=...)``)."""
    if isinstance(value, str):
        return _check_text(name, value)
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) for item in value
    ):
        raise RequestError(
            f"{name} must be a str or a list of str, got {type(value).__name__}"
        )
    return [_check_text(f"{name}[{i}]", item) for i, item in enumerate(value)]


def non_empty_str(name: str, value: Any) -> str:
    """A str with something other than whitespace in it."""
    if not isinstance(value, str) or not value.strip():
        raise RequestError(f"{name} must be a non-empty str, got {value!r:.60}")
    return _check_text(name, value)


def blob_digest(digest: Any, name: str = "digest") -> str:
    """A blob digest as the server names blobs: ``sha256:<64 hex>``."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise RequestError(
            f"{name} must be a blob digest, 'sha256:<64 hex>', got {digest!r}"
        )
    return digest


def blob_digests(name: str, files: Any) -> dict[str, str] | UnsetType:
    """File names mapped to blob digests (``create(files=..., adapters=...)``)."""
    if files is None:
        return UNSET
    if not isinstance(files, Mapping):
        raise RequestError(f"{name} must map file names to blob digests")
    for file_name, digest in files.items():
        if not isinstance(file_name, str) or not file_name:
            raise RequestError(f"{name} keys must be file names")
        blob_digest(digest, f"{name}[{file_name!r}]")
    return dict(files)


def file_digest(path: Path) -> str:
    """The blob digest of a file, read in pieces (blocking: run in a thread)."""
    if not path.is_file():
        raise RequestError(f"path {str(path)!r}: no such file")
    sha = hashlib.sha256()
    with path.open("rb") as file:
        while piece := file.read(_HASH_PIECE):
            sha.update(piece)
    return f"sha256:{sha.hexdigest()}"


# -- configuration values --------------------------------------------------------


def positive_int(name: str, value: Any, *, optional: bool = False) -> Any:
    """An int of at least 1 (or None when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        more = " or None" if optional else ""
        raise RequestError(f"{name} must be a positive int{more}, got {value!r}")
    return value


def fraction(name: str, value: Any) -> Any:
    """A number strictly between 0 and 1."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value < 1  # NaN fails this too
    ):
        raise RequestError(f"{name} must be a number between 0 and 1, got {value!r}")
    return value


def multiplier(name: str, value: Any, *, optional: bool = False) -> Any:
    """A finite number above 1 (or None when ``optional``)."""
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 1 < value < math.inf  # NaN fails this too
    ):
        more = " or None" if optional else ""
        raise RequestError(
            f"{name} must be a finite number above 1{more}, got {value!r}"
        )
    return value


def seconds(
    name: str,
    value: Any,
    *,
    optional: bool = True,
    zero: bool = False,
    infinite: bool = False,
) -> Any:
    """A number of seconds: positive (non-negative with ``zero``), finite
    unless ``infinite``; None passes when ``optional``."""
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or (math.isinf(value) and not infinite)
        or value < 0
        or (value == 0 and not zero)
    ):
        kind = "a non-negative" if zero else "a positive"
        finite = "" if infinite else " finite"
        more = " or None" if optional else ""
        raise RequestError(
            f"{name} must be {kind}{finite} number of seconds{more}, got {value!r}"
        )
    return value


def instance_of(name: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    """``value`` when it is an instance of ``kind``."""
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(_type_name(k) for k in kinds)
        raise RequestError(f"{name} must be {expected}, got {type(value).__name__}")
    return value


def header(name: Any, value: Any, where: str | None = None) -> tuple[str, str]:
    """A header to send: a token name, and a value of latin-1 text without
    control characters (but tab), so nothing can end the header or start
    another, and nothing is dropped on the way. ``where`` names the value's
    source in errors (``headers['X']`` by default)."""
    where = where or f"headers[{name!r:.60}]"
    if not isinstance(name, str) or not isinstance(value, str):
        raise RequestError(f"{where} must map a str to a str")
    if not _TOKEN.fullmatch(name):
        raise RequestError(
            f"{where} has an invalid name: header names are ASCII letters, "
            "digits and !#$%&'*+-.^_`|~"
        )
    bad = _BAD_HEADER_VALUE.search(value)
    if bad is not None:
        kind = "a control character" if bad.group() <= "\x7f" else "non-latin-1 text"
        raise RequestError(
            f"{where} has an invalid value: it holds {kind} ({bad.group()!r} at "
            f"index {bad.start()}), which an HTTP header cannot carry"
        )
    return name, value


def basic_auth(auth: Any) -> tuple[str, str]:
    """``auth=(username, password)``, as RFC 7617 allows it."""
    if (
        not isinstance(auth, tuple)
        or len(auth) != 2
        or not all(isinstance(part, str) for part in auth)
    ):
        raise RequestError("auth must be a (username, password) tuple of str")
    if ":" in auth[0]:
        raise RequestError("auth: a username may not contain ':' (RFC 7617)")
    return _check_text("auth[0]", auth[0]), _check_text("auth[1]", auth[1])


def _type_name(kind: type) -> str:
    if kind is type(None):
        return "None"
    if kind.__module__ == "builtins" or kind.__module__.startswith("ollama_async"):
        return kind.__name__
    return f"{kind.__module__}.{kind.__qualname__}"


def path_arg(name: str, value: Any) -> Path:
    """A file path: a str or an ``os.PathLike``."""
    if isinstance(value, str):
        return Path(_check_text(name, value))
    if isinstance(value, os.PathLike):
        return Path(value)
    raise RequestError(f"{name} must be a str or a path, got {type(value).__name__}")


def unexpected_keywords(method: str, given: Mapping[str, Any]) -> NoReturn:
    """Python's TypeError for keywords ``method`` does not take, with a hint
    when they are model options passed at the top level (``temperature=``)."""
    names = ", ".join(map(repr, given))
    plural = "s" if len(given) > 1 else ""
    message = f"{method}() got unexpected keyword argument{plural} {names}"
    options = {k: v for k, v in given.items() if k in Options.__struct_fields__}
    if options:
        which = ", ".join(options)
        what = "is a model option" if len(options) == 1 else "are model options"
        message += f"; {which} {what}: pass options={options!r}"
    raise TypeError(message)


def flag(name: str, value: Any) -> bool:
    """A bool, where None has no meaning of its own (``ordered=``, ...)."""
    if not isinstance(value, bool):
        raise RequestError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def callback(name: str, value: Any) -> Any:
    """A callable, or None."""
    if value is not None and not callable(value):
        raise RequestError(
            f"{name} must be a callable or None, got {type(value).__name__}"
        )
    return value


def items_arg(name: str, value: Any) -> Any:
    """What a batch reads requests from: an iterable or an async iterable,
    not a str, bytes or a single mapping (each would be taken apart)."""
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(
        value, Iterable | AsyncIterable
    ):
        raise RequestError(
            f"{name} must be an iterable or async iterable of requests, "
            f"got {type(value).__name__}"
        )
    return value


def progress_arg(value: Any) -> Any:
    """``progress=``: a bool, or a mapping of tqdm keyword arguments."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, Mapping):
        raise RequestError(
            f"progress must be a bool or a mapping of tqdm arguments, "
            f"got {type(value).__name__}"
        )
    for key in value:
        if not isinstance(key, str) or not key.isidentifier():
            raise RequestError(
                f"progress keys must be tqdm argument names, got {key!r}"
            )
    for key, item in value.items():
        # Other values (file=, colour=, ...) are tqdm's to check.
        if isinstance(item, float) and not math.isfinite(item):
            raise RequestError(f"progress[{key!r}] is {item!r}")
    return value


def count_arg(name: str, value: Any) -> Any:
    """An int of at least 0, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RequestError(f"{name} must be an int >= 0 or None, got {value!r}")
    return value
