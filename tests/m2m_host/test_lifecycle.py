"""SGP.02 life cycle end to end, in-process: test SM-SR + SM-DP + terminal against Card.transmit.

CreateISDP, ES8 key establishment with the ECASD, download of a TS.48 profile over SCP03t, enable
with the notification confirmed, fall-back after network loss, SM-SR change after which the old
SM-SR's keys are refused.  Every expectation comes from SGP.02 (SPEC_NOTES §2); these tests fail
(never skip) when the card side misbehaves.
"""
from __future__ import annotations

import pytest

from euicc.card import Card
from tests.m2m_host.m2m_world import TS48, Pki, connect, personalise
from tools.smsr import es5
from tools.smsr.handover import change_smsr
from tools.smsr.smsr import CommandFailed, OtaFailure
from tools.terminal import cat


@pytest.fixture
def world():
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    pki = Pki.create()
    card = Card.open(None)
    personalise(card.store, pki)
    yield connect(card.transmit, card.reset, pki)
    card.close()


def enabled(entries: list[es5.IsdpStatus]) -> list[bytes]:
    return [e.aid for e in entries if e.state == "ENABLED"]


def download(world) -> bytes:
    smsr, smdp = world.smsr, world.smdp
    isdp = smsr.create_isdp()
    smsr.audit()
    ecasd = smdp.ecasd_public_key(smsr.eis.ecasd_certificate, world.pki.eum.public_key())
    smdp.establish_isdp_keyset(isdp, ecasd)
    smdp.download_profile(isdp, TS48.read_bytes())
    return isdp


def test_audit_reads_ecasd_certificate_and_isdps(world):
    entries = world.smsr.audit()
    assert world.smsr.eis.ecasd_certificate == world.pki.ecasd_cert
    assert len(enabled(entries)) == 1  # the card ships one enabled test profile


def test_create_isdp_is_selectable(world):
    isdp = world.smsr.create_isdp()
    status = {e.aid: e for e in world.smsr.audit()}
    assert status[isdp].state == "SELECTABLE"
    with pytest.raises(CommandFailed):
        world.smsr.create_isdp(isdp)  # same AID twice


def test_full_life_cycle(world):
    smsr, terminal = world.smsr, world.terminal
    original = enabled(smsr.audit())[0]
    isdp = download(world)
    status = {e.aid: e for e in smsr.audit()}
    assert status[isdp].state == "DISABLED"

    # enable: REFRESH (reset), then a notification after attach, confirmed by the SM-SR
    smsr.set_fallback_attribute(original)
    smsr.enable_profile(isdp)
    assert terminal.record.resets >= 2
    terminal.location_status(cat.NORMAL_SERVICE, force=True)
    assert any(n.type == 0x02 and n.isdp_aid == isdp for n in smsr.notifications), smsr.notifications
    smsr.confirm_all()
    status = {e.aid: e for e in smsr.audit()}
    assert status[isdp].state == "ENABLED" and status[original].state == "DISABLED"
    assert status[original].fallback

    # the enabled profile cannot be deleted (SGP.02: '6985')
    with pytest.raises(CommandFailed) as refused:
        smsr.delete_profile(isdp)
    assert refused.value.sw == 0x6985

    # network lost: the eUICC falls back to the profile with the Fall-back Attribute
    resets = terminal.record.resets
    terminal.location_status(cat.NO_SERVICE, force=True)
    assert terminal.record.resets > resets
    terminal.location_status(cat.NORMAL_SERVICE, force=True)
    assert any(n.type == 0x05 for n in smsr.notifications), smsr.notifications
    smsr.confirm_all()
    assert enabled(smsr.audit()) == [original]


def test_smsr_change_refuses_old_keys(world):
    smsr = world.smsr
    smsr.audit()
    ecasd = world.smdp.ecasd_public_key(smsr.eis.ecasd_certificate)
    new = change_smsr(smsr, world.pki.smsr2, world.pki.smsr2_cert, ecasd)
    assert enabled(new.audit())
    with pytest.raises(OtaFailure):
        smsr.audit()


def test_smsr_change_with_untrusted_certificate_fails(world):
    from tools.smsr.gp_certificate import ROLE_SM_SR, build_certificate
    from cryptography.hazmat.primitives.asymmetric import ec

    rogue_ci = ec.generate_private_key(ec.SECP256R1())
    rogue = build_certificate(rogue_ci, world.pki.smsr2.public_key(), serial=b"\x09", ca_id=b"X",
                              subject_id=b"SMSR2", role=ROLE_SM_SR)
    world.smsr.audit()
    ecasd = world.smdp.ecasd_public_key(world.smsr.eis.ecasd_certificate)
    with pytest.raises(CommandFailed):
        change_smsr(world.smsr, world.pki.smsr2, rogue, ecasd)
    assert enabled(world.smsr.audit())  # the old SM-SR still manages the card
