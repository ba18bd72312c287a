"""Each fault kind as a PC/SC host sees it: pyscard -> pcscd -> ifd-vpcd -> euicc-emu run --fault-control.

Expected values come from the specs (ISO 7816-4 §5.6/§7.6.1, TS 102 221 §7.3.1, TS 102 223 §6.6.1,
SGP.22 §5.7 decoded with the reference ASN.1 module), not from card code.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e.pcsc_host import T0Link, card_present
from tests.instrument.helpers import GET_EID, ISD_R, SELECT_ISD_R, sgp22, store_data, tlv
from tests.pcsc_fixtures import SLOT
from vpcd_bridge.control import request

pytestmark = pytest.mark.pcsc

TID = bytes.fromhex("A1A2A3A4A5A6A7A8")
ICCID = bytes.fromhex("98880100000000000013")          # the minimal profile's 89881000000000000031
PROFILES_INFO = store_data(tlv(0xBF2D, b""))[0]       # SGP.22 §5.7.15 GetProfilesInfo, no filter


@pytest.fixture
def rig(start_card, tmp_path):
    """(card process, control(message) -> reply, trace path, link) with a control socket."""
    short = Path(tempfile.mkdtemp(prefix="flt", dir="/tmp"))
    control, trace = short / "c", tmp_path / "trace.txt"
    proc = start_card(extra=["--fault-control", str(control), "--trace", str(trace)])
    links: list[T0Link] = []

    def ctl(message: dict) -> dict:
        reply = request(control, message)
        assert reply["ok"], reply
        return reply

    def link() -> T0Link:
        links.append(T0Link(SLOT))
        return links[-1]

    yield proc, ctl, trace, link
    for each in links:
        each.close()
    shutil.rmtree(short, ignore_errors=True)


def _wait(present: bool, timeout: float = 10.0) -> float:
    start = time.monotonic()
    while card_present(SLOT) != present:
        assert time.monotonic() - start < timeout, f"card {'absent' if present else 'present'} after {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


def _wait_reinserted() -> None:
    """Until pcscd has seen the card go (the link closed) and come back (absent_ms later)."""
    _wait(present=False)
    _wait(present=True)


def set_nickname(host: T0Link, name: bytes) -> int:
    data, sw = host.send(store_data(tlv(0xBF29, tlv(0x5A, ICCID) + tlv(0x90, name)))[0])
    assert sw == 0x9000
    return sgp22().decode("SetNicknameResponse", data)["setNicknameResult"]


def test_forced_sw_on_select_by_aid(rig):
    _, ctl, trace, link = rig
    ctl({"op": "add", "rule": {"match": {"aid": ISD_R.hex()}, "action": "sw", "sw": "6A82"}})
    host = link()
    assert host.raw(SELECT_ISD_R) == (b"", 0x6A82)
    assert host.raw(SELECT_ISD_R)[1] >> 8 == 0x61               # once: the card answers again
    assert "!! fault 1 (sw): forced SW 6A82" in trace.read_text()


def test_forced_es10_error_through_get_response(rig):
    _, ctl, _, link = rig
    ctl({"op": "add", "rule": {"match": {"es10": "BF38"}, "action": "es10_error", "error": "invalidCertificate"}})
    host = link()
    host.send(SELECT_ISD_R)
    command = store_data(tlv(0xBF38, tlv(0x30, tlv(0x80, TID) + tlv(0x83, b"smdp.example"))))[0]
    first = host.raw(command)
    assert first[1] >> 8 == 0x61                                  # T=0: data announced ...
    data, sw = host.raw(bytes((0x00, 0xC0, 0x00, 0x00, first[1] & 0xFF)))   # ... and fetched
    assert sw == 0x9000
    assert sgp22().decode("AuthenticateServerResponse", data) == (
        "authenticateResponseError", {"transactionId": TID, "authenticateErrorCode": 1})


def test_delay(rig):
    _, ctl, _, link = rig
    host = link()
    host.send(SELECT_ISD_R)
    ctl({"op": "add", "rule": {"match": {"ins": "CA"}, "action": "delay", "ms": 400}})
    start = time.monotonic()
    data, sw = host.raw(GET_EID)
    assert time.monotonic() - start >= 0.4 and sw == 0x9000 and data[:2] == b"\x5a\x10"


def test_drop_blocks_the_host_until_the_link_closes(rig):
    from smartcard.Exceptions import CardConnectionException

    _, ctl, trace, link = rig
    host = link()
    host.send(SELECT_ISD_R)
    ctl({"op": "add", "rule": {"match": {"ins": "CA"}, "action": "drop", "hold_ms": 1000, "absent_ms": 1000}})
    start = time.monotonic()
    with pytest.raises(CardConnectionException):
        host.raw(GET_EID)
    waited = time.monotonic() - start
    assert 1.0 <= waited < 10.0
    _wait_reinserted()
    again = link()
    assert again.send(SELECT_ISD_R)[1] == 0x9000
    assert "no answer" in trace.read_text()


def test_wrong_length(rig):
    _, ctl, _, link = rig
    host = link()
    host.send(SELECT_ISD_R)
    right = host.raw(GET_EID)
    ctl({"op": "add", "rule": {"match": {"ins": "CA"}, "action": "wrong_length", "delta": -2}})
    assert host.raw(GET_EID) == (right[0][:-2], 0x9000)          # Le = 18, 16 bytes came


def test_needless_61xx_chaining(rig):
    _, ctl, _, link = rig
    host = link()
    host.send(SELECT_ISD_R)
    right = host.raw(GET_EID)
    ctl({"op": "add", "rule": {"match": {"ins": "CA"}, "action": "chain", "chunk": 6}})
    first = host.raw(GET_EID)
    assert first == (right[0][:6], 0x610C)                       # 6 bytes, 12 more waiting
    rest, sw = host.send(bytes.fromhex("00C000000C"))              # T0Link follows the chain
    assert (first[0] + rest, sw) == right


def test_unexpected_proactive_command(rig):
    _, ctl, _, link = rig
    host = link()
    host.send(SELECT_ISD_R)
    ctl({"op": "add", "rule": {"match": {"ins": "CA"}, "action": "proactive"}})
    data, sw = host.raw(GET_EID)
    assert data[:2] == b"\x5a\x10" and sw >> 8 == 0x91
    command, fetch_sw = host.raw(bytes((0x80, 0x12, 0x00, 0x00, sw & 0xFF)))
    assert fetch_sw == 0x9000 and len(command) == sw & 0xFF
    assert command[0] == 0xD0 and command[2:7] == bytes.fromhex("8103012180")   # DISPLAY TEXT
    assert host.raw(bytes.fromhex("801400000C810301218082028281830100")) == (b"", 0x9000)


def test_removal_and_reinsertion(rig):
    from smartcard.Exceptions import CardConnectionException

    _, ctl, _, link = rig
    host = link()
    host.send(SELECT_ISD_R)
    ctl({"op": "eject", "absent_ms": 1500})
    _wait(present=False)
    with pytest.raises(CardConnectionException):
        host.raw(GET_EID)
    _wait(present=True)
    assert link().send(SELECT_ISD_R)[1] == 0x9000


def test_power_cut_after_n_commands_keeps_persistent_state(rig):
    """Three commands pass, the fourth (a SetNickname) loses power at its first NVM write; after the
    card is back its persistent state is the one before (SGP.22 ProfileInfo profileNickname)."""
    from smartcard.Exceptions import CardConnectionException

    _, ctl, trace, link = rig
    host = link()
    host.send(SELECT_ISD_R)
    assert set_nickname(host, b"before") == 0                    # ok(0)
    ctl({"op": "add", "rule": {"action": "power_cut", "skip": 3, "write": 1}})
    for _ in range(3):
        assert host.raw(SELECT_ISD_R)[1] >> 8 == 0x61
    with pytest.raises(CardConnectionException):
        set_nickname(host, b"during")
    _wait_reinserted()
    again = link()
    again.send(SELECT_ISD_R)
    data, sw = again.send(PROFILES_INFO)
    kind, profiles = sgp22().decode("ProfileInfoListResponse", data)
    assert (sw, kind) == (0x9000, "profileInfoListOk")
    assert [p.get("profileNickname") for p in profiles] == ["before"]
    assert "power lost at NVM write 1" in trace.read_text()


def test_rules_from_a_file_at_start_and_the_default_control_socket(start_card, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text('[{"match": {"ins": "A4", "p1": "04"}, "action": "sw", "sw": "6999", "skip": 1}]')
    start_card(extra=["--faults", str(rules)])
    host = T0Link(SLOT)
    try:
        assert host.raw(SELECT_ISD_R)[1] >> 8 == 0x61            # skip 1
        assert host.raw(SELECT_ISD_R) == (b"", 0x6999)
    finally:
        host.close()
    listing = request(tmp_path / "card.state.control", {"op": "list"})
    assert listing["rules"][0]["fired"] == 1 and listing["rules"][0]["seen"] == 2
