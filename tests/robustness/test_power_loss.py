"""Power loss at every write (GP Card Spec §6.6 atomicity; TS 102 221 §11.1.9 anti-tearing counters).

For each operation: count its physical writes W, then for every N in 1..W cut the power at the
N-th write (every later write fails too: the power is gone), close the store, re-open the card
from the file and check (a) the card is consistent (conftest.consistency_violations) and
(b) the operation happened completely or not at all — except a PIN/PUK retry counter, which
may stay decremented but never goes back up.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from euicc.card import Card
from euicc.composition import open_card
from euicc.nvm import PowerCut
from tools.fuzz.invariants import is_counter_decrement, snapshot, state_changes

from .conftest import consistency_violations

class PowerFailure:
    """A store fault hook: power fails at the `at`-th write from now (0: never, just count)."""

    def __init__(self, store, at: int = 0) -> None:
        self.start, self.at, self.count, self.cut = store.writes, at, 0, False
        store.fault_hook = self

    def __call__(self, writes: int) -> None:
        self.count = writes - self.start
        if self.at and self.count >= self.at:
            self.cut = True
            raise PowerCut(f"power lost at write {self.count}")


def _apdu(card: Card, hexstr: str) -> bytes:
    return card.transmit(bytes.fromhex(hexstr.replace(" ", "")))


def _profiles(card: Card):
    records = {r.name: r.isdp_aid for r in card.services.profiles.records()}
    second = records.pop("second")
    (first,) = records.values()     # the card's own (first) profile
    return first, second


def _in_transaction(op: Callable[[Card], None]) -> Callable[[Card], None]:
    def run(card: Card) -> None:
        with card.store.transaction():
            op(card)
    return run


# name -> (setup APDUs, operation); the hook is armed between the two
SCENARIOS: dict[str, tuple[list[str], Callable[[Card], object]]] = {
    "update_binary": (["00A40004022F05"], lambda c: _apdu(c, "00D600000A 31323334353637383930")),
    "update_record": (["00A40804047F106F3A"], lambda c: _apdu(c, "00DC01041E" + "41" * 30)),
    "change_pin": ([], lambda c: _apdu(c, "0024008110 39393939FFFFFFFF 31323334FFFFFFFF")),
    "verify_wrong_pin": ([], lambda c: _apdu(c, "0020008108 30303030FFFFFFFF")),
    "verify_right_pin": ([], lambda c: _apdu(c, "0020008108 39393939FFFFFFFF")),
    "unblock_pin": ([], lambda c: _apdu(c, "002C008110 3232323232323232 31323334FFFFFFFF")),
    "enable_profile": ([], _in_transaction(lambda c: c.services.profiles.enable(_profiles(c)[1]))),
    "disable_profile": ([], _in_transaction(lambda c: c.services.profiles.disable(_profiles(c)[0]))),
    "delete_profile": ([], _in_transaction(lambda c: c.services.profiles.delete(_profiles(c)[1]))),
}


def _run(path: Path, scenario: str, at: int) -> PowerFailure:
    setup, op = SCENARIOS[scenario]
    card = open_card(path)
    for apdu in setup:
        assert _apdu(card, apdu)[-2] in (0x61, 0x90)
    hook = PowerFailure(card.store, at)
    try:
        op(card)
    except PowerCut:
        assert hook.cut
    card.store.fault_hook = None
    card.close()
    return hook


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_power_cut_at_every_write(scenario, copy_state, figures):
    reference = copy_state("reference")
    start = open_card(reference)
    before = snapshot(start.store)
    start.close()
    counting = _run(reference, scenario, 0)
    total = counting.count
    done = open_card(reference)
    complete = snapshot(done.store)
    done.close()
    assert total > 0, f"{scenario} wrote nothing"
    violations = []
    for n in range(1, total + 1):
        path = copy_state(f"{scenario}-{n}")
        hook = _run(path, scenario, n)
        assert hook.cut, f"{scenario}: cut at write {n} of {total} never happened"
        card = open_card(path)
        after = snapshot(card.store)
        problems = consistency_violations(card)
        if after not in (before, complete):  # only an anti-tearing counter step may remain
            problems += [f"{key} partly changed" for key, (b, a) in state_changes(before, after).items()
                         if not is_counter_decrement(key, b, a)]
        card.close()
        violations += [f"cut at write {n}/{total}: {p}" for p in problems]
    figures.add(scenario, total, violations)
    assert not violations


def test_wrong_pin_counter_survives_every_cut(copy_state):
    """TS 102 221 §11.1.9: a wrong PIN that was answered is counted, whatever happens after."""
    path = copy_state("answered")
    card = open_card(path)
    assert _apdu(card, "0020008108 30303030FFFFFFFF").hex() == "63c2"
    card.close()
    card = open_card(path)
    assert _apdu(card, "00200081").hex() == "63c2"
    card.close()


def test_power_cut_propagates_out_of_transmit(copy_state):
    """The fault hook's PowerCut must leave Card.transmit (card.py), not become a status word."""
    card = open_card(copy_state("propagate"))
    _apdu(card, "00A40004022F05")
    PowerFailure(card.store, 1)
    with pytest.raises(PowerCut):
        _apdu(card, "00D6000002 4142")
    card.store.fault_hook = None
    card.close()


WRITER = r"""
import sys
from pathlib import Path
from euicc.card import Card
from euicc.composition import open_card
card = open_card(Path(sys.argv[1]))
assert card.transmit(bytes.fromhex("00A4000C022F05")) == b"\x90\x00"
i = int(sys.argv[2])
while True:
    i += 1
    r = card.transmit(bytes.fromhex("00D600000A") + i.to_bytes(10, "big"))
    assert r == b"\x90\x00", r.hex()
    print(i, flush=True)
"""


def test_kill_9_during_writes(copy_state):
    """SIGKILL a process writing EF.PL in a loop; the re-opened card holds the last or next value."""
    path = copy_state("kill9")
    last = 0
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(last)],
                                stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
        acked = last
        deadline = time.monotonic() + 20
        while acked < last + 40 + 25 * round_ and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for line in proc.stdout:      # writes acknowledged after the loop above stopped reading
            if line.endswith("\n"):
                acked = int(line)
        assert acked > last, "the writer made no progress"
        card = open_card(path)
        assert consistency_violations(card) == []
        _apdu(card, "00A40004022F05")
        value = int.from_bytes(_apdu(card, "00B000000A")[:-2], "big")
        card.close()
        assert acked <= value <= acked + 1, f"acknowledged {acked}, card holds {value}"
        last = value
