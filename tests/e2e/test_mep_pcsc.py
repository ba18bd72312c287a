"""SGP.22 v3 Multiple Enabled Profiles through pcscd + vpcd: `euicc-emu run --mep A1|B`, the LPA
command line enabling a second profile on another eSIM port (`lpa profile enable ICCID --port N`,
`lpa --lsi N`), `lpa profile list` showing the ports, and a PC/SC client reading two USIMs with
different IMSIs, one per port, after MANAGE LSI "select LSI" (TS 102 221 V17 §7.5; CLA '80'
INS '7C' P1 '00' P2 = the LSI, as public APDU decoders code it).

The card's state is made in process first (the card's default test profile, IMSI 001010000000001
per the README, and the TS.48 v7 GTP profile downloaded with the test SM-DP+ of tests/rsp, its
EF.IMSI in the UPP 001010123456789); everything after that goes through PC/SC.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.rsp import mep
from euicc.rsp.identity import import_identity
from tests.e2e.pcsc_host import REPO, T0Link, reader_name
from tests.pcsc_fixtures import SLOT
from tests.rsp import flow
from tests.rsp.helpers import SGP26, TS48_ICCID, Lpa, metadata

pytestmark = pytest.mark.pcsc

DEFAULT_ICCID, DEFAULT_IMSI, TS48_IMSI = "89001000000000000010", "001010000000001", "001010123456789"


def make_state(path, mode: str) -> None:
    card = open_card(path, CardConfig(ports=mep.layout(mode)), "test")
    try:
        import_identity(card.store, SGP26)
        lpa = Lpa(card)
        lpa.select_isd_r()
        assert flow.full_download(lpa, meta=metadata())["finalResult"][0] == "successResult"
    finally:
        card.close()


def lpa(pcscd, tmp_path, *argv: str, status: int = 0):
    """`euicc-emu lpa --reader R ARGV` as a subprocess: its JSON output (exit status `status`)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "tools.cli", "lpa", "--reader", reader_name(pcscd), *argv],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == status, f"lpa {' '.join(argv)}: {out.stdout}{out.stderr}"
    return json.loads(out.stdout)


def imsis(ports: list[int]) -> dict[int, str]:
    """EF.IMSI (TS 31.102 §4.2.2) of the USIM on each LSI, one PC/SC connection."""
    link = T0Link(SLOT)
    out = {}
    try:
        for lsi in ports:
            assert link.send(bytes((0x80, 0x7C, 0x00, lsi)))[1] == 0x9000
            assert link.send(bytes.fromhex("00A4040C07A0000000871002"))[1] == 0x9000
            assert link.send(bytes.fromhex("00A4000C026F07"))[1] == 0x9000
            data, sw = link.send(bytes.fromhex("00B0000009"))
            assert sw == 0x9000
            out[lsi] = "".join(f"{b & 0xF:X}{b >> 4:X}" for b in data[1:1 + data[0]])[1:].rstrip("F")
    finally:
        link.close()
    return out


def ports_listed(pcscd, tmp_path, *argv: str) -> dict[str, int | None]:
    return {p["iccid"]: p.get("esimPort") for p in lpa(pcscd, tmp_path, *argv, "profile", "list")}


def test_mep_a1_two_ports_two_usims(start_card, pcscd, tmp_path):
    state = tmp_path / "a1.state"
    make_state(state, mep.A1)
    start_card(state, ["--mep", "A1"])
    assert ports_listed(pcscd, tmp_path) == {DEFAULT_ICCID: 1, TS48_ICCID: None}
    # port 0 is the ISD-R's (SGP.22 v3 §2.12 MEP-A1): noEsimPortAvailable (10), nothing changes
    assert lpa(pcscd, tmp_path, "profile", "enable", TS48_ICCID, "--port", "0", status=1) == {"result": 10}
    assert lpa(pcscd, tmp_path, "profile", "enable", TS48_ICCID, "--port", "2") == {"result": 0, "esimPort": 2}
    assert ports_listed(pcscd, tmp_path) == {DEFAULT_ICCID: 1, TS48_ICCID: 2}
    assert imsis([1, 2]) == {1: DEFAULT_IMSI, 2: TS48_IMSI}


def test_mep_b_enable_sent_on_the_target_port(start_card, pcscd, tmp_path):
    state = tmp_path / "b.state"
    make_state(state, mep.B)
    start_card(state, ["--mep", "B"])
    assert ports_listed(pcscd, tmp_path) == {DEFAULT_ICCID: 0, TS48_ICCID: None}
    assert lpa(pcscd, tmp_path, "--lsi", "1", "profile", "enable", TS48_ICCID) == {"result": 0, "esimPort": 1}
    assert ports_listed(pcscd, tmp_path, "--lsi", "1") == {DEFAULT_ICCID: 0, TS48_ICCID: 1}
    assert imsis([0, 1]) == {0: DEFAULT_IMSI, 1: TS48_IMSI}


def test_mep_b_disable_with_cat_on_the_target_port(start_card, pcscd, tmp_path):
    """MEP-B (SGP.22 v3.1 §2.12): once the terminal has initialised CAT on port 1 (TERMINAL PROFILE
    there), DisableProfile of the profile on port 1 must be sent on port 1: from port 0 the card
    answers disableResult commandError (7, [U] euicc.rsp.mep), on port 1 ok (0).  One PC/SC
    connection (the terminal's CAT state lives as long as the card session).  DisableProfileRequest
    encoded with the published v3.1 module; answers 'BF32 03 80 01 xx' from its automatic tags."""
    from tests.rsp.helpers import swap
    from tests.rsp.rpm_host import compile_v3

    state = tmp_path / "b.state"
    make_state(state, mep.B)
    start_card(state, ["--mep", "B"])
    assert lpa(pcscd, tmp_path, "--lsi", "1", "profile", "enable", TS48_ICCID) == {"result": 0, "esimPort": 1}
    disable = compile_v3().encode("DisableProfileRequest", {"profileIdentifier": ("iccid", swap(TS48_ICCID)),
                                                            "refreshFlag": False})
    store_data = bytes((0x80, 0xE2, 0x91, 0x00, len(disable))) + disable
    select_isd_r = bytes.fromhex("00A4040010A0000005591010FFFFFFFF8900000100")
    link = T0Link(SLOT)
    try:
        assert link.send(bytes.fromhex("807C0001"))[1] == 0x9000                 # port 1
        assert link.send(bytes.fromhex("8010000003FFFFFF"))[1] == 0x9000         # TERMINAL PROFILE
        assert link.send(bytes.fromhex("807C0000"))[1] == 0x9000                 # port 0
        assert link.send(select_isd_r)[1] == 0x9000
        assert link.send(store_data) == (bytes.fromhex("BF3203800107"), 0x9000)
        assert link.send(bytes.fromhex("807C0001"))[1] == 0x9000
        assert link.send(select_isd_r)[1] == 0x9000
        assert link.send(store_data) == (bytes.fromhex("BF3203800100"), 0x9000)
    finally:
        link.close()
