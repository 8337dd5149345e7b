"""The base of every wire type: a msgspec Struct that also answers the official
client's dict-style access (``r["message"]["content"]``, ``"x" in r``, ``r.get``).

Must not import aiohttp.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "Model", "UnsetType"]

# Wire name -> attribute name, per class, built on first dict-style access.
_NAME_MAPS: dict[type, dict[str, str]] = {}


def _attribute_for(cls: type[msgspec.Struct], key: str) -> str | None:
    names = _NAME_MAPS.get(cls)
    if names is None:
        fields = cls.__struct_fields__
        names = dict(zip(cls.__struct_encode_fields__, fields, strict=True))
        names.update((f, f) for f in fields)
        _NAME_MAPS[cls] = names
    return names.get(key)


class Model(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A typed record with attribute access and the official dict-style access.

    Keys are the wire names (``r["from"]``) or the attribute names
    (``r["from_"]``). A key is ``in`` the record when it is set to something
    other than ``None`` or ``UNSET``.
    """

    def __getitem__(self, key: str) -> Any:
        name = _attribute_for(type(self), key)
        if name is None:
            raise KeyError(key)
        return getattr(self, name)

    def __setitem__(self, key: str, value: Any) -> None:
        name = _attribute_for(type(self), key)
        if name is None:
            raise KeyError(key)
        setattr(self, name, value)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        name = _attribute_for(type(self), key)
        if name is None:
            return False
        value = getattr(self, name)
        return value is not None and value is not UNSET

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` when it is set, else ``default``."""
        if key in self:
            return self[key]
        return default

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-compatible builtins, keyed by wire names,
        without unset fields."""
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result
