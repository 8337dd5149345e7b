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
import hashlib
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import msgspec

from ._errors import RequestError
from ._schema import format_schema
from ._tooldefs import spec
from .types import UNSET, Image, Message, Options, ThinkLevel, Tool, UnsetType

__all__ = [
    "ImageInput",
    "RequestError",
    "basic_auth",
    "blob_digest",
    "blob_digests",
    "bool_arg",
    "check_str",
    "context_arg",
    "encode_image",
    "file_digest",
    "format_arg",
    "header",
    "images_arg",
    "instance_of",
    "int_arg",
    "is_tool_callable",
    "keep_alive_arg",
    "license_arg",
    "messages_arg",
    "model_arg",
    "non_empty_str",
    "opt",
    "options_arg",
    "positive_int",
    "seconds",
    "texts_arg",
    "think_arg",
    "tools_arg",
    "web_authorization",
]

ImageInput: TypeAlias = (
    "str | bytes | bytearray | memoryview | os.PathLike[str] | io.IOBase"
)

_THINK_LEVELS = ("low", "medium", "high", "max")
# Go's time.ParseDuration: a sequence of decimal numbers with units.
_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_UNSAFE_NAME = re.compile(r"[\x00-\x20\x7f]")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HASH_PIECE = 1024 * 1024


def opt(value: Any) -> Any:
    """``UNSET`` for ``None``: the official client's "not given"."""
    return UNSET if value is None else value


def check_str(name: str, value: Any) -> Any:
    """``value`` when it is a str or None, else a RequestError."""
    if value is not None and not isinstance(value, str):
        raise RequestError(f"{name} must be a str, got {type(value).__name__}")
    return opt(value)


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
    return model


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
            result.append(message)
            continue
        if not isinstance(message, Mapping):
            raise RequestError(
                f"messages[{index}] must be a Message or a mapping, "
                f"got {type(message).__name__}"
            )
        fields = {k: v for k, v in message.items() if v is not None}
        if "images" in fields:
            fields["images"] = _images(fields["images"], f"messages[{index}].images")
        if "role" not in fields:
            raise RequestError(f"messages[{index}] has no role")
        try:
            result.append(msgspec.convert(fields, Message))
        except msgspec.ValidationError as exc:
            raise RequestError(f"invalid messages[{index}]: {exc}") from None
    return result


def images_arg(images: Any) -> list[str] | UnsetType:
    """Images for ``generate``."""
    if images is None:
        return UNSET
    return _images(images, "images")


def options_arg(options: Any, name: str = "options") -> dict[str, Any] | UnsetType:
    """Options as a dict, keeping keys this client does not know; the known
    ones are type-checked (``stop`` must be a list, ...)."""
    if options is None:
        return UNSET
    if isinstance(options, Options):
        result: dict[str, Any] = msgspec.to_builtins(options)
        return result
    if not isinstance(options, Mapping):
        raise RequestError(f"{name} must be a mapping or Options")
    try:
        msgspec.convert(options, Options)
    except msgspec.ValidationError as exc:
        raise RequestError(f"invalid {name}: {exc}") from None
    return dict(options)


def keep_alive_arg(keep_alive: Any) -> float | str | UnsetType:
    """Seconds (number or ``timedelta``) or a Go duration string with units."""
    if keep_alive is None:
        return UNSET
    if isinstance(keep_alive, datetime.timedelta):
        return keep_alive.total_seconds()
    if isinstance(keep_alive, bool) or not isinstance(keep_alive, int | float | str):
        raise RequestError(
            "keep_alive must be seconds (a number or timedelta) or a duration "
            f"such as '5m', got {type(keep_alive).__name__}"
        )
    if (
        isinstance(keep_alive, str)
        and keep_alive != "0"
        and not _DURATION.fullmatch(keep_alive)
    ):
        raise RequestError(
            f"keep_alive {keep_alive!r} is not a duration with units, such as "
            "'5m', '1h30m' or '-1m' (a bare number must be passed as a number)"
        )
    result: float | str = keep_alive
    return result


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
            result.append(tool.to_dict())
            continue
        if is_tool_callable(tool):
            result.append(spec(tool).definition)
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
        result.append({"type": "function", **tool})
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
    if api_key is None:
        api_key = os.environ.get("OLLAMA_API_KEY", "")
        if not api_key.strip():
            raise RequestError(
                f"{what} needs an ollama.com API key: pass api_key= or set "
                "OLLAMA_API_KEY (create one at https://ollama.com/settings/keys)"
            )
    if not isinstance(api_key, str) or not api_key.strip():
        raise RequestError("api_key must be a non-empty str")
    return f"Bearer {api_key.strip()}"


def context_arg(context: Any) -> list[int] | UnsetType:
    """``generate(context=...)``: the token ids a previous answer returned."""
    if context is None:
        return UNSET
    if isinstance(context, str | bytes) or not all(
        isinstance(t, int) and not isinstance(t, bool) for t in context
    ):
        raise RequestError("context must be a list of ints")
    return list(context)


def license_arg(license: Any) -> str | list[str] | UnsetType:
    """``create(license=...)``: one license text or several."""
    if license is None:
        return UNSET
    if isinstance(license, str):
        return license
    if not isinstance(license, Sequence) or not all(
        isinstance(text, str) for text in license
    ):
        raise RequestError("license must be a str or a list of str")
    return list(license)


def texts_arg(name: str, value: Any) -> str | list[str]:
    """One text, or a list of texts (``embed(input=...)``)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) for item in value
    ):
        raise RequestError(f"{name} must be a str or a list of str")
    return list(value)


def non_empty_str(name: str, value: Any) -> str:
    """A str with something other than whitespace in it."""
    if not isinstance(value, str) or not value.strip():
        raise RequestError(f"{name} must be a non-empty str, got {value!r}")
    return value


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
        raise RequestError(f"no such file: {str(path)!r}")
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


def header(name: Any, value: Any) -> tuple[str, str]:
    """A header the caller asked to send: str to str, nothing that could end
    the header or start another."""
    if not isinstance(name, str) or not isinstance(value, str):
        raise RequestError(f"headers[{name!r}] must map a str to a str")
    if (
        not name
        or any(c in name for c in " \t:\r\n\0")
        or any(c in value for c in "\r\n\0")
    ):
        raise RequestError(f"headers[{name!r}] has an invalid name or value")
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
    return auth[0], auth[1]


def _type_name(kind: type) -> str:
    if kind is type(None):
        return "None"
    if kind.__module__ == "builtins" or kind.__module__.startswith("ollama_async"):
        return kind.__name__
    return f"{kind.__module__}.{kind.__qualname__}"
