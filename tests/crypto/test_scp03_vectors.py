"""Card side and host side of SCP03 against the 9 published sessions (GP Amd D, pySim traces)."""
from __future__ import annotations

import pytest

from euicc.apdu import Command
from euicc.crypto.scp03 import Scp03KeySet, Scp03Session, SecurityLevel, SessionState
from tests.crypto.helpers import ISD_R_AID, h
from tools.scp.scp03_host import HostKeySet, Scp03Host, kcv

CASES = ("case_1", "case_2", "case_3", "case_4")
SESSION_NAMES = [f"AES{n}_SL{sl}" for n in (128, 192, 256) for sl in ("11", "03", "33")]


def _session(vectors: dict, name: str) -> dict:
    return next(s for s in vectors["sessions"] if s["name"] == name)


def card_for(vectors: dict, s: dict) -> Scp03Session:
    keys = vectors["keysets"][s["keyset"]]
    counter = int(s["init_upd_rsp"][-6:], 16)
    key_set = Scp03KeySet(int(keys["kvn"], 16), h(keys["enc"]), h(keys["mac"]), h(keys["dek"]), counter - 1)
    return Scp03Session({key_set.kvn: key_set}, ISD_R_AID)


def host_for(vectors: dict, s: dict) -> Scp03Host:
    keys = vectors["keysets"][s["keyset"]]
    host_keys = HostKeySet(int(keys["kvn"], 16), h(keys["enc"]), h(keys["mac"]), h(keys["dek"]))
    return Scp03Host(host_keys, int(s["security_level"], 16), host_challenge=h(s["init_upd_cmd"])[5:13])


def test_all_nine_sessions_present(scp03_vectors):
    assert sorted(s["name"] for s in scp03_vectors["sessions"]) == sorted(SESSION_NAMES)


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_card_reproduces_session(scp03_vectors, name):
    s = _session(scp03_vectors, name)
    plain = scp03_vectors["plain_apdus"]
    card = card_for(scp03_vectors, s)
    assert card.initialize_update(Command.parse(h(s["init_upd_cmd"]))) == h(s["init_upd_rsp"])
    assert card.key_set is not None and card.key_set.sequence_counter == int(s["init_upd_rsp"][-6:], 16)
    assert card.external_authenticate(Command.parse(h(s["ext_auth_cmd"]))) == b""
    assert card.state is SessionState.AUTHENTICATED
    assert card.security_level == SecurityLevel(int(s["security_level"], 16))
    get_eid = card.unwrap(Command.parse(h(s["get_eid_cmd"])))
    expected = Command.parse(h(plain["get_eid"]))
    assert (get_eid.cla, get_eid.ins, get_eid.p1, get_eid.p2, get_eid.data, get_eid.ne) == (
        expected.cla, expected.ins, expected.p1, expected.p2, expected.data, expected.ne)
    assert card.wrap(h(plain["get_eid_rsp"])) == h(s["get_eid_rsp"])
    for case in CASES:
        got = card.unwrap(Command.parse(h(s[f"{case}_apdu"])))
        want = Command.parse(h(plain[case]))
        assert (got.cla, got.ins, got.p1, got.p2, got.data, got.ne, got.case, got.secure_messaging) == (
            want.cla, want.ins, want.p1, want.p2, want.data, want.ne, want.case, False)


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_host_reproduces_session(scp03_vectors, name):
    s = _session(scp03_vectors, name)
    plain = scp03_vectors["plain_apdus"]
    host = host_for(scp03_vectors, s)
    assert host.initialize_update() == h(s["init_upd_cmd"])
    host.process_initialize_update(h(s["init_upd_rsp"]), sd_aid=ISD_R_AID)
    assert host.sequence_counter == int(s["init_upd_rsp"][-6:], 16)
    assert host.external_authenticate() == h(s["ext_auth_cmd"])
    assert host.wrap(h(plain["get_eid"])) == h(s["get_eid_cmd"])
    assert host.unwrap(h(s["get_eid_rsp"]), 0x9000) == h(plain["get_eid_rsp"])
    for case in CASES:
        assert host.wrap(h(plain[case])) == h(s[f"{case}_apdu"])


def test_host_kcv(scp03_vectors):
    keys = scp03_vectors["keysets"]["AES128"]
    for name in ("enc", "mac", "dek"):
        assert kcv(h(keys[name])) == h(scp03_vectors["kcv"][name])
