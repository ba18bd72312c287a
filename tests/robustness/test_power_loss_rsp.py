"""Power loss at every write of the ES10 operations (SGP.22 v2.5 §3.1.3 download, §3.2 / §5.7.16-18
enable / disable / delete, §5.7.20 nickname, §5.7.11 notification removal), driven through
Card.transmit by the host LPA + SM-DP+ rig (tools.fuzz.rsp_host).

For each operation: count its physical writes W, then for every N in 1..W cut the power at the
N-th write, close, re-open the card from the file and check that the card is consistent
(conftest.consistency_violations: at most one enabled profile, no half-installed or half-deleted
profile) and that the operation happened completely or not at all, as seen through ES10
(GetProfilesInfo, ListNotification) and the store.  Notification sequence numbers never go back:
a later operation after the restart gets a number above every one the card answered with before
the operation or holds after it (a number inside a download that never committed was never
handed out, so it may be used again).
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from euicc.card import Card
from euicc.composition import open_card
from euicc.nvm import PowerCut
from tools.fuzz.invariants import snapshot
from tools.fuzz.rsp_host import RIG_ICCID, RspRig, packaged_upp
from tools.smdpp.orders import iccid_ef_coding

from .conftest import consistency_violations
from .test_power_loss import PowerFailure

RIG = ("iccid", iccid_ef_coding(RIG_ICCID))


def view(card: Card) -> tuple:
    """What ES10 shows: (ICCID, state, nickname) per profile and the pending notifications."""
    rig = RspRig(card.transmit)
    profiles = sorted((p["iccid"].hex(), p.get("profileState"), p.get("profileNickname"))
                      for p in rig.es10.get_profiles_info())
    notes = sorted((n["seqNumber"], n["profileManagementOperation"][0].hex())
                   for n in rig.es10.list_notifications())
    rig.transport.close()
    return profiles, notes


def first_iccid(card: Card) -> tuple[str, bytes]:
    (record,) = [r for r in card.services.profiles.records() if r.iccid != RIG[1]]
    return ("iccid", record.iccid)


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> dict[str, Path]:
    """'fresh': a new card; 'downloaded': plus the rig's profile (disabled), with an install
    notification (every operation of it is to be notified)."""
    base = tmp_path_factory.mktemp("rsp-base")
    fresh, downloaded = base / "fresh.state", base / "downloaded.state"
    open_card(fresh).close()
    shutil.copyfile(fresh, downloaded)
    card = open_card(downloaded)
    RspRig(card.transmit, notify=True).download()
    card.close()
    return {"fresh": fresh, "downloaded": downloaded}


Operation = Callable[[Card, RspRig], object]
SCENARIOS: dict[str, tuple[str, Operation]] = {
    "es10_download": ("fresh", lambda c, rig: rig.download()),
    "es10_enable": ("downloaded", lambda c, rig: rig.es10.enable_profile(RIG)),
    "es10_disable": ("downloaded", lambda c, rig: rig.es10.disable_profile(first_iccid(c))),
    "es10_delete": ("downloaded", lambda c, rig: rig.es10.delete_profile(RIG)),
    "es10_set_nickname": ("downloaded", lambda c, rig: rig.es10.set_nickname(RIG[1], "cut")),
    "es10_remove_notification": ("downloaded", lambda c, rig: rig.es10.remove_notification(1)),
}


def _run(path: Path, scenario: str, at: int) -> tuple[PowerFailure, object]:
    _, op = SCENARIOS[scenario]
    card = open_card(path)
    rig = RspRig(card.transmit, notify=True)
    rig.transport.open()
    hook = PowerFailure(card.store, at)
    result = None
    try:
        result = op(card, rig)
    except PowerCut:
        assert hook.cut
    card.store.fault_hook = None
    card.close()
    return hook, result


def _after_restart(path: Path) -> tuple[list[str], tuple, dict]:
    card = open_card(path)
    problems = consistency_violations(card)
    seen, state = view(card), snapshot(card.store)
    card.close()
    return problems, seen, state


def _next_seq(path: Path) -> int:
    """Sequence number of the next notification: the install notification of one more copy."""
    card = open_card(path)
    rig = RspRig(card.transmit, notify=True)
    seq = rig.download(packaged_upp("8900100000000000995")).seq_number
    card.close()
    return seq


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_es10_power_cut_at_every_write(scenario, states, tmp_path, figures):
    base = states[SCENARIOS[scenario][0]]
    reference = tmp_path / "reference.state"
    shutil.copyfile(base, reference)
    _, before, before_store = _after_restart(reference)
    counting, result = _run(reference, scenario, 0)
    total = counting.count
    assert total > 0, f"{scenario} wrote nothing"
    assert result in (0, None) or hasattr(result, "seq_number"), f"{scenario} failed: {result}"
    _, complete, complete_store = _after_restart(reference)
    assert complete != before, f"{scenario} changed nothing visible"
    exact = scenario != "es10_download"          # a download stores fresh keys: compare ES10 views
    violations, checked_seq = [], {1, total // 2, total}
    for n in range(1, total + 1):
        path = tmp_path / f"{scenario}-{n}.state"
        shutil.copyfile(base, path)
        hook, _ = _run(path, scenario, n)
        assert hook.cut, f"{scenario}: cut at write {n} of {total} never happened"
        problems, seen, store = _after_restart(path)
        if seen not in (before, complete):
            problems.append(f"half done: {seen}")
        elif exact and store not in (before_store, complete_store):
            problems.append("store partly changed")
        issued = max([note[0] for note in before[1] + seen[1]], default=0)   # answered or committed
        if n in checked_seq and (seq := _next_seq(path)) <= issued:
            problems.append(f"notification seqNumber {seq} after restart, {issued} issued before")
        violations += [f"cut at write {n}/{total}: {p}" for p in problems]
        path.unlink()
    figures.add(scenario, total, violations)
    assert not violations, violations[:10]
