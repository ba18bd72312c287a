"""ES8.UpdateConnectivityParameters (GSMA SGP.02 v4.2 §4.1.3.4) against an in-process card: the SM-DP
opens an SCP03 session in APDU mode with the ISD-P through the SM-SR and sends STORE DATA DGI '3A07'.

Expected bytes come from the spec's coding (SPEC_NOTES §2.3: '3A07' {'A0' {'06' TON/NPI || BCD SMS-C}},
the public WHTY vector '3A07 {A0 {06 07 91 33 86 99 42 11 F1}}' for SMS-C +33689924111), not from card
code; the record the card keeps the parameters in (``isdp/<AID>/connectivity``, euicc/m2m/es8.py) is
read to see what landed.  Refusals: a host cryptogram made with wrong keys (GP Amd D §7.2.2) and the
command sent outside SCP03 (SGP.02 §4.1.3.4: only within the SM-DP's secure channel).
"""
from __future__ import annotations

import pytest

from tools.scp.scp03_host import HostKeySet, Scp03Host, Scp03HostError
from tools.smdp_m2m.smdp import sms_connectivity_parameters
from tools.smsr import es5
from tools.smsr.smsr import CommandFailed, c_apdu

WHTY_DGI = bytes.fromhex("3A07" "0B" "A009" "0607" "913386994211F1")


@pytest.fixture
def world(card_world):
    card, world = card_world
    isdp = world.smsr.create_isdp()
    world.smsr.audit()
    world.smdp.establish_isdp_keyset(isdp, world.smdp.ecasd_public_key(world.smsr.eis.ecasd_certificate))
    return world, card, isdp


def stored(card, isdp: bytes) -> bytes | None:
    return card.store.get(f"isdp/{isdp.hex().upper()}/connectivity")


def test_builder_gives_the_public_vector():
    assert es5.dgi(es5.DGI_ADDRESSING, sms_connectivity_parameters("33689924111")) == WHTY_DGI


def test_update_connectivity_parameters_stores_the_sms_parameters(world):
    world, card, isdp = world
    world.smdp.update_connectivity_parameters(isdp, sms_connectivity_parameters("33689924111"))
    assert stored(card, isdp) == WHTY_DGI[3:]
    world.smdp.update_connectivity_parameters(isdp, sms_connectivity_parameters("4412345678"))
    assert stored(card, isdp) == bytes.fromhex("A008" "0606" "914421436587")   # replaced, not appended


def _session_attempt(smsr, isdp: bytes, host: Scp03Host, spoil_challenge: bool) -> list[bytes]:
    """INITIALIZE UPDATE, then EXTERNAL AUTHENTICATE + wrapped STORE DATA '3A07', with the host
    going on whatever its check of the card cryptogram says (a rogue or broken SM-DP)."""
    answer = smsr.send_data(isdp, [c_apdu(host.initialize_update(0x00))]).rapdus[-1]
    try:
        host.process_initialize_update(answer[:-2], isdp)
    except Scp03HostError:
        pass
    if spoil_challenge:                       # a wrong host cryptogram under a correct C-MAC
        host.host_challenge = bytes(8)
    store = es5.store_data(es5.P1_LAST_DGI, 0, WHTY_DGI)
    return smsr.send_data(isdp, [c_apdu(host.external_authenticate()), c_apdu(host.wrap(store))]).rapdus


def test_wrong_host_cryptogram_is_refused(world):
    world, card, isdp = world
    rapdus = _session_attempt(world.smsr, isdp, Scp03Host(world.smdp.keys[isdp], 0x33), spoil_challenge=True)
    assert int.from_bytes(rapdus[0][-2:], "big") == 0x6300       # GP Amd D §7.2.2: host cryptogram failed
    # '63xx' is a warning class (ISO 7816-4 §5.6), so the script may go on: no session, STORE DATA refused
    assert all(int.from_bytes(r[-2:], "big") == 0x6982 for r in rapdus[1:])
    assert stored(card, isdp) is None


def test_wrong_keys_are_refused_by_the_card(world):
    world, card, isdp = world
    good = world.smdp.keys[isdp]
    rogue = Scp03Host(HostKeySet(good.kvn, bytes(16), bytes(16), bytes(16)), 0x33)
    rapdus = _session_attempt(world.smsr, isdp, rogue, spoil_challenge=False)
    # the C-MAC of EXTERNAL AUTHENTICATE is made with a wrong S-MAC: '6982' (GP §11.1.5 secure
    # messaging) or '6300' (Amd D §7.2.2) - either way no session and nothing stored
    assert int.from_bytes(rapdus[0][-2:], "big") in (0x6982, 0x6300)
    assert all(int.from_bytes(r[-2:], "big") == 0x6982 for r in rapdus[1:])
    assert stored(card, isdp) is None


def test_keys_of_another_key_set_are_refused(world):
    world, card, isdp = world
    good = world.smdp.keys[isdp]
    world.smdp.keys[isdp] = HostKeySet(good.kvn, good.enc, bytes(16), good.dek)
    with pytest.raises(Scp03HostError):                           # the card's cryptogram shows other keys
        world.smdp.update_connectivity_parameters(isdp, sms_connectivity_parameters("33689924111"))
    assert stored(card, isdp) is None


def test_store_data_outside_scp03_is_refused(world):
    world, card, isdp = world
    rapdus = world.smsr.send_data(isdp, [c_apdu(es5.store_data(es5.P1_LAST_DGI, 0, WHTY_DGI))]).rapdus
    assert int.from_bytes(rapdus[-1][-2:], "big") == 0x6982      # ISO 7816-4: security status not satisfied
    assert stored(card, isdp) is None


def test_unknown_isdp_has_no_keys(world):
    world, _, _ = world
    with pytest.raises(KeyError):
        world.smdp.update_connectivity_parameters(bytes(16), sms_connectivity_parameters("1"))


def test_plain_store_data_to_the_isdr_is_not_connectivity(world):
    """DGI '3A07' with 'A0' at the ISD-R is not ES8: the SM-SR cannot set the ISD-P's parameters."""
    world, card, isdp = world
    with pytest.raises(CommandFailed):
        world.smsr.execute_one(es5.store_data(es5.P1_LAST_DGI, 0, WHTY_DGI), "3A07 at the ISD-R")
    assert stored(card, isdp) is None
