"""Shared helpers of the robustness tests: a card state file with two profiles, the consistency
rules a card must satisfy after any power loss, and the figures log read by
``python -m tools.fuzz report`` (written only when EUICC_ROBUSTNESS_OUT names a directory).

The consistency rules are stated here from SGP.22 v2.5 §2.2.1/§3.2 (at most one enabled profile,
ISD-P life cycle ENABLED '3F' / DISABLED '1F') and GP Card Spec §6.6 (registry), reading the
store through its public get/keys API only.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from euicc.card import Card
from euicc.composition import open_card
from euicc.fs import default_fs
from euicc.fs.filesystem import FileSystem
from euicc.profiles.manager import fsid_of
from euicc.profiles.model import ProfileRecord, iccid_bytes

SECOND_ICCID = "8988100000000000011"
ISDP_ENABLED, ISDP_DISABLED = 0x3F, 0x1F
NO_PROFILE_FS = "euicc"


def add_second_profile(card: Card) -> bytes:
    """Install a disabled second profile (its own ISD-P and file system); returns its AID."""
    store, profiles = card.store, card.services.profiles
    with store.transaction():
        aid = profiles.create_isdp()
        default_fs.build(FileSystem(store, fsid_of(aid)),
                         default_fs.Subscription(iccid=SECOND_ICCID, imsi="001010000000002"))
        profiles.add_profile(ProfileRecord(isdp_aid=aid, iccid=iccid_bytes(default_fs.luhn(SECOND_ICCID)),
                                           fsid=fsid_of(aid), name="second"))
    return aid


@pytest.fixture(scope="session")
def base_state(tmp_path_factory) -> Path:
    """A closed state file: the default card plus a second, disabled profile."""
    path = tmp_path_factory.mktemp("base") / "card.state"
    card = open_card(path)
    add_second_profile(card)
    card.close()
    return path


@pytest.fixture
def copy_state(base_state, tmp_path):
    """Factory: a fresh copy of the base state file, named by `tag`."""
    def make(tag: str) -> Path:
        path = tmp_path / f"{tag}.state"
        shutil.copyfile(base_state, path)
        return path
    return make


def consistency_violations(card: Card) -> list[str]:
    """Everything wrong with a card's persistent state (empty when consistent)."""
    store, out = card.store, []
    records = [store.get(k) for k in store.keys("profile/")]
    enabled = [r for r in records if r.state == 1]
    if len(enabled) > 1:
        out.append(f"{len(enabled)} profiles enabled")
    active = store.get("card/active-fs")
    expected = enabled[0].fsid if enabled else NO_PROFILE_FS
    if active != expected:
        out.append(f"active file system {active!r}, enabled profile's is {expected!r}")
    order = store.get("gp-order", ())
    gp_keys = {k[3:] for k in store.keys("gp/")}
    if {a.hex().upper() for a in order} != gp_keys or len(order) != len(gp_keys):
        out.append("registry order does not match the registry entries")
    for r in records:
        entry = store.get("gp/" + r.isdp_aid.hex().upper())
        want = ISDP_ENABLED if r.state == 1 else ISDP_DISABLED
        if entry is None:
            out.append(f"profile {r.isdp_aid.hex()} without its ISD-P")
        elif entry.lifecycle != want:
            out.append(f"ISD-P {r.isdp_aid.hex()} life cycle {entry.lifecycle:02X}, record says {want:02X}")
        if store.get(f"fs/{r.fsid}/n/3F00") is None:
            out.append(f"profile {r.isdp_aid.hex()} without its file system")
    fsids = {k.split("/")[1] for k in store.keys("fs/isdp-")}
    orphans = fsids - {r.fsid for r in records}
    if orphans:
        out.append(f"half-deleted profile file systems {sorted(orphans)}")
    for key in store.keys("fs/"):
        if "/pin/" in key:
            pin = store.get(key)
            if not (0 <= pin.retries <= pin.max_retries and 0 <= pin.puk_retries <= pin.puk_max_retries):
                out.append(f"{key}: counters out of range")
    response = card.transmit(bytes.fromhex("00A40004023F00"))
    if response[-2] not in (0x61, 0x90):
        out.append(f"SELECT MF answered {response.hex()} after re-open")
    return out


class FiguresLog:
    """Power-cut points and violations per scenario, merged into <out>/powercut.json."""

    def __init__(self) -> None:
        self.scenarios: dict[str, dict] = {}

    def add(self, scenario: str, points: int, violations: list[str]) -> None:
        self.scenarios[scenario] = {"points": points, "violations": violations}

    def write(self) -> None:
        out = os.environ.get("EUICC_ROBUSTNESS_OUT")
        if not out or not self.scenarios:
            return
        path = Path(out) / "powercut.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data.update(self.scenarios)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def figures():
    log = FiguresLog()
    yield log
    log.write()
