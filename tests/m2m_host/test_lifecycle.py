"""SGP.02 life cycle end to end, in-process: test SM-SR + SM-DP + terminal against Card.transmit.

CreateISDP, ES8 key establishment with the ECASD, download of a TS.48 profile over SCP03t, enable
with the notification confirmed, fall-back after network loss (location status 'no service'), return
by the SM-SR, SM-SR change after which the old SM-SR's keys are refused (tools.smsr.lifecycle runs
the steps; :func:`check_life_cycle` holds the spec's expectations, shared with the PC/SC test).
Every expectation comes from SGP.02 (SPEC_NOTES §2); these tests fail (never skip) when the card
side misbehaves.
"""
from __future__ import annotations

import pytest

from euicc.card import Card
from euicc.composition import open_card
from tests.m2m_host.m2m_world import TS48, Pki, connect, personalise
from tools.smsr import es5
from tools.smsr.handover import change_smsr
from tools.smsr.lifecycle import LifeCycle, run_life_cycle
from tools.smsr.smsr import CommandFailed, OtaFailure


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


def check_life_cycle(record: LifeCycle) -> None:
    """Every step of the SGP.02 life cycle against what the spec says it leaves behind."""
    new, old = record.isdp, record.original
    assert record.step("audit").states[old] == "ENABLED"
    assert new not in record.step("audit").states
    # CreateISDP (§4.1.1.1): SELECTABLE; ES8 key establishment: PERSONALIZED; download: DISABLED
    assert record.step("CreateISDP").states[new] == "SELECTABLE"
    assert record.step("EstablishISDPKeySet").states[new] == "PERSONALIZED"
    assert record.step("DownloadAndInstallation").states[new] == "DISABLED"
    assert record.step("DownloadAndInstallation").resets == 0
    assert record.step("SetFallBackAttribute").states == record.step("DownloadAndInstallation").states
    # EnableProfile (§4.1.1.2): REFRESH, notification '02' for the new ISD-P, confirmed (§4.1.1.12)
    enable = record.step("EnableProfile")
    assert enable.resets >= 1
    assert (0x02, new) in enable.notifications
    assert enable.states[new] == "ENABLED" and enable.states[old] == "DISABLED"
    # Fall-Back (§3.18) after location status 'no service': REFRESH, '05' for the Fall-Back profile
    fallback = record.step("Fall-Back")
    assert fallback.resets >= 1
    assert (0x05, old) in fallback.notifications
    assert fallback.states[old] == "ENABLED" and fallback.states[new] == "DISABLED"
    # return from Fall-Back by ES5.EnableProfile: '02' again
    back = record.step("ReturnFromFallBack")
    assert back.resets >= 1 and (0x02, new) in back.notifications
    assert back.states[new] == "ENABLED" and back.states[old] == "DISABLED"
    # SM-SR change (§3.8): the new SM-SR audits the card, the old one's key set is gone
    assert record.step("SM-SR change").states == back.states
    assert record.old_smsr_refused is not None
    assert record.new_smsr is not None and record.new_smsr.keyset.kvn != 1


def test_audit_reads_ecasd_certificate_and_isdps(world):
    entries = world.smsr.audit()
    assert world.smsr.eis.ecasd_certificate == world.pki.ecasd_cert
    assert len(enabled(entries)) == 1  # the card ships one enabled test profile
    # the ECASD (SGP.02 Annex H: TAR '000002') is a security domain, not an ISD-P
    assert bytes.fromhex("A0000005591010FFFFFFFF8900000200") not in {e.aid for e in entries}


def test_create_isdp_is_selectable(world):
    isdp = world.smsr.create_isdp()
    status = {e.aid: e for e in world.smsr.audit()}
    assert status[isdp].state == "SELECTABLE"
    with pytest.raises(CommandFailed):
        world.smsr.create_isdp(isdp)  # same AID twice


def test_full_life_cycle(world):
    record = run_life_cycle(world, TS48.read_bytes())
    check_life_cycle(record)
    # the enabled profile cannot be deleted ('6985'), now asked by the new SM-SR
    with pytest.raises(CommandFailed) as refused:
        record.new_smsr.delete_profile(record.isdp)
    assert refused.value.sw == 0x6985


def test_enabled_profile_cannot_be_deleted(world):
    isdp = download(world)
    world.smsr.enable_profile(isdp)
    with pytest.raises(CommandFailed) as refused:
        world.smsr.delete_profile(isdp)
    assert refused.value.sw == 0x6985


def test_smsr_change_refuses_old_keys(world):
    smsr = world.smsr
    smsr.audit()
    ecasd = world.smdp.ecasd_public_key(smsr.eis.ecasd_certificate)
    new = change_smsr(smsr, world.pki.smsr2, world.pki.smsr2_cert, ecasd)
    assert enabled(new.audit())
    assert list(new.eis.keysets) == [0x02] and list(new.eis.psk_keysets) == [0x40]   # SCP80 and SCP81 key sets
    assert new.eis.eid == smsr.eis.eid and new.eis.audit[0].startswith("taken over")  # the ES7 EIS, not a copy
    with pytest.raises(OtaFailure):
        smsr.audit()


def test_smsr_change_with_untrusted_certificate_fails(world):
    from cryptography.hazmat.primitives.asymmetric import ec

    from tools.smsr.gp_certificate import ROLE_SM_SR, build_certificate

    rogue_ci = ec.generate_private_key(ec.SECP256R1())
    rogue = build_certificate(rogue_ci, world.pki.smsr2.public_key(), serial=b"\x09", ca_id=b"X",
                              subject_id=b"SMSR2", role=ROLE_SM_SR)
    world.smsr.audit()
    ecasd = world.smdp.ecasd_public_key(world.smsr.eis.ecasd_certificate)
    with pytest.raises(CommandFailed):
        change_smsr(world.smsr, world.pki.smsr2, rogue, ecasd)
    assert enabled(world.smsr.audit())  # the old SM-SR still manages the card


def test_return_from_fallback_signalled_by_the_terminal():
    """The card returns by itself once ``fallback_return_after`` has passed: the terminal's next
    location status event is the signal (SPEC_NOTES §2.7 [R]); the SM-SR sees '05' then '02'."""
    from euicc.m2m.runtime import M2mRuntime
    from tools.terminal import cat
    now = [1000.0]
    runtime = M2mRuntime(clock=lambda: now[0])
    pki, card = Pki.create(), open_card(None, m2m=runtime)
    personalise(card.store, pki)
    world = connect(card.transmit, card.reset, pki)
    smsr, terminal = world.smsr, world.terminal
    original = enabled(smsr.audit())[0]
    isdp = download(world)
    smsr.set_fallback_attribute(original)
    smsr.enable_profile(isdp)
    terminal.location_status(cat.NORMAL_SERVICE)
    smsr.confirm_all()
    terminal.location_status(cat.NO_SERVICE)
    terminal.location_status(cat.NORMAL_SERVICE)
    assert [(n.type, n.isdp_aid) for n in smsr.confirm_all()] == [(0x05, original)]
    now[0] += runtime.settings.fallback_return_after
    resets = terminal.record.resets
    terminal.location_status(cat.NORMAL_SERVICE)
    assert terminal.record.resets > resets                       # REFRESH for the return
    terminal.location_status(cat.NORMAL_SERVICE)
    assert [(n.type, n.isdp_aid) for n in smsr.confirm_all()] == [(0x02, isdp)]
    assert enabled(smsr.audit()) == [isdp]
    card.close()
