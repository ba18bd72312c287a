"""The persistent schema survives refactoring: store rows are the same as the release's, record
types are named by stable ids (not class names), registry entries name applets by a stable applet
id (not a module file name), and every store key is built by its package's key module.

Known answers: ``data/card-v2-rows.json`` holds, for each row a new card holds (EID fixed, the
default "test" profile), the SHA-256 of its stored text, made by :func:`provisioned_rows` with the
code of commit ef698e2 (before the key builders existed; ``null`` for the rows holding keys or
certificates generated per card); ``data/card-0.1.0-test-profile.state`` is the release file of
test_release_state_files.py."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

from applets import catalog
from euicc import provisioning, state_layout
from euicc.card import PERSISTENT_TYPES, Card
from euicc.nvm import Codec, Store

DATA = Path(__file__).parent / "data"
EID = "89049032883061591507939946562162"
PER_CARD = ("ecasd/identity", "m2m/ecasd/ecka", "m2m/ecasd/cert")   # generated keys/certificates


def _rows(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT k, v FROM kv"))
    finally:
        db.close()


def provisioned_rows(path: Path) -> dict[str, str | None]:
    """SHA-256 of each row of a new card with EID :data:`EID` (None: a per-card key/certificate)."""
    store = Store(path, Codec(PERSISTENT_TYPES, state_layout.LAYOUT))
    try:
        provisioning.provision(store, catalog(), eid=EID)
    finally:
        store.close()
    return {k: None if k in PER_CARD else hashlib.sha256(v.encode()).hexdigest()
            for k, v in sorted(_rows(path).items())}


# -- store keys: one key module per package, rows unchanged ------------------------------------
def test_a_new_card_holds_the_same_rows_as_before_the_key_modules(tmp_path):
    expected = json.loads((DATA / "card-v2-rows.json").read_text())
    assert provisioned_rows(tmp_path / "card.state") == expected


def test_an_upgraded_release_card_holds_only_keys_a_new_card_holds(tmp_path):
    path = tmp_path / "card.state"
    shutil.copyfile(DATA / "card-0.1.0-test-profile.state", path)
    Card.open(path).close()
    new_card = set(json.loads((DATA / "card-v2-rows.json").read_text()))
    assert set(_rows(path)) <= new_card
    assert {"card/version", "gp/A00000015141434C00", "isdr/scp03/30"} <= set(_rows(path))
