"""Non-volatile memory: the card's persistent state in one SQLite file, with transactions.

Design (Java Card's model, GP Card Spec §6.6 "atomicity"): the card reads committed values from an
in-memory copy; writes made inside ``with store.transaction():`` go to a pending overlay that is
committed to disk as ONE SQLite transaction or discarded on error.  ``write_through`` commits a
single value immediately, even inside a transaction: it is the non-atomic update a card uses for
anti-tearing counters (a PIN retry counter is decremented *before* the comparison).

Why SQLite (rollback journal, ``synchronous=FULL``) and not write-temp+rename: commits cost the
changed rows, not the whole card (a card with eight profiles holds megabytes), and SQLite's atomic
commit is tested far beyond anything written here.  At rest the state is one file; the journal only
exists during a commit and a hot journal is rolled back on the next open (kill -9 safe).

Values are JSON-like (None, bool, int, str, bytes, tuples, read-only mappings) and frozen
dataclasses registered with the store; everything read back is immutable, so state can only change
through ``put``.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

FORMAT = "euicc-emu-state"
SCHEMA_VERSION = 1
# Migrations from schema N to N+1: a function (connection) -> None.  Empty while at version 1.
MIGRATIONS: Mapping[int, Callable[[sqlite3.Connection], None]] = MappingProxyType({})

_DELETED = object()


class StateFileError(Exception):
    """The state file cannot be used (not a state file, newer format, locked, corrupt)."""


class PowerCut(BaseException):
    """Raised by a fault-injection hook: the card lost power during a write.

    A BaseException, so that no command handler's error path can mistake it for a failure it
    could answer with a status word: the card simply stops.
    """


class Codec:
    """JSON encoding of state values, with bytes and registered frozen dataclasses."""

    def __init__(self, types: tuple[type, ...] = ()) -> None:
        self._types = {t.__name__: t for t in types}

    def encode(self, value: Any) -> str:
        return json.dumps(self._plain(value), separators=(",", ":"))

    def decode(self, text: str) -> Any:
        return self._freeze(json.loads(text))

    def _plain(self, v: Any) -> Any:
        if isinstance(v, (bytes, bytearray)):
            return {"$b": v.hex()}
        if isinstance(v, (list, tuple)):
            return [self._plain(x) for x in v]
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            name = type(v).__name__
            if name not in self._types:
                raise TypeError(f"{name} is not registered with the store codec")
            fields = {f.name: self._plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
            return {"$t": name, **fields}
        if isinstance(v, Mapping):
            return {str(k): self._plain(x) for k, x in v.items()}
        if v is None or isinstance(v, (bool, int, str)):
            return v
        raise TypeError(f"cannot store {type(v).__name__}")

    def _freeze(self, v: Any) -> Any:
        if isinstance(v, list):
            return tuple(self._freeze(x) for x in v)
        if isinstance(v, dict):
            if "$b" in v:
                return bytes.fromhex(v["$b"])
            fields = {k: self._freeze(x) for k, x in v.items() if k != "$t"}
            if "$t" in v:
                cls = self._types.get(v["$t"])
                if cls is None:
                    raise StateFileError(f"state file holds an unknown record type {v['$t']!r}")
                return cls(**fields)
            return MappingProxyType(fields)
        return v


class Store:
    """The persistent key/value state of one card (see module docstring)."""

    def __init__(self, path: Path | None, codec: Codec, *, lock: bool = True) -> None:
        self.path = path
        self.codec = codec
        self.fault_hook: Callable[[int], None] | None = None
        self.writes = 0  # physical row writes so far (the fault hook's N)
        self._pending: dict[str, Any] = {}
        self._depth = 0
        self._lock_fd: int | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if lock:
                self._lock_fd = _lock(path)
        try:
            self._db = sqlite3.connect(str(path) if path else ":memory:", isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._data = self._load()
        except sqlite3.DatabaseError as e:
            self.close()
            raise StateFileError(f"{path}: not a readable euicc-emu state file ({e})") from None
        except StateFileError:
            self.close()
            raise

    # -- opening -----------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            db.execute("BEGIN IMMEDIATE")
            db.execute("CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL)")
            db.execute("CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT NOT NULL)")
            db.executemany("INSERT INTO meta VALUES(?,?)",
                           [("format", FORMAT), ("schema", str(SCHEMA_VERSION))])
            db.execute("COMMIT")
            return {}
        if not {"meta", "kv"} <= tables:
            raise StateFileError(f"{self.path}: an SQLite file, but not a euicc-emu state file")
        meta = dict(db.execute("SELECT k, v FROM meta"))
        if meta.get("format") != FORMAT:
            raise StateFileError(f"{self.path}: not a euicc-emu state file (format {meta.get('format')!r})")
        schema = int(meta.get("schema", "0"))
        if schema > SCHEMA_VERSION:
            raise StateFileError(f"{self.path}: written by a newer euicc-emu (state schema {schema}, "
                                 f"this version reads up to {SCHEMA_VERSION}); upgrade euicc-emu")
        while schema < SCHEMA_VERSION:
            step = MIGRATIONS.get(schema)
            if step is None:
                raise StateFileError(f"{self.path}: state schema {schema} is too old and cannot be "
                                     f"migrated to {SCHEMA_VERSION}; re-create the card")
            db.execute("BEGIN IMMEDIATE")
            step(db)
            schema += 1
            db.execute("UPDATE meta SET v=? WHERE k='schema'", (str(schema),))
            db.execute("COMMIT")
        try:
            return {k: self.codec.decode(v) for k, v in db.execute("SELECT k, v FROM kv")}
        except (ValueError, TypeError) as e:
            raise StateFileError(f"{self.path}: corrupt state record ({e})") from None

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            self._db = None  # type: ignore[assignment]
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- reading -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        if self._pending:
            v = self._pending.get(key, self)
            if v is not self:
                return default if v is _DELETED else v
        return self._data.get(key, default)

    def __contains__(self, key: str) -> bool:
        return self.get(key, _DELETED) is not _DELETED

    def keys(self, prefix: str) -> list[str]:
        """Sorted keys starting with `prefix`, as the current transaction sees them."""
        ks = {k for k in self._data if k.startswith(prefix)}
        for k, v in self._pending.items():
            if k.startswith(prefix):
                (ks.discard if v is _DELETED else ks.add)(k)
        return sorted(ks)

    # -- writing -----------------------------------------------------------------------------
    def put(self, key: str, value: Any) -> None:
        self.codec.encode(value)  # refuse unstorable values at the point of the write
        if self._depth:
            self._pending[key] = value
        else:
            self._commit({key: value})

    def delete(self, key: str) -> None:
        if self._depth:
            self._pending[key] = _DELETED
        elif key in self._data:
            self._commit({key: _DELETED})

    def write_through(self, key: str, value: Any) -> None:
        """Commit one value now, even inside a transaction (anti-tearing counters)."""
        self._commit({key: value})
        if key in self._pending:
            self._pending[key] = value

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all are committed when the outermost block ends normally, none otherwise."""
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if not self._depth:
                self._pending.clear()
            raise
        self._depth -= 1
        if not self._depth and self._pending:
            pending, self._pending = self._pending, {}
            self._commit(pending)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested all-or-nothing block inside the current transaction."""
        with self.transaction():
            saved = dict(self._pending)
            try:
                yield
            except BaseException:
                self._pending = saved
                raise

    def rollback(self) -> None:
        """Discard the pending writes of the current transaction (it stays open)."""
        self._pending.clear()

    def _commit(self, changes: dict[str, Any]) -> None:
        db = self._db
        if db is None:
            raise StateFileError("the state file is closed")
        rows = [(k, None if v is _DELETED else self.codec.encode(v)) for k, v in changes.items()]
        db.execute("BEGIN IMMEDIATE")
        try:
            for k, text in rows:
                self.writes += 1
                if self.fault_hook is not None:
                    self.fault_hook(self.writes)
                if text is None:
                    db.execute("DELETE FROM kv WHERE k=?", (k,))
                else:
                    db.execute("INSERT OR REPLACE INTO kv VALUES(?,?)", (k, text))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        for k, v in changes.items():
            if v is _DELETED:
                self._data.pop(k, None)
            else:
                self._data[k] = v


def _lock(path: Path) -> int:
    """Hold an exclusive advisory lock so two card processes never share one state file."""
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StateFileError(f"{path} is in use by another running card") from None
    return fd
