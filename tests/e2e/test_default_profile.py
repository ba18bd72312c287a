"""The out-of-the-box card through PC/SC: `euicc-emu run` on a new state carries one enabled test
profile (made by the profile builder) with a working USIM — TS 31.102 §4.2.2 EF.IMSI, §7.1.2
AUTHENTICATE — checked against Debian's osmo-auc-gen as an independent Milenage."""
from __future__ import annotations

import re
import subprocess

import pytest

from tests.pcsc_fixtures import SLOT
from tests.e2e.pcsc_host import T0Link

pytestmark = pytest.mark.pcsc

K = "465b5ce8b199b49faa5f0a2ee238a6bc"          # 3GPP TS 35.208 test set 1
OPC = "cd63cb71954a9f4e48a5994e37a02baf"
RAND = "23553cbe9637a89d218ae64dae47bf35"


def osmo_auc_gen(sqn: int) -> dict[str, str]:
    out = subprocess.run(["osmo-auc-gen", "-3", "-a", "milenage", "-k", K, "-o", OPC, "-r", RAND,
                          "-s", str(sqn), "-f", "8000"], capture_output=True, text=True, check=True)
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\w+):\s*([0-9a-f]+)$", out.stdout, re.M)}


def test_default_card_has_a_working_usim(start_card):
    start_card(first_profile="test")
    link = T0Link(SLOT)
    try:
        # SELECT ADF.USIM by its right-truncated AID (RID + application code, TS 101 220 Annex E)
        data, sw = link.send(bytes.fromhex("00A4040407A0000000871002"))
        assert sw == 0x9000 and data[:1] == b"\x62"
        data, sw = link.send(bytes.fromhex("00A4000C026F07"))
        assert sw == 0x9000
        data, sw = link.send(bytes.fromhex("00B0000009"))
        assert sw == 0x9000
        imsi = "".join(f"{b & 0xF:X}{b >> 4:X}" for b in data[1:1 + data[0]])[1:].rstrip("F")
        assert imsi == "001010000000001"
        v = osmo_auc_gen(sqn=1 << 5)          # SEQ 1, IND 0: fresh on a new card
        cmd = bytes.fromhex("0088008122" + "10" + RAND + "10" + v["AUTN"])
        data, sw = link.send(cmd)
        assert sw == 0x9000, f"{sw:04X}"
        assert data.hex().startswith("db08" + v["RES"] + "10" + v["CK"] + "10" + v["IK"])
    finally:
        link.close()
