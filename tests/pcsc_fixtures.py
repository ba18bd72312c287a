"""Fixtures of the PC/SC end-to-end tests: pcscd (started when needed) and card processes.

A pytest plugin of the whole suite (tests/conftest.py), so that the session-wide slot lock and
pcscd exist once however many test folders use them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.pcsc_host import CardProcess, PcscUnavailable, card_present, check_installed, find_reader, start_pcscd
from tools.bench.slot_lock import SlotBusy, hold_slot

SLOT = int(os.environ.get("EUICC_E2E_SLOT", "1"))
LOCK_WAIT = 600.0


@pytest.fixture(scope="session")
def slot_lock():
    """Serialise end-to-end runs (and the benchmark) on one machine: two sessions on the same
    vpcd slot would talk to each other's cards."""
    try:
        with hold_slot(SLOT, LOCK_WAIT):
            yield
    except SlotBusy as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pcscd(slot_lock):
    """A running pcscd with the vpcd reader; fails clearly when something is missing."""
    try:
        check_installed()
        started = start_pcscd()
        find_reader(SLOT)
    except PcscUnavailable as exc:
        if exc.skippable:
            pytest.skip(f"PC/SC end-to-end tests need pcscd: {exc}")
        pytest.fail(f"PC/SC end-to-end tests cannot run: {exc}", pytrace=False)
    if card_present(SLOT):
        pytest.fail(f"vpcd slot {SLOT} is already taken by another virtual card (stop it, or set "
                    "EUICC_E2E_SLOT to a free slot)", pytrace=False)
    yield SLOT
    if started is not None:
        started.terminate()
        started.wait(10)


@pytest.fixture
def start_card(pcscd, tmp_path: Path):
    """Factory: start `euicc-emu run` on the test slot and wait until pcscd sees the card."""
    procs: list[CardProcess] = []

    def start(state: Path | None = None, extra: list[str] | None = None,
              first_profile: str = "minimal") -> CardProcess:
        proc = CardProcess(state or tmp_path / "card.state", pcscd, tmp_path / f"card{len(procs)}.log", extra,
                           first_profile)
        procs.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in procs:
        proc.stop()
