"""RFM to a profile installed by SGP.02 (ES8 download over SCP03t, ES5.EnableProfile), with the
profile's own key set and TAR decoded from the TS.48 v7 package by the host (TS 102 226 §7): the
same routing as for an SGP.22 download (tests/ota/test_profile_ota.py)."""
from __future__ import annotations

from tests.m2m import host
from tests.ota.profile_ota_host import PACKAGE, USIM_AID, package_ota, read_ef

EF_SPN = 0x6F46
NEW_SPN = bytes.fromhex("01") + b"SGP.02 RFM"


def test_rfm_to_a_profile_installed_by_sgp02(card_world):
    card, world = card_world
    smsr, smdp = world.smsr, world.smdp
    isdp = smsr.create_isdp()
    smsr.audit()
    smdp.establish_isdp_keyset(isdp, smdp.ecasd_public_key(smsr.eis.ecasd_certificate, world.pki.eum.public_key()))
    smdp.download_profile(isdp, PACKAGE.read_bytes())
    smsr.enable_profile(isdp)
    package = package_ota()
    terminal = host.Terminal(card)
    terminal.terminal_profile()
    mno = host.OtaServer(terminal, package.keyset(0x88))
    update = bytes([0x00, 0xD6, 0x00, 0x00, len(NEW_SPN)]) + NEW_SPN
    assert mno.run([bytes.fromhex("00A4000C026F46"), update], tar=package.rfm_tar(USIM_AID))[-1][1] == 0x9000
    assert read_ef(terminal, EF_SPN, len(NEW_SPN)) == NEW_SPN
