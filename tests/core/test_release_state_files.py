"""A state file written by an earlier release opens with the current code and is upgraded to
what a new card holds (euicc.provisioning.UPGRADES): its identity and profile are kept, and it
gains the ARA-M (GPD_SPE_013) and the ISD-R's SCP03 test key set (GP Amd D).

Known answers come from the file itself (tests/core/data/README.md) and the published values:
the EF.ICCID of the default test profile (README: ICCID 89001000000000000010) and the ARA-M AID
A00000015141434C00."""
from __future__ import annotations

import shutil
from pathlib import Path

from euicc.composition import ALL, open_card
from tests.core.helpers import Terminal

DATA = Path(__file__).parent / "data"
EID = "89049032883061591507939946562162"
ARA_M = "A00000015141434C00"
ICCID_EF = bytes.fromhex("98000100000000000001")   # EF.ICCID of 89001000000000000010 (BCD, swapped)


def _release_card(tmp_path: Path) -> Path:
    path = tmp_path / "card.state"
    shutil.copyfile(DATA / "card-0.1.0-test-profile.state", path)
    return path


def test_release_0_1_0_state_file_opens_and_keeps_its_card(tmp_path):
    card = open_card(_release_card(tmp_path), extensions=ALL)   # the release made both
    try:
        described = card.describe()
        assert described["eid"] == EID
        assert described["iccids"] == ["89001000000000000010"]
        term = Terminal(card)
        assert term.send("00 A4 00 0C 02 3F00").sw == 0x9000
        assert term.send("00 A4 00 0C 02 2FE2").sw == 0x9000
        read = term.send("00 B0 00 00 0A")
        assert (read.data, read.sw) == (ICCID_EF, 0x9000)
    finally:
        card.close()


def test_release_0_1_0_state_file_gains_the_new_default_applets_and_keys(tmp_path):
    path = _release_card(tmp_path)
    card = open_card(path, extensions=ALL)
    try:
        assert ARA_M in [a["aid"] for a in card.describe()["applets"]]
        term = Terminal(card)
        assert term.send("00 A4 04 00 09" + ARA_M).sw == 0x9000
        # GET DATA all rules (GPD_SPE_013 'FF40'): an empty rule set
        assert term.send("80 CA FF 40 00").sw == 0x9000
        # INITIALIZE UPDATE with KVN 30 (the documented default key set) is answered
        assert term.send("00 A4 04 00 10 A0000005591010FFFFFFFF8900000100").sw == 0x9000
        init = term.send("80 50 30 00 08 0001020304050607")
        assert init.sw == 0x9000 and init.data[10:12] == bytes.fromhex("3003")
    finally:
        card.close()
    # upgraded once: opening again changes nothing
    before = path.read_bytes()
    open_card(path, extensions=ALL).close()
    assert path.read_bytes() == before
