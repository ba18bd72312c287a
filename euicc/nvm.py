"""Non-volatile memory: the card's persistent state in one SQLite file, with transactions.

Design (Java Card's model, GP Card Spec §6.6 "atomicity"): the card reads committed values from an
in-memory copy; writes made inside ``with store.transaction():`` go to a pending overlay that is
committed to disk as ONE SQLite transaction or discarded on error.  ``write_through`` commits a
single value immediately, even inside a transaction: it is the non-atomic update a card uses for
anti-tearing counters (a PIN retry counter is decremented *before* the comparison).

Why SQLite (rollback journal) and not write-temp+rename: commits cost the changed rows, not the
whole card (a card with eight profiles holds megabytes), and SQLite's atomic commit is tested far
beyond anything written here.  At rest the state is one file; the journal only exists during a
commit and a hot journal is rolled back on the next open.

Durability (:data:`DURABILITIES`, ``Store(durability=...)``): a commit is always atomic and
survives the card process being killed at any point (kill -9): SQLite has handed every page to
the operating system before COMMIT returns and a hot journal undoes a half-made commit.  Whether
it also survives the *host* losing power or the OS crashing is the choice:

* ``power-loss`` (default): ``PRAGMA synchronous=FULL``, fsync of the journal and the database at
  every commit;
* ``process-crash``: ``PRAGMA synchronous=OFF``, no fsync.  SQLite's documentation (PRAGMA
  synchronous): "If the application running SQLite crashes, the data will be safe, but the
  database might become corrupted if the operating system crashes or the computer loses power
  before that data has been written to the disk surface."

  With ``process-crash`` a store holding its lock file also runs SQLite in
  ``locking_mode=EXCLUSIVE``: SQLite keeps its file lock and page cache across commits and,
  instead of deleting the journal after each commit, invalidates its header (the journal is
  deleted at close).  That changes neither the commit point nor the recovery of a hot journal,
  but no other connection can read the file while the card has it open.

Reads never touch SQLite, and a transaction that wrote nothing opens no SQLite transaction.

Values are JSON-like (None, bool, int, str, bytes, tuples, read-only mappings) and frozen
dataclasses registered with the store; everything read back is immutable, so state can only change
through ``put``.  The codec (euicc.nvm_codec) turns values into stored text and back; given a
*layout* (key pattern -> type hint) it also checks that every value written or loaded has the type
its key requires, dataclass fields included.

A write that fails (disk full, file made read-only, I/O error) raises :class:`NvmWriteError` after
SQLite's rollback: the file keeps the old state and so does the in-memory copy.
"""
from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

from euicc.nvm_codec import Codec, UnknownKey

log = logging.getLogger(__name__)

FORMAT = "euicc-emu-state"
SCHEMA_VERSION = 1
# Migrations from schema N to N+1: a function (connection) -> None.  Empty while at version 1.
MIGRATIONS: Mapping[int, Callable[[sqlite3.Connection], None]] = MappingProxyType({})

_DELETED = object()

POWER_LOSS = "power-loss"
PROCESS_CRASH = "process-crash"
#: durability -> SQLite ``synchronous`` setting (see the module docstring).
DURABILITIES: Mapping[str, str] = MappingProxyType({POWER_LOSS: "FULL", PROCESS_CRASH: "OFF"})


class StateFileError(Exception):
    """The state file cannot be used (not a state file, newer format, locked, corrupt).

    ``str()`` is ``"<path>: <reason>"``, one line, for ``euicc-emu: <path>: <reason>``."""

    def __init__(self, path: Path | None, reason: str) -> None:
        super().__init__(f"{path if path is not None else '(in-memory state)'}: {reason}")
        self.path, self.reason = path, reason


class NvmWriteError(Exception):
    """A commit failed (disk full, read-only file, I/O error); nothing of it was applied.

    The card answers '6581' memory problem (TS 102 221 §10.2.1.3); ``__cause__`` is the error
    SQLite reported."""


class PowerCut(BaseException):
    """Raised by a fault-injection hook: the card lost power during a write.

    A BaseException, so that no command handler's error path can mistake it for a failure it
    could answer with a status word: the card simply stops.
    """


class Store:
    """The persistent key/value state of one card (see module docstring)."""

    def __init__(self, path: Path | None, codec: Codec, *, lock: bool = True, create: bool = True,
                 durability: str = POWER_LOSS) -> None:
        """Open the state file `path` (None: in memory); ``created`` says whether this made it
        (the path did not exist: only then may a caller give it first contents).  With
        `create` False a missing file is refused instead.  `durability` is one of
        :data:`DURABILITIES`."""
        if durability not in DURABILITIES:
            raise ValueError(f"durability is one of {', '.join(DURABILITIES)}")
        self.path = path
        self.codec = codec
        self.fault_hook: Callable[[int], None] | None = None
        self.writes = 0  # physical row writes so far (the fault hook's N)
        self.created = path is None
        self._pending: dict[str, Any] = {}
        self._texts: dict[str, str] = {}   # the encoded form of each value put in `_pending`
        self._depth = 0
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | _NoFile | None = None
        if path is None:   # nothing to read or write: the state is `_data`
            self._db, self._data = _NoFile(), {}
            return
        if not create and not path.exists():
            raise StateFileError(path, "no card state here (`euicc-emu run` creates one)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if lock:
                self._lock_fd = _lock(path)
        except OSError as e:
            self.close()
            where = f" ({e.filename})" if e.filename else ""
            raise StateFileError(path, f"cannot open: {e.strerror or e}{where}") from None
        self.created = not path.exists()
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            if self._lock_fd is not None and durability == PROCESS_CRASH:
                self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute(f"PRAGMA synchronous={DURABILITIES[durability]}")
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._data = self._load()
        except sqlite3.DatabaseError as e:
            self.close()
            if self.created:
                path.unlink(missing_ok=True)
                raise StateFileError(path, f"cannot create a state file ({e})") from None
            raise StateFileError(path, f"not a readable euicc-emu state file ({e})") from None
        except StateFileError:
            self.close()
            raise

    # -- opening -----------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and not self.created:
            raise StateFileError(self.path, "an empty file, not a euicc-emu state file (delete it "
                                            "to create a new card)")
        if not tables:
            db.execute("BEGIN IMMEDIATE")
            db.execute("CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL)")
            db.execute("CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT NOT NULL)")
            db.executemany("INSERT INTO meta VALUES(?,?)",
                           [("format", FORMAT), ("schema", str(SCHEMA_VERSION))])
            db.execute("COMMIT")
            return {}
        if not {"meta", "kv"} <= tables:
            raise StateFileError(self.path, "an SQLite file, but not a euicc-emu state file")
        meta = dict(db.execute("SELECT k, v FROM meta"))
        if meta.get("format") != FORMAT:
            raise StateFileError(self.path, f"not a euicc-emu state file (format {meta.get('format')!r})")
        schema_text = meta.get("schema")
        if not isinstance(schema_text, str) or not schema_text.isdecimal():
            raise StateFileError(self.path, f"corrupt header: schema {schema_text!r} is not a number")
        schema = int(schema_text)
        if schema > SCHEMA_VERSION:
            raise StateFileError(self.path, f"written by a newer euicc-emu (state schema {schema}, "
                                            f"this version reads up to {SCHEMA_VERSION}); upgrade euicc-emu")
        while schema < SCHEMA_VERSION:
            step = MIGRATIONS.get(schema)
            if step is None:
                raise StateFileError(self.path, f"state schema {schema} is too old and cannot be "
                                                f"migrated to {SCHEMA_VERSION}; re-create the card")
            db.execute("BEGIN IMMEDIATE")
            try:
                step(db)
                schema += 1
                db.execute("UPDATE meta SET v=? WHERE k='schema'", (str(schema),))
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
        data = {}
        for k, v in db.execute("SELECT k, v FROM kv"):
            try:
                data[k] = self.codec.decode(k, v)
            except UnknownKey:
                raise StateFileError(self.path, f"holds records this card does not know ({k!r}; "
                                                f"opened without the extension that wrote them?)") from None
            except (ValueError, TypeError) as e:
                raise StateFileError(self.path, f"corrupt record {k!r}: {e}") from None
        return data

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
        text = self._encode(key, value)   # refuse unstorable values at the point of the write
        if self._depth:
            self._pending[key] = value
            self._texts[key] = text
        else:
            self._commit({key: value}, {key: text})

    def delete(self, key: str) -> None:
        if self._depth:
            self._pending[key] = _DELETED
        elif key in self._data:
            self._commit({key: _DELETED}, {})

    def write_through(self, key: str, value: Any) -> None:
        """Commit one value now, even inside a transaction (anti-tearing counters).  Raises
        :class:`NvmWriteError` when it cannot be written: the caller must not go on as if it were
        (a PIN is not compared when its decremented counter could not be stored)."""
        text = self._encode(key, value)
        self._commit({key: value}, {key: text})
        if key in self._pending:
            self._pending[key] = value
            self._texts[key] = text

    def _encode(self, key: str, value: Any) -> str:
        """The row text of `value`; an in-memory store, which writes no rows, only checks it."""
        if isinstance(self._db, _NoFile):
            self.codec.plain(key, value)
            return ""
        return self.codec.encode(key, value)

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def transaction(self) -> _Transaction:
        """Group writes: all are committed when the outermost block ends normally, none otherwise
        (a block that wrote nothing touches no file)."""
        return _Transaction(self)

    def _enter(self) -> None:
        self._depth += 1

    def _exit(self, failed: bool) -> None:
        self._depth -= 1
        if self._depth:
            return
        if failed:
            self._pending.clear()
            self._texts.clear()
        elif self._pending:
            pending, self._pending = self._pending, {}
            texts, self._texts = self._texts, {}
            self._commit(pending, texts)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested all-or-nothing block inside the current transaction."""
        with self.transaction():
            saved, saved_texts = dict(self._pending), dict(self._texts)
            try:
                yield
            except BaseException:
                self._pending, self._texts = saved, saved_texts
                raise

    def rollback(self) -> None:
        """Discard the pending writes of the current transaction (it stays open)."""
        self._pending.clear()
        self._texts.clear()

    def _commit(self, changes: dict[str, Any], texts: Mapping[str, str]) -> None:
        """Write `changes` (their encoded forms: `texts`) as one SQLite transaction; on failure
        the file and `_data` keep the old values (a fault hook's PowerCut passes through, any
        SQLite error becomes :class:`NvmWriteError`)."""
        db = self._db
        if db is None:
            raise StateFileError(self.path, "the state file is closed")
        rows = [(k, None if v is _DELETED else texts[k]) for k, v in changes.items()]
        try:
            db.execute("BEGIN IMMEDIATE")
            for k, text in rows:
                self.writes += 1
                if self.fault_hook is not None:
                    self.fault_hook(self.writes)
                if text is None:
                    db.execute("DELETE FROM kv WHERE k=?", (k,))
                else:
                    db.execute("INSERT OR REPLACE INTO kv VALUES(?,?)", (k, text))
            db.execute("COMMIT")
        except sqlite3.Error as e:
            _rollback(db)
            log.error("%s: state not written (%d key(s), old state kept): %s", self.path,
                      len(rows), e)
            raise NvmWriteError(f"{self.path}: state not written: {e}") from e
        except BaseException:
            _rollback(db)
            raise
        for k, v in changes.items():
            if v is _DELETED:
                self._data.pop(k, None)
            else:
                self._data[k] = v


class _NoFile:
    """The "connection" of an in-memory store (``Store(None)``): it keeps no second copy of the
    state, so a commit only counts its rows and runs the fault hook, as a file commit does."""

    in_transaction = False

    def execute(self, *_: object) -> None:
        return None

    def close(self) -> None:
        return None


class _Transaction:
    """``with store.transaction():`` (a plain context manager: it wraps every command)."""

    __slots__ = ("store",)

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._enter()

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.store._exit(kind is not None)


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already (it does itself after some
    errors, e.g. SQLITE_FULL and SQLITE_IOERR: a second ROLLBACK would mask the first error)."""
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error as e:
            log.error("rollback after a failed write failed too: %s", e)


def _lock(path: Path) -> int:
    """Hold an exclusive advisory lock so two card processes never share one state file."""
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StateFileError(path, "in use by another running card") from None
    return fd
