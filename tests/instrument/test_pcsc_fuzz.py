"""Response fuzzing through PC/SC: pyscard -> pcscd -> ifd-vpcd -> euicc-emu run --fuzz-responses.

The same seed gives the same mutated answers in two card processes started from the same state, and
--fuzz-replay with the first run's trace gives them again."""
from __future__ import annotations

import shutil

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.instrument.helpers import GET_EID, SELECT_ISD_R, store_data, tlv
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

COMMANDS = [SELECT_ISD_R, bytes.fromhex("00C0000053"), GET_EID, store_data(tlv(0xBF3E, tlv(0x5C, b"\x5a")))[0],
            bytes.fromhex("00C0000015"), bytes.fromhex("00A40004023F00"), bytes.fromhex("00C000001E")] * 4


def answers(start_card, state, extra) -> list[tuple[bytes, int]]:
    proc = start_card(state=state, extra=extra)
    host = T0Link(SLOT)
    try:
        return [host.raw(apdu) for apdu in COMMANDS]
    finally:
        host.close()
        proc.stop()


def test_same_seed_same_answers_and_replay(start_card, tmp_path):
    initial = tmp_path / "initial.state"
    plain = answers(start_card, initial, [])
    runs = []
    for n, extra in enumerate((["--fuzz-responses", "31:0.5"], ["--fuzz-responses", "31:0.5"],
                               ["--fuzz-replay", str(tmp_path / "trace0.txt")])):
        state = tmp_path / f"run{n}.state"
        shutil.copy(initial, state)
        runs.append(answers(start_card, state, [*extra, "--trace", str(tmp_path / f"trace{n}.txt")]))
    assert runs[0] == runs[1] == runs[2] != plain
    recorded = [line for line in (tmp_path / "trace0.txt").read_text().splitlines() if "!! fuzz seed=31" in line]
    replayed = [line for line in (tmp_path / "trace2.txt").read_text().splitlines() if "!! fuzz seed=31" in line]
    assert recorded and [r.split(" ", 1)[1] for r in recorded] == [r.split(" ", 1)[1] for r in replayed]
