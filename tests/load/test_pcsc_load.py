"""Load test (issue #6 item 5): several card processes on several vpcd slots and several PC/SC
clients per reader at once, each running full sessions for a bounded time, with no lost or
crossed responses.

The clients are tools.bench.load (host side, from the specs, pyscard's raw API); every session
checks its own record and EF.PL region (what this client wrote last, then its fresh value) and the
EID of its reader's card.  Afterwards an independent link (tests/e2e/pcsc_host.T0Link) reads every
client's last values back, and ``euicc-emu info`` ties each EID to its state file.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.e2e.pcsc_host import REPO, CardProcess, T0Link, card_present, find_reader
from tests.pcsc_fixtures import LOCK_WAIT, SLOT
from tools.bench.load import (
    EF_PL,
    EF_SMS,
    MF,
    USIM_AID,
    ClientResult,
    lock_order,
    probe_eid,
    run_load,
)
from tools.bench.slot_lock import SlotBusy, hold_slot

pytestmark = pytest.mark.pcsc

SLOTS = [0, 1]
SW_OK = 0x9000


@pytest.fixture
def load_slots(pcscd):
    """Both vpcd slots, locked in tools.bench.load.lock_order (the session fixture `pcscd` holds
    the end-to-end slot already), free of other cards."""
    with ExitStack() as stack:
        for slot in lock_order(SLOTS):
            if slot == SLOT:
                continue
            try:
                stack.enter_context(hold_slot(slot, LOCK_WAIT))
            except SlotBusy as exc:
                pytest.fail(str(exc), pytrace=False)
        for slot in SLOTS:
            find_reader(slot)
        deadline = time.monotonic() + 10  # a card stopped just before (e.g. by tests/e2e) may still show
        while busy := [s for s in SLOTS if card_present(s)]:
            if time.monotonic() > deadline:
                pytest.fail(f"vpcd slots {busy} are already taken by another virtual card", pytrace=False)
            time.sleep(0.1)
        yield SLOTS


@pytest.fixture
def cards(load_slots, tmp_path: Path):
    """Factory: ``euicc-emu run --first-profile minimal`` on `slot` with `extra` arguments, waiting
    for every slot it serves; stops them all and waits until pcscd sees the slots empty."""
    procs: list[CardProcess] = []

    def start(slot: int, state: Path, serves: list[int], extra: list[str] = ()) -> CardProcess:
        proc = CardProcess(state, slot, tmp_path / f"card{slot}.log", ["--log-level", "WARNING", *extra])
        procs.append(proc)
        proc.wait_ready()
        deadline = time.monotonic() + 20
        while not all(card_present(s) for s in serves):
            assert time.monotonic() < deadline, f"slots {serves} not all up:\n{proc.log_text()}"
            time.sleep(0.05)
        return proc

    yield start
    for proc in procs:
        proc.stop()
    deadline = time.monotonic() + 10
    while any(card_present(s) for s in load_slots) and time.monotonic() < deadline:
        time.sleep(0.05)


def eid_valid(eid: str) -> bool:
    """32 decimal digits whose value mod 97 is 1 (ISO 7064 MOD 97-10, SGP.29 / SPEC_NOTES §1.1)."""
    return len(eid) == 32 and eid.isdigit() and int(eid) % 97 == 1


def state_eid(state: Path) -> str:
    """The EID a stopped card's state file holds (``euicc-emu info --json``)."""
    out = subprocess.run([sys.executable, "-m", "tools.cli", "info", "--json", "--state", str(state)],
                         cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["eid"].upper()


def distinct_valid_eids(slots: list[int]) -> dict[int, str]:
    eids = {slot: probe_eid(slot) for slot in slots}
    assert all(eid_valid(eid) for eid in eids.values()), eids
    assert len(set(eids.values())) == len(slots), f"two slots show the same card: {eids}"
    return eids


def assert_clean(results: list[ClientResult], clients: int, min_sessions: int) -> None:
    errors = [r.error for r in results if r.error]
    assert not errors, "\n".join(errors)
    assert len(results) == clients * len(SLOTS)
    for r in results:
        assert r.sessions >= min_sessions, f"slot {r.slot} client {r.index}: only {r.sessions} sessions"
        assert r.apdus >= 17 * r.sessions  # at least 17 APDUs (with GET RESPONSEs) per full session


def assert_last_values_on_card(results: list[ClientResult]) -> None:
    """Nothing lost: the card on each slot holds every client's last record and region."""
    for slot in SLOTS:
        link = T0Link(slot)
        try:
            for r in (r for r in results if r.slot == slot):
                assert link.send(b"\x00\xA4\x04\x0C\x10" + USIM_AID)[1] == SW_OK
                assert link.send(b"\x00\xA4\x00\x0C\x02" + EF_SMS.to_bytes(2, "big"))[1] == SW_OK
                size = len(r.last_record)
                assert link.send(bytes([0x00, 0xB2, r.record, 0x04, size])) == (r.last_record, SW_OK)
                assert link.send(b"\x00\xA4\x00\x0C\x02" + MF.to_bytes(2, "big"))[1] == SW_OK
                assert link.send(b"\x00\xA4\x00\x0C\x02" + EF_PL.to_bytes(2, "big"))[1] == SW_OK
                offset, width = r.region
                assert link.send(bytes([0x00, 0xB0, 0x00, offset, width])) == (r.last_region, SW_OK)
        finally:
            link.close()


def test_two_card_processes_with_transactions(cards, tmp_path: Path):
    procs = [cards(slot, tmp_path / f"slot{slot}.state", [slot]) for slot in SLOTS]
    eids = distinct_valid_eids(SLOTS)
    results = run_load(eids, clients=3, duration=5.0, transaction=True, think=0.1)
    assert_clean(results, 3, min_sessions=10)
    assert_last_values_on_card(results)
    assert distinct_valid_eids(SLOTS) == eids  # stable
    for proc, slot in zip(procs, SLOTS):
        assert proc.stop() == 0
        assert state_eid(proc.state) == eids[slot]  # the EID belongs to this slot's state


def test_one_process_two_cards_interleaved_channels(cards, tmp_path: Path):
    """``--cards 2``: one process serves both slots; clients do not take transactions, so their
    logical channels interleave APDU by APDU (GET RESPONSE stays per channel, TS 102 221 §7.3.1)."""
    state = tmp_path / "pair.state"
    proc = cards(SLOTS[0], state, SLOTS, ["--cards", str(len(SLOTS))])
    eids = distinct_valid_eids(SLOTS)
    results = run_load(eids, clients=4, duration=4.0, transaction=False)
    assert_clean(results, 4, min_sessions=20)
    assert_last_values_on_card(results)
    results = run_load(eids, clients=2, duration=2.0, transaction=True, think=0.1)
    assert_clean(results, 2, min_sessions=5)
    assert proc.stop() == 0
    for i, slot in enumerate(SLOTS):
        assert state_eid(state.with_name(f"{state.name}.{i}")) == eids[slot]


def test_crossed_eid_is_reported(cards, tmp_path: Path):
    """The checker itself: clients told the other slot's EID must each fail on GET DATA EID."""
    for slot in SLOTS:
        cards(slot, tmp_path / f"slot{slot}.state", [slot])
    eids = distinct_valid_eids(SLOTS)
    for slot, other in zip(SLOTS, reversed(SLOTS)):
        [result] = run_load({slot: eids[other]}, clients=1, duration=1.0)
        assert result.sessions == 0
        assert result.error and f"expected {eids[other]} (this reader's card)" in result.error, result.error
