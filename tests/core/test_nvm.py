"""Persistent state (euicc/nvm.py): atomic transactions (GP Card Spec v2.3.1 §6.6 atomicity, the Java
Card transaction model), anti-tearing write-through, durability across close/re-open and power
loss (fault injection at every write, SIGKILL of a running card), refusal of foreign state files.
"""
from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from euicc.apdu import SwError
from euicc.card import Card
from euicc.composition import open_card
from euicc.nvm import DURABILITIES, PROCESS_CRASH, PowerCut, StateFileError, Store
from euicc.nvm_codec import Codec
from tests.core.helpers import ADM1, PIN2, Terminal, h, pin, split, store_snapshot

REPO = Path(__file__).resolve().parents[2]


# -- Store transactions ---------------------------------------------------------------------------
def test_transaction_commits_all(tmp_path):
    s = Store(tmp_path / "s.db", Codec())
    with s.transaction():
        s.put("a", 1)
        s.put("b", b"\x01\x02")
        assert s.get("a") == 1          # visible inside the transaction
    s.close()
    s = Store(tmp_path / "s.db", Codec())
    assert (s.get("a"), s.get("b")) == (1, b"\x01\x02")
    s.close()


def test_transaction_rolls_back_all(tmp_path):
    s = Store(tmp_path / "s.db", Codec())
    s.put("a", 1)
    with pytest.raises(SwError):
        with s.transaction():
            s.put("a", 2)
            s.put("b", 3)
            s.delete("a")
            raise SwError(0x6A80)
    assert (s.get("a"), s.get("b"), "b" in s) == (1, None, False)
    s.close()
    s = Store(tmp_path / "s.db", Codec())
    assert store_snapshot(s) == {"a": 1}
    s.close()


def test_nested_transaction_commits_at_outermost(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path, Codec())
    with s.transaction():
        with s.transaction():
            s.put("x", "inner")
        peek = Store(path, Codec(), lock=False)   # another reader sees nothing yet
        assert "x" not in peek
        peek.close()
    peek = Store(path, Codec(), lock=False)
    assert peek.get("x") == "inner"
    peek.close()
    s.close()


def test_write_through_survives_rollback(tmp_path):
    s = Store(tmp_path / "s.db", Codec())
    with pytest.raises(RuntimeError):
        with s.transaction():
            s.put("pending", 1)
            s.write_through("counter", 2)
            raise RuntimeError("command failed")
    s.close()
    s = Store(tmp_path / "s.db", Codec())
    assert store_snapshot(s) == {"counter": 2}
    s.close()


def test_values_read_back_are_immutable(tmp_path):
    s = Store(tmp_path / "s.db", Codec())
    s.put("m", {"k": [1, 2]})
    s.close()
    s = Store(tmp_path / "s.db", Codec())
    m = s.get("m")
    with pytest.raises(TypeError):
        m["k"] = 3  # type: ignore[index]
    assert m["k"] == (1, 2)
    s.close()


# -- failing commands leave the state unchanged -----------------------------------------------------
FAILING = [
    ("00 A4 00 0C 02 2FE2", "00 D6 00 00 01 00", "6982"),          # UPDATE BINARY without ADM1
    ("00 A4 00 0C 02 2F05", "00 D6 00 08 04 01020304", None),      # past the end of the EF
    ("00 A4 08 0C 04 7F10 6F3A", "00 DC 01 04 02 0102", "6700"),   # record length mismatch
    ("00 A4 08 0C 04 7F10 6F44", "00 DC 01 04 1E" + "00" * 30, None),  # cyclic: only PREVIOUS
    ("00 A4 00 0C 02 3F00", "00 24 00 81 08 " + "39" * 8, "6700"),  # CHANGE PIN without new PIN
    ("00 A4 00 0C 02 2F05", "00 04 00 00", "6982"),                # DEACTIVATE without ADM1
    ("00 A4 00 0C 02 3F00", "00 28 00 81 08 " + pin("9999").hex(), None),  # ENABLE enabled PIN2
    ("00 A4 00 0C 02 3F00", "00 26 00 81 08 " + pin("9999").hex(), None),  # DISABLE PIN2
]


@pytest.mark.parametrize("prepare,apdu,expected", FAILING)
def test_failing_command_changes_nothing(term, card, prepare, apdu, expected):
    term.ok(prepare)
    before = store_snapshot(card.store)
    r = term.raw(apdu)
    assert r.sw != 0x9000 and (expected is None or r.sw_hex == expected)
    assert store_snapshot(card.store) == before


def test_state_survives_close_and_reopen(tmp_path):
    path = tmp_path / "card.state"
    card = open_card(path)
    t = Terminal(card)
    t.ok("00 A4 00 0C 02 2F05")
    t.ok("00 D6 00 00 04 64656672")
    assert t.verify(PIN2, "0000") == 0x63C2
    desc = card.describe()
    card.close()
    card = open_card(path)
    t = Terminal(card)
    assert card.describe() == desc
    t.ok("00 A4 00 0C 02 2F05")
    assert t.ok("00 B0 00 00 04") == b"defr"
    assert t.raw("00 20 00 81").sw_hex == "63C2"
    card.close()


# -- power cut at every write ------------------------------------------------------------------
@pytest.fixture
def base_state(tmp_path) -> Path:
    path = tmp_path / "base.state"
    open_card(path).close()
    return path


def _cut_at_every_write(tmp_path, base: Path, prepare: list[str], apdu: str, check) -> int:
    """Run `apdu` with a power cut at write N for N = 1, 2, ... until it completes uncut.

    `check(terminal, completed)` inspects the re-opened card; returns the number of cut points.
    """
    n = 0
    while True:
        n += 1
        assert n < 50, "the command never completed"
        path = tmp_path / f"cut{n}.state"
        shutil.copy(base, path)
        card = open_card(path)
        t = Terminal(card)
        for p in prepare:
            t.ok(p)
        start = card.store.writes

        def hook(w: int, target=start + n) -> None:
            if w == target:
                raise PowerCut(f"power cut at write {w}")

        card.store.fault_hook = hook
        try:
            resp = split(card.transmit(h(apdu)))
        except PowerCut:
            resp = None
        hit = card.store.writes >= start + n
        card.close()
        reopened = open_card(path)
        try:
            rt = Terminal(reopened)
            assert rt.raw("00 A4 00 0C 02 3F00").sw == 0x9000
            check(rt, not hit)
        finally:
            reopened.close()
        if not hit:
            assert resp is not None and resp.sw == 0x9000
            return n - 1


def test_power_cut_during_update_binary(tmp_path, base_state):
    new = b"0123456789"

    def check(t, completed):
        t.ok("00 A4 00 0C 02 2F05")
        value = t.ok("00 B0 00 00 0A")
        assert value == new if completed else value in (b"en" + b"\xff" * 8, new)

    cuts = _cut_at_every_write(tmp_path, base_state, ["00 A4 00 0C 02 2F05"],
                               "00 D6 00 00 0A" + new.hex(), check)
    assert cuts >= 1


def test_power_cut_during_update_record(tmp_path, base_state):
    new = bytes(range(30))

    def check(t, completed):
        t.ok("00 A4 08 0C 04 7F10 6F3A")
        value = t.ok("00 B2 02 04 1E")
        assert value == new if completed else value in (b"\xff" * 30, new)

    cuts = _cut_at_every_write(tmp_path, base_state, ["00 A4 08 0C 04 7F10 6F3A"],
                               "00 DC 02 04 1E" + new.hex(), check)
    assert cuts >= 1


def test_power_cut_during_change_pin(tmp_path, base_state):
    def check(t, completed):
        old_ok = t.verify(PIN2, "9999") == 0x9000
        new_ok = old_ok is False and t.verify(PIN2, "4321") == 0x9000
        assert new_ok if completed else (old_ok or new_ok)

    cuts = _cut_at_every_write(tmp_path, base_state, [],
                               "00 24 00 81 10" + pin("9999").hex() + pin("4321").hex(), check)
    assert cuts >= 1


def test_power_cut_ends_the_command(tmp_path, base_state):
    """A cut reported by the store's fault hook is a power loss: the card does not answer."""
    card = open_card(base_state)
    try:
        Terminal(card).ok("00 A4 00 0C 02 2F05")

        def hook(w: int) -> None:
            raise PowerCut("cut")

        card.store.fault_hook = hook
        with pytest.raises(PowerCut):
            card.transmit(h("00 D6 00 00 02 4142"))
    finally:
        card.close()


# -- SIGKILL of a running card ---------------------------------------------------------------------
CHILD = r"""
import sys
from pathlib import Path
from euicc.card import Card
from euicc.composition import open_card
card = open_card(Path(sys.argv[1]), durability=sys.argv[3])
assert card.transmit(bytes.fromhex("00A4000C022F05")) == b"\x90\x00"
i = int(sys.argv[2])
print("ready", flush=True)
while True:
    assert card.transmit(b"\x00\xD6\x00\x00\x0A" + b"%010d" % i) == b"\x90\x00"
    i += 1
"""


def _read_pl(path: Path) -> bytes:
    card = open_card(path)
    try:
        t = Terminal(card)
        t.ok("00 A4 00 0C 02 2F05")
        return t.ok("00 B0 00 00 0A")
    finally:
        card.close()


@pytest.mark.parametrize("durability", DURABILITIES)
def test_sigkill_while_updating(tmp_path, durability):
    """Whether commits are fsynced or not (euicc.nvm.DURABILITIES), a card killed at any point
    keeps every commit made before the kill."""
    path = tmp_path / "killed.state"
    open_card(path).close()
    rng = random.Random(1234)
    previous = _read_pl(path)
    for rnd in range(1, 6):
        base = rnd * 1_000_000
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(base), durability],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = child.stdout.readline()
            assert line.strip() == b"ready", child.stderr.read().decode()
            time.sleep(rng.uniform(0.01, 0.15))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
            child.stderr.close()
        assert child.returncode == -signal.SIGKILL
        value = _read_pl(path)
        assert value == previous or (value.isdigit() and base <= int(value) < base + 1_000_000)
        previous = value


def test_process_crash_durability_keeps_other_connections_out(tmp_path):
    """With durability process-crash the store holds SQLite's lock while open
    (locking_mode=EXCLUSIVE): another connection is refused, and reads the file once it is closed."""
    path = tmp_path / "s.db"
    s = Store(path, Codec(), durability=PROCESS_CRASH)
    s.put("x", 1)
    with pytest.raises(StateFileError):
        Store(path, Codec(), lock=False)
    s.close()
    assert not Path(f"{path}-journal").exists()
    other = Store(path, Codec(), lock=False)
    assert other.get("x") == 1
    other.close()


def test_unknown_durability_is_refused(tmp_path):
    with pytest.raises(ValueError):
        Store(tmp_path / "s.db", Codec(), durability="sometimes")
    assert not (tmp_path / "s.db").exists()


# -- files that are not (usable) state files --------------------------------------------------------
def _new_state(tmp_path) -> Path:
    path = tmp_path / "card.state"
    open_card(path).close()
    return path


def test_newer_schema_is_refused(tmp_path):
    path = _new_state(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET v='99' WHERE k='schema'")
    db.close()
    with pytest.raises(StateFileError, match="newer") as e:
        open_card(path)
    assert str(path) in str(e.value)


def test_non_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "card.state"
    path.write_bytes(b"this is not a database, just text\n" * 200)
    with pytest.raises(StateFileError) as e:
        open_card(path)
    assert str(path) in str(e.value)
    assert path.read_bytes().startswith(b"this is not a database")  # left as it was


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE contacts(name TEXT, phone TEXT)")
        db.execute("INSERT INTO contacts VALUES('a', '1')")
    db.close()
    with pytest.raises(StateFileError) as e:
        open_card(path)
    assert str(path) in str(e.value)
    with sqlite3.connect(path) as db:  # untouched
        assert db.execute("SELECT count(*) FROM contacts").fetchone() == (1,)
    db.close()


def test_sqlite_with_other_format_is_refused(tmp_path):
    path = _new_state(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET v='something-else' WHERE k='format'")
    db.close()
    with pytest.raises(StateFileError):
        open_card(path)


def test_corrupt_row_is_refused(tmp_path):
    path = _new_state(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE kv SET v='{not json' WHERE k='card/eid'")
    db.close()
    with pytest.raises(StateFileError):
        open_card(path)


def test_second_open_is_refused(tmp_path):
    path = _new_state(tmp_path)
    first = open_card(path)
    try:
        with pytest.raises(StateFileError, match="in use"):
            open_card(path)
        assert split(first.transmit(h("00 A4 00 0C 02 3F00"))).sw == 0x9000  # first unaffected
    finally:
        first.close()
    open_card(path).close()  # free again after close


def test_adm_verify_state_is_volatile(tmp_path):
    path = _new_state(tmp_path)
    card = open_card(path)
    t = Terminal(card)
    assert t.verify(ADM1, "55555555") == 0x9000
    card.close()
    card = open_card(path)
    t = Terminal(card)
    t.ok("00 A4 00 0C 02 2FE2")
    assert t.raw("00 D6 00 00 01 00").sw_hex == "6982"
    card.close()
