"""The card's state layout (euicc.state_layout): typed keys at write time, provisioning only of a
new file, and versioned upgrades of an existing card (euicc.provisioning.UPGRADES)."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from euicc import provisioning
from euicc.composition import open_card
from euicc.fs.pin import PinState
from euicc.nvm import StateFileError, Store
from euicc.nvm_codec import Codec, Layout, conforms

ECASD = "A0000005591010FFFFFFFF8900000200"    # SGP.02 / SGP.22 ECASD AID
ISD_R = "A0000005591010FFFFFFFF8900000100"


def _store(tmp_path: Path) -> Store:
    layout = Layout((("n/*", int), ("b/**", bytes | tuple[bytes, ...]), ("pin/*", PinState)))
    return Store(tmp_path / "s.db", Codec(layout=layout))


@pytest.mark.parametrize("key,value", [
    ("n/1", "1"), ("n/1", True), ("n/1/x", 1), ("b/x/y", (b"1", "2")), ("other", 1),
    ("pin/01", PinState(b"1234", "3")),                       # a dataclass field of the wrong type
])
def test_a_value_of_the_wrong_type_is_not_written(tmp_path, key, value):
    s = _store(tmp_path)
    with pytest.raises(TypeError):
        s.put(key, value)
    assert key not in s
    s.close()


def test_values_of_the_declared_types_round_trip(tmp_path):
    s = _store(tmp_path)
    s.put("n/1", 7)
    s.put("b/x/y", (b"\x01", b"\x02"))
    s.put("pin/01", PinState(b"1234", 3))
    s.close()
    s = _store(tmp_path)
    assert (s.get("n/1"), s.get("b/x/y"), s.get("pin/01").retries) == (7, (b"\x01", b"\x02"), 3)
    s.close()


def _card_file(tmp_path: Path) -> Path:
    path = tmp_path / "card.state"
    open_card(path, first_profile="minimal").close()
    return path


def _rows(path: Path) -> dict[str, object]:
    db = sqlite3.connect(path)
    rows = {k: json.loads(v) for k, v in db.execute("SELECT k, v FROM kv")}
    db.close()
    return rows


def _unregister_ecasd(path: Path) -> None:
    """An older card: one without an applet the catalog now installs by default."""
    db = sqlite3.connect(path)
    with db:
        db.execute("DELETE FROM kv WHERE k=?", (f"gp/{ECASD}",))
        order = json.loads(db.execute("SELECT v FROM kv WHERE k='gp-order'").fetchone()[0])
        db.execute("UPDATE kv SET v=? WHERE k='gp-order'",
                   (json.dumps([a for a in order if a["$b"].upper() != ECASD]),))
    db.close()


def test_new_card_records_its_version(tmp_path):
    assert _rows(_card_file(tmp_path))["card/version"] == provisioning.CARD_VERSION


def test_existing_card_is_opened_as_it_is(tmp_path):
    path = _card_file(tmp_path)
    eid = _rows(path)["card/eid"]
    card = open_card(path)
    card.close()
    assert _rows(path)["card/eid"] == eid


def test_upgrade_installs_new_default_applets_once(tmp_path, monkeypatch):
    path = _card_file(tmp_path)
    _unregister_ecasd(path)
    current = provisioning.CARD_VERSION
    monkeypatch.setattr(provisioning, "CARD_VERSION", current + 1)
    monkeypatch.setattr(provisioning, "UPGRADES", {current: provisioning.install_default_applets})
    open_card(path).close()
    rows = _rows(path)
    assert rows["card/version"] == current + 1
    assert rows[f"gp/{ECASD}"]["$t"] == "RegistryEntry" and rows[f"gp/{ECASD}"]["kind"] == "SD"
    assert [a["$b"].upper() for a in rows["gp-order"]][-1] == ECASD     # appended, others kept
    assert f"gp/{ISD_R}" in rows

    def never(store, catalog):  # a version-2 card does not run the step again
        raise AssertionError("upgrade ran twice")
    monkeypatch.setattr(provisioning, "UPGRADES", {current: never})
    open_card(path).close()


def test_failing_upgrade_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = _card_file(tmp_path)
    before = path.read_bytes()

    def broken(store, catalog):
        provisioning.install_default_applets(store, catalog)
        store.put("card/eid", bytes(16))
        raise RuntimeError("step failed half way")
    current = provisioning.CARD_VERSION
    monkeypatch.setattr(provisioning, "CARD_VERSION", current + 1)
    monkeypatch.setattr(provisioning, "UPGRADES", {current: broken})
    with pytest.raises(StateFileError, match="step failed half way"):
        open_card(path)
    assert path.read_bytes() == before


class _Level(IntEnum):
    LOW = 1


@pytest.mark.parametrize("hint,value,expected", [
    (int, 3, True), (int, True, False), (int, _Level.LOW, True), (bool, True, True),
    (int | None, None, True), (int | None, "1", False), (Any, object(), True),
    (tuple[int, ...], (), True), (tuple[int, ...], (1, 2, 3), True), (tuple[int, ...], (1, True), False),
    (tuple[int, ...], (1, _Level.LOW), True), (tuple[int, ...], [1, 2], False),
    (tuple[bytes, ...], (b"a", "b"), False), (tuple[int, str], (1, "a"), True),
    (tuple[int, str], (1, "a", 2), False), (tuple[int, str], ("a", 1), False),
    (Mapping[str, int], MappingProxyType({"a": 1}), True), (Mapping[str, int], {"a": "1"}, False),
    (PinState, PinState(b"1234", 3), True), (PinState, PinState(b"1234", "3"), False),
    (PinState | None, None, True), (bytes, bytearray(b"1"), False),
])
def test_conforms_known_answers(hint, value, expected):
    """euicc.nvm_codec.conforms, the check of every value written and loaded: bool is not an int (an
    IntEnum is), tuples item by item, records field by field (euicc.nvm module docstring)."""
    assert conforms(value, hint) is expected
