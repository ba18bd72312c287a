"""Known answers for the KDFs: GP Amd D §4.1.5 (SCP03 traces) and SGP.22 Annex G (X9.63)."""
from __future__ import annotations

import pytest

from euicc.crypto.kdf import DerivationConstant, scp03_kdf, x963_kdf
from euicc.crypto.scp03 import key_check_value
from tests.crypto.helpers import ISD_R_AID, h
from tests.vectors import cases, section

SCP03 = section("scp03_gp_amd_d")
BSP = section("sgp22_bsp_scp03t")


@pytest.mark.parametrize("s", cases(SCP03["sessions"], lambda s: s["name"]))
def test_pseudo_random_card_challenge_and_card_cryptogram(s):
    keys = SCP03["keysets"][s["keyset"]]
    rsp = h(s["init_upd_rsp"])
    host_challenge = h(s["init_upd_cmd"])[5:13]
    card_challenge, cryptogram, counter = rsp[13:21], rsp[21:29], rsp[29:32]
    challenge = scp03_kdf(h(keys["enc"]), DerivationConstant.CARD_CHALLENGE, counter + ISD_R_AID, 64)
    assert challenge == card_challenge
    context = host_challenge + card_challenge
    bits = 8 * len(h(keys["mac"]))
    s_mac = scp03_kdf(h(keys["mac"]), DerivationConstant.S_MAC, context, bits)
    assert len(s_mac) == bits // 8
    assert scp03_kdf(s_mac, DerivationConstant.CARD_CRYPTOGRAM, context, 64) == cryptogram


@pytest.mark.parametrize("name", ("enc", "mac", "dek"))
def test_key_check_values(name):
    kcv = SCP03["kcv"]
    keys = SCP03["keysets"][kcv["for_keyset"]]
    assert key_check_value(h(keys[name])) == h(kcv[name])


@pytest.mark.parametrize("v", cases(BSP["kdf"], lambda v: f"secret-{v['shared_secret'][:8]}"))
def test_x963_kdf_known_answers(v):
    # SharedInfo written out by hand from SGP.22 Annex G: 88 || 10 || 08 hostId || 10 EID
    info = h("8810") + b"\x08" + h(v["hostId"]) + b"\x10" + h(v["EID"])
    assert x963_kdf(h(v["shared_secret"]), info, 48) == h(v["initial_MCV"] + v["S_ENC"] + v["S_MAC"])


@pytest.mark.parametrize("key, bits", [(bytes(15), 128), (bytes(16), 100), (bytes(16), 512)])
def test_scp03_kdf_rejects_bad_parameters(key, bits):
    with pytest.raises(ValueError):
        scp03_kdf(key, DerivationConstant.S_ENC, b"", bits)
