"""The base of every wire type: a msgspec Struct that user code can also treat
the way it treats the official client's pydantic models.

``Model`` answers ``r["message"]["content"]``, ``"x" in r``, ``r.get("x")``,
``dict(r)``, ``for name, value in r``, ``r.model_dump()`` and
``r.model_dump_json()`` with the semantics of ollama-python's
``SubscriptableBaseModel`` and pydantic v2. Everything is a method: a Struct
keeps no state besides its fields, so decoding a streamed line costs what it
cost before. What a class's fields are is read once per class, on first use.

One thing cannot be copied without per-instance state. pydantic remembers
which fields the JSON carried (``model_fields_set``); a Struct does not. A
field whose default is ``None`` counts as set when its value is not ``None``,
so a field the server sent as an explicit ``null`` counts as unset here
(``in``, ``[]`` and ``exclude_unset``), while pydantic counts it as set.

Must not import aiohttp.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import pathlib
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeAlias

import msgspec
from msgspec import NODEFAULT, UNSET, UnsetType

__all__ = ["UNSET", "Model", "UnsetType"]

IncEx: TypeAlias = (
    "set[int] | set[str] | Mapping[int, IncEx | bool] | Mapping[str, IncEx | bool]"
)
"""pydantic's ``include=``/``exclude=`` filter: names (or list indexes) in a
set, or a mapping from each to ``True`` (all of it) or a nested filter;
``"__all__"`` stands for every item of a list or mapping."""

_REQUIRED: Any = object()  # default of a field that has none
_MISSING: Any = object()


class _Layout:
    """What dict-style access and dumps need to know of one Struct class."""

    __slots__ = ("fields", "keys", "none_is_unset")

    def __init__(self, cls: type[msgspec.Struct]) -> None:
        fields = []
        for info in msgspec.structs.fields(cls):
            if info.name.startswith("_"):
                continue  # private, as in pydantic: no key, not iterated or dumped
            if info.default is not NODEFAULT:
                default = info.default
            elif info.default_factory is not NODEFAULT:
                default = info.default_factory()
            else:
                default = _REQUIRED
            fields.append((info.name, info.encode_name, default))
        self.fields: tuple[tuple[str, str, Any], ...] = tuple(fields)
        # Keys: attribute names, and wire names where they differ ("from").
        self.keys: dict[str, str] = {wire: name for name, wire, _ in fields}
        self.keys.update((name, name) for name, _, _ in fields)
        # pydantic counts a field as present when the JSON set it or when its
        # default is not None. A Struct keeps no such record: None stands for
        # "not sent" in the fields whose default is None.
        self.none_is_unset = frozenset(n for n, _, d in fields if d is None)

    def is_set(self, name: str, value: Any) -> bool:
        if value is None:
            return name not in self.none_is_unset
        return value is not UNSET


_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type[msgspec.Struct]) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = _Layout(cls)
    return layout


class Model(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A typed record with attribute access and the official dict-style access.

    Keys are attribute names (``r["from_"]``), as in the official client, or
    wire names where those differ (``r["from"]``). A key is ``in`` the record
    when its field is set: to anything but ``None``, or to anything at all
    when the field's default is not ``None``. ``UNSET`` is never set.
    """

    def __getitem__(self, key: str) -> Any:
        """The value of a set field; ``KeyError`` otherwise, as the official
        client raises for a field the server did not send."""
        layout = _layout(type(self))
        name = layout.keys.get(key)
        if name is not None:
            value = getattr(self, name)
            if layout.is_set(name, value):
                return value
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        """Set a field, unchecked, as pydantic does without
        ``validate_assignment``."""
        name = _layout(type(self)).keys.get(key)
        if name is None:
            msg = f'"{type(self).__name__}" object has no field "{key}"'
            raise ValueError(msg)
        setattr(self, name, value)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        layout = _layout(type(self))
        name = layout.keys.get(key)
        return name is not None and layout.is_set(name, getattr(self, name))

    def get(self, key: str, default: Any = None) -> Any:
        """The attribute named ``key``, else ``default``.

        As in the official client, this is ``getattr``, not ``dict.get``: a
        field that is ``None`` gives ``None``, not ``default``. Only ``UNSET``
        (a request field never sent) gives ``default``.
        """
        value = getattr(self, _layout(type(self)).keys.get(key, key), default)
        return default if value is UNSET else value

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` for each field, nested records as they are: what
        iterating a pydantic model gives, so ``dict(r)`` works."""
        for name, _, _ in _layout(type(self)).fields:
            value = getattr(self, name)
            if value is not UNSET:
                yield name, value

    def model_dump(
        self,
        *,
        mode: Literal["json", "python"] | str = "python",
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        exclude_computed_fields: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        fallback: Callable[[Any], Any] | None = None,
        serialize_as_any: bool = False,
        polymorphic_serialization: bool | None = None,
    ) -> dict[str, Any]:
        """The record as a dict, as pydantic's ``model_dump`` gives it.

        Every field is a key, ``None`` ones included, under its attribute
        name (its wire name with ``by_alias=True``); nested records become
        dicts. ``mode="json"`` gives only JSON types (datetimes become
        RFC 3339 strings). ``include``, ``exclude``, ``exclude_unset``,
        ``exclude_defaults``, ``exclude_none`` and ``fallback`` work as in
        pydantic. ``context``, ``round_trip``, ``warnings``,
        ``exclude_computed_fields``, ``serialize_as_any`` and
        ``polymorphic_serialization`` are accepted and change nothing: these
        types have no custom serializers, computed or ``Json`` fields, and a
        nested record is always dumped with all of its own fields.
        """
        dump = _Dump(
            json=mode == "json",
            by_alias=bool(by_alias),
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            fallback=fallback,
        )
        return dump.model(self, include, exclude)

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        ensure_ascii: bool = False,
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        exclude_computed_fields: bool = False,
        round_trip: bool = False,
        warnings: bool | Literal["none", "warn", "error"] = True,
        fallback: Callable[[Any], Any] | None = None,
        serialize_as_any: bool = False,
        polymorphic_serialization: bool | None = None,
    ) -> str:
        """``model_dump(mode="json", ...)`` as a JSON string, compact unless
        ``indent`` is given; pydantic's ``model_dump_json``."""
        data = self.model_dump(
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            fallback=fallback,
        )
        raw = msgspec.json.encode(data)
        if indent is not None:
            raw = msgspec.json.format(raw, indent=indent)
        text = raw.decode()
        if ensure_ascii:  # Non-ASCII can only occur inside JSON strings.
            text = _NON_ASCII.sub(_escape, text)
        return text

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-compatible builtins, keyed by wire names,
        without unset fields."""
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result


# -- dumps -----------------------------------------------------------------------

_SCALARS = frozenset({str, int, float, bool, type(None)})
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"
    return f"\\u{code:04x}"


class _Dump:
    """One ``model_dump`` call: its options, applied at every level."""

    __slots__ = (
        "by_alias",
        "exclude_defaults",
        "exclude_none",
        "exclude_unset",
        "fallback",
        "json",
    )

    def __init__(
        self,
        *,
        json: bool,
        by_alias: bool,
        exclude_unset: bool,
        exclude_defaults: bool,
        exclude_none: bool,
        fallback: Callable[[Any], Any] | None,
    ) -> None:
        self.json = json
        self.by_alias = by_alias
        self.exclude_unset = exclude_unset
        self.exclude_defaults = exclude_defaults
        self.exclude_none = exclude_none
        self.fallback = fallback

    def model(self, record: Model, include: Any, exclude: Any) -> dict[str, Any]:
        layout = _layout(type(record))
        filtered = include is not None or exclude is not None
        out = {}
        for name, wire, default in layout.fields:
            value = getattr(record, name)
            if value is UNSET or (value is None and self.exclude_none):
                continue
            if self.exclude_unset and not layout.is_set(name, value):
                continue
            if self.exclude_defaults and default is not _REQUIRED and value == default:
                continue
            if filtered:
                nested = _filter(name, include, exclude)
                if nested is None:
                    continue
                value = self.value(value, *nested)
            elif type(value) not in _SCALARS:
                value = self.value(value, None, None)
            out[wire if self.by_alias else name] = value
        return out

    def value(self, value: Any, include: Any, exclude: Any) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            # Non-finite floats stay floats in mode="json" too, as pydantic
            # leaves float fields; JSON text spells them null, as it does.
            return value
        if isinstance(value, Model):
            return self.model(value, include, exclude)
        if kind is list or kind is tuple:
            if (
                include is None
                and exclude is None
                and set(map(type, value)) <= _SCALARS
            ):
                # The fast path, for embeddings and token lists.
                return list(value) if kind is list or self.json else value
            items = []
            for index, item in enumerate(value):
                nested = _filter(index, include, exclude)
                if nested is not None:
                    items.append(self.value(item, *nested))
            return items if kind is list or self.json else tuple(items)
        if kind is dict:
            entries = {}
            for key, item in value.items():
                nested = _filter(key, include, exclude)
                if nested is not None:
                    if self.json and type(key) is not str:
                        key = _json_key(key)
                    entries[key] = self.value(item, *nested)
            return entries
        return self.other(value)

    def other(self, value: Any) -> Any:
        """A value of another type: datetimes, sets, bytes, user objects."""
        if not self.json:
            if self.fallback is not None and not isinstance(value, _KNOWN):
                return self.fallback(value)
            return value
        if isinstance(value, bytes | bytearray):
            return value.decode()  # pydantic's default, ser_json_bytes="utf8"
        if isinstance(value, set | frozenset):
            return [self.value(item, None, None) for item in value]
        # msgspec writes datetimes, dates, times, durations, UUIDs, decimals and
        # enums as pydantic does; fallback, like pydantic's, handles the rest.
        return msgspec.to_builtins(value, enc_hook=self.fallback)


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# What pydantic serializes itself in mode="python"; fallback gets anything else.
_KNOWN = (
    bytes,
    bytearray,
    set,
    frozenset,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    decimal.Decimal,
    enum.Enum,
    pathlib.PurePath,
    uuid.UUID,
    msgspec.Struct,
)


# -- include / exclude -----------------------------------------------------------
# pydantic-core's filter (src/serializers/filter.rs), for one key of a record,
# list or dict: None drops the item, else the filters for its value.


def _whole(spec: Any) -> bool:
    return spec is True or spec is ...


def _filter(key: Any, include: Any, exclude: Any) -> tuple[Any, Any] | None:
    next_exclude = None
    if exclude is not None:
        if isinstance(exclude, Mapping):
            spec = _with_all(exclude, key)
            if spec is not _MISSING:
                if _whole(spec):
                    return None
                next_exclude = spec
        elif isinstance(exclude, set | frozenset | list | tuple):
            if key in exclude or "__all__" in exclude:
                return None
        else:
            raise TypeError("`exclude` argument must be a set or dict.")
    if include is not None:
        if isinstance(include, Mapping):
            spec = _with_all(include, key)
            if spec is _MISSING:
                return None
            return (None if _whole(spec) else spec), next_exclude
        if isinstance(include, set | frozenset | list | tuple):
            if key in include or "__all__" in include:
                return None, next_exclude
            return None
        raise TypeError("`include` argument must be a set or dict.")
    return None, next_exclude


def _with_all(spec: Mapping[Any, Any], key: Any) -> Any:
    """The filter for ``key``, merged with the one under ``"__all__"``."""
    own = spec.get(key, _MISSING)
    every = spec.get("__all__", _MISSING)
    if own is _MISSING:
        return every
    if every is _MISSING or _whole(own) or _whole(every):
        return own
    return _merge(_as_dict(own), every)


def _as_dict(spec: Any) -> dict[Any, Any]:
    if isinstance(spec, Mapping):
        return dict(spec)
    if isinstance(spec, set | frozenset | list | tuple):
        return dict.fromkeys(spec, ...)
    msg = (
        "`include` and `exclude` must be of type "
        "`dict[str | int, <recursive> | ...] | set[str | int | ...]`"
    )
    raise TypeError(msg)


def _merge(own: dict[Any, Any], every: Any) -> dict[Any, Any]:
    if isinstance(every, Mapping):
        for key, spec in every.items():
            mine = own.get(key, _MISSING)
            if mine is _MISSING:
                own[key] = spec
            elif not _whole(mine) and not _whole(spec):
                own[key] = _merge(_as_dict(mine), spec)
    elif isinstance(every, set | frozenset | list | tuple):
        for key in every:
            own.setdefault(key, ...)
    else:
        msg = "'__all__' key of `include` and `exclude` must be a dict or a set"
        raise TypeError(msg)
    return own
