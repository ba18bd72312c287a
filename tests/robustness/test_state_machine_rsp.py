"""Stateful model test of ES10c local profile management and notifications (hypothesis).

The model is written from SGP.22 v2.5, not from the card code: §5.7.16 EnableProfile (0 ok,
1 iccidOrAidNotFound, 2 profileNotInDisabledState; the previously enabled profile is disabled),
§5.7.17 DisableProfile (2 profileNotInEnabledState), §5.7.18 DeleteProfile (2 profileNotInDisabled
State), §5.7.20 SetNickname (1 iccidNotFound), §5.7.11 NotificationSent (1 nothingToDelete),
§2.4.2 / §5.7.9: a notification is generated for each operation the profile's metadata lists
(the rig's profiles list install/enable/disable/delete, the card's first profile none), with a
sequence number one above the last, never re-used.  The card starts with its first profile
(enabled) and two downloaded ones; after every step GetProfilesInfo and ListNotification must
match the model and the store must be consistent (conftest.consistency_violations).
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from euicc import provisioning
from euicc.composition import open_card
from tools.fuzz.rsp_host import RIG_ICCID, RspRig, packaged_upp
from tools.smdpp.orders import iccid_ef_coding

from .conftest import consistency_violations

SECOND_ICCID = "8900100000000000772"
UNKNOWN = iccid_ef_coding("8900100000000000999")
INSTALL, ENABLE, DISABLE, DELETE = "80", "40", "20", "10"    # NotificationEvent bits 0..3


@lru_cache(maxsize=1)
def base_state() -> Path:
    """A state file: the first ("minimal") profile enabled, two rig downloads disabled."""
    path = Path(tempfile.mkdtemp(prefix="euicc-sm-rsp-")) / "base.state"
    previous, provisioning.DEFAULT_FIRST_PROFILE = provisioning.DEFAULT_FIRST_PROFILE, "minimal"
    try:
        card = open_card(path)
        rig = RspRig(card.transmit, notify=True)
        rig.download(packaged_upp(RIG_ICCID))
        rig.download(packaged_upp(SECOND_ICCID))
        card.close()
    finally:
        provisioning.DEFAULT_FIRST_PROFILE = previous
    return path


@dataclass
class Model:
    profiles: dict[bytes, dict] = field(default_factory=dict)       # iccid -> state, nickname, notify
    notifications: dict[int, str] = field(default_factory=dict)      # seq -> event
    last_seq: int = 0

    def notify(self, iccid: bytes, event: str) -> None:
        if self.profiles[iccid]["notify"]:
            self.last_seq += 1
            self.notifications[self.last_seq] = event

    def enabled(self) -> bytes | None:
        return next((i for i, p in self.profiles.items() if p["state"] == 1), None)


class Es10Machine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="euicc-sm-rsp-"))
        shutil.copyfile(base_state(), self.dir / "card.state")
        self.card = open_card(self.dir / "card.state")
        self.rig = RspRig(self.card.transmit)
        self.model = Model()

    def teardown(self) -> None:
        self.card.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @initialize()
    def start(self) -> None:
        rig_iccids = {iccid_ef_coding(RIG_ICCID), iccid_ef_coding(SECOND_ICCID)}
        for info in self.rig.es10.get_profiles_info():
            self.model.profiles[info["iccid"]] = {"state": info["profileState"], "nickname": None,
                                                  "notify": info["iccid"] in rig_iccids}
        assert len(self.model.profiles) == 3 and self.model.enabled() not in rig_iccids
        self.model.notifications = {1: INSTALL, 2: INSTALL}
        self.model.last_seq = 2

    def iccids(self) -> st.SearchStrategy[bytes]:
        return st.sampled_from(sorted(self.model.profiles) + [UNKNOWN])

    # -- ES10c ------------------------------------------------------------------------------------
    @rule(data=st.data())
    def enable(self, data) -> None:
        iccid = data.draw(self.iccids())
        got = self.rig.es10.enable_profile(("iccid", iccid))
        profile = self.model.profiles.get(iccid)
        if profile is None:
            assert got == 1
            return
        if profile["state"] == 1:
            assert got == 2
            return
        assert got == 0
        previous = self.model.enabled()
        if previous is not None:
            self.model.profiles[previous]["state"] = 0
            self.model.notify(previous, DISABLE)
        profile["state"] = 1
        self.model.notify(iccid, ENABLE)

    @rule(data=st.data())
    def disable(self, data) -> None:
        iccid = data.draw(self.iccids())
        got = self.rig.es10.disable_profile(("iccid", iccid))
        profile = self.model.profiles.get(iccid)
        want = 1 if profile is None else 2 if profile["state"] != 1 else 0
        assert got == want
        if want == 0:
            profile["state"] = 0
            self.model.notify(iccid, DISABLE)

    @rule(data=st.data())
    def delete(self, data) -> None:
        iccid = data.draw(self.iccids())
        got = self.rig.es10.delete_profile(("iccid", iccid))
        profile = self.model.profiles.get(iccid)
        want = 1 if profile is None else 2 if profile["state"] == 1 else 0
        assert got == want
        if want == 0:
            self.model.notify(iccid, DELETE)
            del self.model.profiles[iccid]

    @rule(data=st.data(), name=st.sampled_from(["", "a", "work", "Ω-profile", "x" * 64]))
    def set_nickname(self, data, name: str) -> None:
        iccid = data.draw(self.iccids())
        got = self.rig.es10.set_nickname(iccid, name)
        profile = self.model.profiles.get(iccid)
        assert got == (1 if profile is None else 0)
        if profile is not None:
            profile["nickname"] = name

    @rule(data=st.data())
    def remove_notification(self, data) -> None:
        seq = data.draw(st.sampled_from(sorted(self.model.notifications) + [self.model.last_seq + 5]))
        got = self.rig.es10.remove_notification(seq)
        assert got == (0 if seq in self.model.notifications else 1)
        self.model.notifications.pop(seq, None)

    @rule()
    def reopen(self) -> None:
        """Power off and on: every committed change stays."""
        self.card.close()
        self.card = open_card(self.dir / "card.state")
        self.rig = RspRig(self.card.transmit)

    # -- after every step -------------------------------------------------------------------------
    @invariant()
    def profiles_match(self) -> None:
        got = {p["iccid"]: (p["profileState"], p.get("profileNickname"))
               for p in self.rig.es10.get_profiles_info()}
        want = {i: (p["state"], p["nickname"]) for i, p in self.model.profiles.items()}
        for iccid, (state, nickname) in want.items():          # an empty nickname may be omitted
            if nickname == "" and got.get(iccid, (None, None))[1] is None:
                want[iccid] = (state, None)
        assert got == want

    @invariant()
    def notifications_match(self) -> None:
        got = {n["seqNumber"]: n["profileManagementOperation"][0].hex()
               for n in self.rig.es10.list_notifications()}
        assert got == self.model.notifications

    @invariant()
    def store_is_consistent(self) -> None:
        assert consistency_violations(self.card) == []


Es10Machine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestEs10StateMachine = Es10Machine.TestCase
