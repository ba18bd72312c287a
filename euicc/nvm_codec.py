"""The typed codec of the card's persistent state (euicc.nvm): values to stored text and back.

Values are JSON-like (None, bool, int, str, bytes, tuples, read-only mappings) and frozen
dataclasses registered by their ``RECORD_TYPE``; everything decoded is immutable.  A codec given a
:class:`Layout` (key pattern -> type hint, euicc.state_layout) checks that every value written or
loaded has the type its key requires, dataclass fields included, and refuses a key no rule matches.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType, UnionType
from typing import Any


class UnknownKey(ValueError):
    """A stored key that no rule of the codec's layout matches."""


#: A layout rule: a key pattern and the type hint its values must conform to.  In a pattern, ``*``
#: is one path segment and a trailing ``/**`` one or more further segments.
LayoutRule = tuple[str, Any]


class Layout:
    """Which keys a store may hold and the type of each one's value, by key pattern.

    Rules are indexed by their first path segment (the key prefix: ``card``, ``fs``, ``gp`` ...)."""

    def __init__(self, rules: Sequence[LayoutRule]) -> None:
        self._rules: dict[str, list[tuple[re.Pattern[str], Any]]] = {}
        self._known: dict[str, Any] = {}   # key -> hint, of the keys seen so far
        for pattern, hint in rules:
            head = pattern.split("/", 1)[0]
            self._rules.setdefault(head, []).append((_compile(pattern), hint))

    def hint(self, key: str) -> Any:
        """The type hint of `key`'s value; KeyError when no rule matches."""
        try:
            return self._known[key]
        except KeyError:
            pass
        for regex, hint in self._rules.get(key.split("/", 1)[0], ()):
            if regex.fullmatch(key):
                self._known[key] = hint
                return hint
        raise KeyError(key)

    def dataclasses(self) -> tuple[type, ...]:
        """Every dataclass a value of this layout may be or contain."""
        found: dict[type, None] = {}
        stack = [h for rules in self._rules.values() for _, h in rules]
        while stack:
            hint = stack.pop()
            if isinstance(hint, type) and dataclasses.is_dataclass(hint):
                if hint not in found:
                    found[hint] = None
                    stack.extend(_field_hints(hint).values())
            stack.extend(typing.get_args(hint))
        return tuple(found)


def _compile(pattern: str) -> re.Pattern[str]:
    parts = pattern.split("/")
    tail = parts[-1] == "**"
    body = "/".join("[^/]+" if p == "*" else re.escape(p) for p in (parts[:-1] if tail else parts))
    return re.compile(body + ("/.+" if tail else ""))


@functools.cache
def _field_hints(cls: type) -> dict[str, Any]:
    """The type hints of a dataclass's fields (its ClassVars, e.g. RECORD_TYPE, left out)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def conforms(value: Any, hint: Any) -> bool:
    """Whether a stored value has the type `hint` (a class, ``X | None``, ``tuple[X, ...]``,
    ``tuple[X, Y]``, ``Mapping[K, V]``, ``Any``); a dataclass's fields are checked against its
    annotations, and ``bool`` is not an ``int``."""
    return _checker(hint)(value)


def _any(value: Any) -> bool:
    return True


def _is_int(value: Any) -> bool:
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


_SCALARS = frozenset({type(None), bool, int, str})   # stored as they are (exact types)
_INT = frozenset({int})
_JSON = json.JSONEncoder(separators=(",", ":"))      # one encoder, not one per value


@functools.cache
def _checker(hint: Any) -> Callable[[Any], bool]:
    """The test :func:`conforms` applies for `hint`, built once per hint (a value is checked at
    every write: the check must not walk the type hint each time)."""
    if hint is Any:
        return _any
    if hint is None or hint is type(None):
        return lambda value: value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, UnionType):
        alternatives = tuple(_checker(a) for a in args)
        return lambda value: any(check(value) for check in alternatives)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _checker(args[0])
            if args[0] is int:   # the common case, with the exact type first
                return lambda value: isinstance(value, tuple) and (
                    set(map(type, value)) <= _INT or all(map(_is_int, value)))
            return lambda value: isinstance(value, tuple) and all(map(item, value))
        items = tuple(_checker(a) for a in args)
        return lambda value: (isinstance(value, tuple) and len(value) == len(items)
                              and all(check(v) for check, v in zip(items, value)))
    if origin is Mapping:
        key_check, value_check = (_checker(a) for a in (args or (Any, Any)))
        return lambda value: isinstance(value, Mapping) and all(
            key_check(k) and value_check(v) for k, v in value.items())
    if not isinstance(hint, type):
        raise TypeError(f"unsupported type hint {hint!r}")
    if dataclasses.is_dataclass(hint):
        fields = tuple((name, _checker(h)) for name, h in _field_hints(hint).items())
        return lambda value: type(value) is hint and all(check(getattr(value, name))
                                                          for name, check in fields)
    if hint is int:
        return _is_int
    return lambda value: isinstance(value, hint)


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


class Codec:
    """JSON encoding of state values, with bytes and registered frozen dataclasses; with a
    `layout`, every value is checked against the type its key requires (writing: ``TypeError``,
    a defect of the caller; loading: ``ValueError``, a corrupt file).

    A record is stored as ``{"$t": <record type>, <field>: <value>, ...}`` where the record type
    is the stable id its class declares as ``RECORD_TYPE: ClassVar[str]`` (by convention the
    class name it had when first stored; it never changes, so a class may be renamed or moved).
    A class that declares none, or two classes with one id, are refused (``TypeError``)."""

    def __init__(self, types: tuple[type, ...] = (), layout: Layout | None = None) -> None:
        self.layout = layout
        self._types: dict[str, type] = {}     # record type id -> class
        self._ids: dict[type, str] = {}       # class -> record type id
        for cls in (*types, *(layout.dataclasses() if layout else ())):
            record_type = vars(cls).get("RECORD_TYPE")
            if not isinstance(record_type, str) or not record_type:
                raise TypeError(f"{cls.__qualname__} declares no RECORD_TYPE (its stable id in "
                                f"the store) and cannot be stored")
            if self._types.setdefault(record_type, cls) is not cls:
                raise TypeError(f"{cls.__qualname__} and {self._types[record_type].__qualname__} "
                                f"both declare the record type {record_type!r}")
            self._ids[cls] = record_type

    def encode(self, key: str, value: Any) -> str:
        return _JSON.encode(self.plain(key, value))

    def plain(self, key: str, value: Any) -> Any:
        """`value` checked (its key's type, storable) and in the form JSON encodes."""
        if self.layout is not None:
            hint = self._hint(key, TypeError)
            if not conforms(value, hint):
                raise TypeError(f"state key {key!r} holds {_name(hint)}, not {value!r:.80}")
        return self._plain(value)

    def decode(self, key: str, text: str) -> Any:
        hint = self._hint(key, UnknownKey) if self.layout is not None else None
        value = self._freeze(json.loads(text))
        if self.layout is not None and not conforms(value, hint):
            raise ValueError(_mismatch(value, hint))
        return value

    def _hint(self, key: str, error: type[Exception]) -> Any:
        try:
            return self.layout.hint(key)  # type: ignore[union-attr]
        except KeyError:
            raise error(f"{key!r} is not a key of the card's state layout") from None

    def _plain(self, v: Any) -> Any:
        kind = type(v)
        if kind in _SCALARS:
            return v
        if kind is bytes:
            return {"$b": v.hex()}
        if kind is tuple:
            return list(v) if set(map(type, v)) <= _SCALARS else [self._plain(x) for x in v]
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, (bytes, bytearray)):
            return {"$b": v.hex()}
        if isinstance(v, (list, tuple)):
            return [self._plain(x) for x in v]
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            record_type = self._ids.get(type(v))
            if record_type is None:
                raise TypeError(f"{type(v).__qualname__} is not registered with the store codec")
            fields = {f: self._plain(getattr(v, f)) for f in _field_names(type(v))}
            return {"$t": record_type, **fields}
        if isinstance(v, Mapping):
            return {str(k): self._plain(x) for k, x in v.items()}
        raise TypeError(f"cannot store {type(v).__name__}")

    def _freeze(self, v: Any) -> Any:
        if isinstance(v, list):
            return tuple(self._freeze(x) for x in v)
        if isinstance(v, dict):
            if "$b" in v:
                if len(v) != 1 or not isinstance(v["$b"], str):
                    raise ValueError(f"malformed bytes value {v!r:.60}")
                return bytes.fromhex(v["$b"])
            fields = {k: self._freeze(x) for k, x in v.items() if k != "$t"}
            if "$t" in v:
                cls = self._types.get(v["$t"]) if isinstance(v["$t"], str) else None
                if cls is None:
                    raise ValueError(f"unknown record type {v['$t']!r}")
                return cls(**fields)
            return MappingProxyType(fields)
        return v


def _name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def _mismatch(value: Any, hint: Any) -> str:
    """Why `value` does not conform to `hint`, naming the first bad field of a record."""
    if isinstance(hint, type) and type(value) is hint:
        for name, field_hint in _field_hints(hint).items():
            if not conforms(field := getattr(value, name), field_hint):
                return f"{hint.__name__}.{name} should be {_name(field_hint)}, not {field!r:.40}"
    found = "a mapping with no record type" if isinstance(value, Mapping) else f"{value!r:.40}"
    return f"should hold {_name(hint)}, not {found}"
