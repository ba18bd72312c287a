"""The persistent schema survives refactoring: store rows are the same as the release's, record
types are named by stable ids (not class names), registry entries name applets by a stable applet
id (not a module file name), and every store key is built by its package's key module.

Known answers: ``data/card-v2-rows.json`` holds, for each row a new card holds (EID fixed, the
default "test" profile), the SHA-256 of its stored text, made by :func:`provisioned_rows` with the
code of commit ef698e2 (before the key builders existed; ``null`` for the rows holding keys or
certificates generated per card); ``data/card-0.1.0-test-profile.state`` is the release file of
test_release_state_files.py."""
from __future__ import annotations

import ast
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from applets import by_applet_id, catalog
from applets.isd_r import IsdR
from euicc import composition, provisioning, state_layout
from euicc.composition import ALL, make_extensions, open_card
from euicc.fs.pin import PinState
from euicc.gp.registry import RegistryEntry
from euicc.nvm import StateFileError, Store
from euicc.nvm_codec import Codec
from tests.core.helpers import Terminal

DATA = Path(__file__).parent / "data"
EID = "89049032883061591507939946562162"
ISD_R = "A0000005591010FFFFFFFF8900000100"   # SGP.02 Annex H
ARA_M = "A00000015141434C00"                  # GPD_SPE_013
PER_CARD = ("ecasd/identity", "m2m/ecasd/ecka", "m2m/ecasd/cert")   # generated keys/certificates
EXTENSIONS = make_extensions(ALL)            # the release made cards with both
PERSISTENT_TYPES = state_layout.record_types(EXTENSIONS)
LAYOUT = state_layout.layout(EXTENSIONS)


def _catalog() -> dict:
    """The applets of a card with both extensions (the standard ones and the extensions')."""
    full = dict(catalog())
    for extension in EXTENSIONS:
        full.update(extension.applets())
    return full


def _rows(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT k, v FROM kv"))
    finally:
        db.close()


def provisioned_rows(path: Path) -> dict[str, str | None]:
    """SHA-256 of each row of a new card with EID :data:`EID` (None: a per-card key/certificate)."""
    store = Store(path, Codec(PERSISTENT_TYPES, LAYOUT))
    try:
        provisioning.provision(store, _catalog(), EXTENSIONS, eid=EID)
    finally:
        store.close()
    return {k: None if k in PER_CARD else hashlib.sha256(v.encode()).hexdigest()
            for k, v in sorted(_rows(path).items())}


# -- store keys: one key module per package, rows unchanged ------------------------------------
def test_a_new_card_holds_the_same_rows_as_before_the_key_modules(tmp_path):
    expected = json.loads((DATA / "card-v2-rows.json").read_text())
    assert provisioned_rows(tmp_path / "card.state") == expected


def test_an_upgraded_release_card_holds_only_keys_a_new_card_holds(tmp_path):
    path = _release_copy(tmp_path)
    open_card(path, extensions=ALL).close()
    new_card = set(json.loads((DATA / "card-v2-rows.json").read_text()))
    assert set(_rows(path)) <= new_card
    assert {"card/version", "gp/" + ARA_M, "isdr/scp03/30"} <= set(_rows(path))   # version 2


KEY_MODULES = {"euicc/keys.py", "euicc/fs/keys.py", "euicc/gp/keys.py", "euicc/profiles/keys.py",
               "euicc/rsp/keys.py", "euicc/m2m/records.py",
               "euicc/state_layout.py"}   # the layout's patterns and messages name keys too
KEY_HEADS = ("card/", "profile/", "fs/", "isdp/", "gp/", "gp-order", "rsp/", "m2m/", "isdr/",
             "aram/", "ecasd/")


def _string_heads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            yield node.lineno, node.values[0].value


def test_store_keys_are_built_only_in_the_key_modules():
    root = Path(__file__).parents[2]
    found = []
    for path in sorted([*root.glob("euicc/**/*.py"), *root.glob("applets/*.py")]):
        name = path.relative_to(root).as_posix()
        if name in KEY_MODULES:
            continue
        found += [f"{name}:{line}: {text!r:.40}" for line, text in
                  _string_heads(ast.parse(path.read_text(), name)) if text.startswith(KEY_HEADS)]
    assert found == []


# -- record types: stable ids, not class names --------------------------------------------------
RELEASE_RECORD_TYPES = {"FileDescriptor", "PinState", "RegistryEntry", "ProfileRecord",
                        "AkaSubscription", "AccessRule", "OtaKeySet", "Scp03Keys",
                        "PendingNotification", "SmsrAddress"}   # the class names of 0.1.0
ADDED_RECORD_TYPES = {"PskKeySet"}     # since 0.1.0: the ISD-R's SCP81 key sets (GP Amd B, #12)


def _release_copy(tmp_path: Path) -> Path:
    path = tmp_path / "card.state"
    shutil.copyfile(DATA / "card-0.1.0-test-profile.state", path)
    return path


def _record_types(path: Path) -> set[str]:
    return {json.loads(v)["$t"] for v in _rows(path).values() if v.startswith('{"$t"')}


def test_every_persistent_record_declares_its_release_name_as_its_id():
    declared = {cls: vars(cls)["RECORD_TYPE"] for cls in LAYOUT.dataclasses()}
    assert set(declared.values()) == RELEASE_RECORD_TYPES | ADDED_RECORD_TYPES
    assert {cls.__name__ for cls in declared if vars(cls)["RECORD_TYPE"] in ADDED_RECORD_TYPES} == ADDED_RECORD_TYPES
    assert _record_types(DATA / "card-0.1.0-test-profile.state") <= RELEASE_RECORD_TYPES


def test_a_renamed_record_class_still_reads_and_writes_a_release_file(tmp_path):
    path = _release_copy(tmp_path)
    RegistryEntry.__name__ = RegistryEntry.__qualname__ = "IssuerSecurityDomainEntry"
    try:
        card = open_card(path, extensions=ALL)          # upgraded: the ARA-M's registry entry is written
        try:
            assert Terminal(card).send("00 A4 04 00 10" + ISD_R).sw == 0x9000
        finally:
            card.close()
    finally:
        RegistryEntry.__name__ = RegistryEntry.__qualname__ = "RegistryEntry"
    assert json.loads(_rows(path)["gp/" + ARA_M])["$t"] == "RegistryEntry"
    assert _record_types(path) <= RELEASE_RECORD_TYPES


def test_a_copy_of_a_record_class_under_another_name_reads_its_records(tmp_path):
    class RenamedPinState(PinState):
        RECORD_TYPE: ClassVar[str] = "PinState"

    store = Store(_release_copy(tmp_path), Codec((RenamedPinState, *(
        t for t in PERSISTENT_TYPES if t is not PinState))), lock=False)
    try:
        pins = [store.get(k) for k in store.keys("fs/") if "/pin/" in k]
        assert pins and all(type(p) is RenamedPinState for p in pins)
    finally:
        store.close()


def test_a_record_class_without_its_own_id_or_with_a_taken_id_is_refused():
    @dataclass(frozen=True)
    class Unnamed:
        x: int

    class Inherited(PinState):        # inherits PinState's id but does not declare one
        pass

    class Twin(PinState):
        RECORD_TYPE: ClassVar[str] = "PinState"

    for types in ((Unnamed,), (Inherited,), (PinState, Twin)):
        with pytest.raises(TypeError):
            Codec(types)


def test_a_record_of_an_unknown_type_id_is_refused_in_one_line(tmp_path):
    path = _release_copy(tmp_path)
    key = "gp/" + ISD_R
    db = sqlite3.connect(path)
    with db:
        row = json.loads(db.execute("SELECT v FROM kv WHERE k=?", (key,)).fetchone()[0])
        db.execute("UPDATE kv SET v=? WHERE k=?", (json.dumps({**row, "$t": "SecurityDomain"}), key))
    db.close()
    before = path.read_bytes()
    with pytest.raises(StateFileError) as refused:
        open_card(path, extensions=ALL)
    assert "\n" not in str(refused.value)
    assert str(refused.value) == f"{path}: corrupt record {key!r}: unknown record type 'SecurityDomain'"
    assert path.read_bytes() == before


# -- registry entries name applets by a stable applet id, not a module file name ----------------
RELEASE_APPLET_IDS = {"ara_m", "ecasd", "isd_p", "isd_r", "isim", "usim"}   # 0.1.0 module names


def _registry_applets(path: Path) -> set[str]:
    return {json.loads(v)["applet"] for k, v in _rows(path).items() if k.startswith("gp/")} - {""}


def test_the_catalog_is_keyed_by_the_applet_ids_release_files_hold():
    assert {i: cls.APPLET_ID for i, cls in _catalog().items()} == {i: i for i in RELEASE_APPLET_IDS}
    assert _registry_applets(DATA / "card-0.1.0-test-profile.state") <= RELEASE_APPLET_IDS


def test_applets_moved_to_other_modules_and_classes_still_serve_a_release_card(tmp_path, monkeypatch):
    renamed = [type(f"Renamed{cls.__name__}", (cls,), {"APPLET_ID": applet_id,
                                                       "__module__": f"applets.renamed_{applet_id}"})
               for applet_id, cls in catalog().items()]
    monkeypatch.setattr(composition, "catalog", lambda: by_applet_id(renamed))
    path = _release_copy(tmp_path)
    card = open_card(path, extensions=ALL)
    try:
        term = Terminal(card)
        assert term.send("00 A4 04 00 10" + ISD_R).sw == 0x9000
        assert term.send("00 A4 04 00 09" + ARA_M).sw == 0x9000
        assert term.send("80 CA FF 40 00").sw == 0x9000    # GPD_SPE_013 GET DATA all rules
        assert type(card.session.applet(card.services.registry.get(bytes.fromhex(ISD_R)))
                    ).__name__ == "RenamedIsdR"
    finally:
        card.close()
    assert json.loads(_rows(path)["gp/" + ARA_M])["applet"] == "ara_m"


def test_an_applet_without_its_own_id_or_with_a_taken_id_is_refused():
    inherited = type("Inherited", (IsdR,), {})
    twin = type("Twin", (IsdR,), {"APPLET_ID": "isd_r"})
    for classes in ([inherited], [IsdR, twin]):
        with pytest.raises(TypeError):
            by_applet_id(classes)
