"""Power loss at every write of an SGP.22 v3.1 RPM package (§3.7.3, ES10b.LoadRpmPackage),
driven through Card.transmit by the host LPA + test SM-DP+ (tools.fuzz.rsp_host at SVN 3.1.0,
tools.lpa.rpm, tools.smdpp.rpm).

The card holds a profile the rig's SM-DP+ may manage (rpmConfiguration, every RPM event notified).
For each package: count its physical writes W, then for every N in 1..W cut the power at the N-th
write, re-open the card from the file and check that it is consistent
(conftest.consistency_violations) and that the whole package happened or nothing of it, as seen
through ES10 (each profile's ICCID, state and name; the pending notifications with their events),
and that a notification made after the restart gets a sequence number above every one issued.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from euicc.card import Card
from euicc.composition import open_card
from euicc.nvm import PowerCut
from tools.fuzz.rsp_host import ADDRESS, RIG_ICCID, RspRig
from tools.lpa import rpm as lpa_rpm
from tools.lpa.activation_code import parse
from tools.smdpp import rpm
from tools.smdpp.es9plus import SVN_V3
from tools.smdpp.orders import order_from_upp

from .conftest import consistency_violations
from .test_power_loss import PowerFailure
from .test_power_loss_rsp import _next_seq

PACKAGES = {
    "rpm_enable": ("managed", [rpm.command("enable", RIG_ICCID)]),
    "rpm_disable_delete": ("managed_enabled", [rpm.command("disable", RIG_ICCID), rpm.command("delete", RIG_ICCID)]),
    "rpm_update_metadata": ("managed", [rpm.command("updateMetadata", RIG_ICCID, updateMetadataRequest={
        "profileName": "renamed by RPM", "tagsForDeletion": bytes.fromhex("B6")})]),
}


def rig_for(card: Card) -> RspRig:
    return RspRig(card.transmit, svn=SVN_V3)


def view(card: Card) -> tuple:
    rig = rig_for(card)
    profiles = sorted((p["iccid"].hex(), p.get("profileState"), p.get("profileName"))
                      for p in rig.es10.get_profiles_info())
    notes = sorted((n["seqNumber"], n["profileManagementOperation"][0].hex())
                   for n in rig.es10.list_notifications())
    rig.transport.close()
    return profiles, notes


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("rpm-base")
    managed, enabled = base / "managed.state", base / "enabled.state"
    card = open_card(managed)
    rig = rig_for(card)
    oid = next(iter(rig.smdp.credentials.sets.values())).smdp_oid
    rig.smdp.add_order(order_from_upp("RPM-BASE", rig.upp, notification_address=ADDRESS,
                                      rpm_configuration=rpm.rpm_configuration(oid, oid)))
    rig.lpa.download(parse(f"LPA:1${ADDRESS}$RPM-BASE"))
    card.close()
    shutil.copyfile(managed, enabled)
    card = open_card(enabled)
    rig = rig_for(card)
    rig.smdp.rpm.add(rpm.RpmOrder([rpm.command("enable", RIG_ICCID)]))
    lpa_rpm.run(rig.lpa, ADDRESS)
    card.close()
    return {"managed": managed, "managed_enabled": enabled}


def _run(path: Path, package: str, at: int) -> PowerFailure:
    card = open_card(path)
    rig = rig_for(card)
    rig.smdp.rpm.add(rpm.RpmOrder(PACKAGES[package][1]))
    rig.transport.open()
    hook = PowerFailure(card.store, at)
    try:
        (outcome,) = lpa_rpm.run(rig.lpa, ADDRESS)
        assert outcome.result[0] == "loadRpmPackageResultSigned"
        assert all(r["rpmCommandResultData"][1] in (0, {"enableResult": 0}, {"disableResult": 0},
                                                    {"deleteResult": 0})
                   for r in outcome.result[1]["loadRpmPackageResultDataSigned"]["finalResult"][1])
    except PowerCut:
        assert hook.cut
    card.store.fault_hook = None
    card.close()
    return hook


def _after_restart(path: Path) -> tuple[list[str], tuple]:
    card = open_card(path)
    problems = consistency_violations(card)
    seen = view(card)
    card.close()
    return problems, seen


@pytest.mark.parametrize("package", list(PACKAGES))
def test_rpm_power_cut_at_every_write(package, states, tmp_path, figures):
    base = states[PACKAGES[package][0]]
    reference = tmp_path / "reference.state"
    shutil.copyfile(base, reference)
    _, before = _after_restart(reference)
    total = _run(reference, package, 0).count
    assert total > 0, f"{package} wrote nothing"
    _, complete = _after_restart(reference)
    assert complete != before, f"{package} changed nothing visible"
    violations = []
    for n in range(1, total + 1):
        path = tmp_path / f"{package}-{n}.state"
        shutil.copyfile(base, path)
        assert _run(path, package, n).cut, f"{package}: cut at write {n} of {total} never happened"
        problems, seen = _after_restart(path)
        if seen not in (before, complete):
            problems.append(f"half done: {seen}")
        issued = max([note[0] for note in before[1] + seen[1]], default=0)
        if n in (1, total) and (seq := _next_seq(path)) <= issued:
            problems.append(f"notification seqNumber {seq} after restart, {issued} issued before")
        violations += [f"cut at write {n}/{total}: {p}" for p in problems]
        path.unlink()
    figures.add(package, total, violations)
    assert not violations, violations[:10]
