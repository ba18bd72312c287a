"""An ISD-P deleted and created again under the same AID within one power cycle (what a benchmark
or an SM-SR retrying a download does): the new ISD-P's SCP03 session in APDU mode uses its own,
new keys (GP Amd D §7.1.1: INITIALIZE UPDATE starts a Secure Channel Session with the key sets
the ISD-P holds), and a session opened with the deleted one is gone with it (GP CS §11.2 DELETE):
a command wrapped in it is refused with '6982' (security status not satisfied).

Host side only: the SM-SR / SM-DP of tools/ and the SCP03 host of tools/scp (never the card's)."""
from __future__ import annotations

from tools.scp.scp03_host import Scp03Host
from tools.smdp_m2m.smdp import sms_connectivity_parameters
from tools.smsr import es5
from tools.smsr.smsr import c_apdu


def personalised_isdp(world, aid: bytes | None = None) -> bytes:
    """ES5.CreateISDP and ES8.EstablishISDPKeySet (SGP.02 §4.1.1.1, §4.1.3.1)."""
    isdp = world.smsr.create_isdp(aid)
    world.smsr.audit()
    world.smdp.establish_isdp_keyset(isdp, world.smdp.ecasd_public_key(world.smsr.eis.ecasd_certificate))
    return isdp


def test_put_key_into_an_isdp_made_again_under_the_same_aid(world):
    isdp = personalised_isdp(world)
    first = world.smdp.put_token_key(isdp)
    world.smsr.delete_profile(isdp)
    assert personalised_isdp(world, isdp) == isdp
    second = world.smdp.put_token_key(isdp)           # card cryptogram from the new ISD-P's keys
    assert second != first


def test_a_session_of_the_deleted_isdp_is_gone(world):
    isdp = personalised_isdp(world)
    host = Scp03Host(world.smdp.keys[isdp], 0x33)
    answer = world.smsr.send_data(isdp, [c_apdu(host.initialize_update(0x00))]).rapdus[-1]
    host.process_initialize_update(answer[:-2], isdp)
    assert world.smsr.send_data(isdp, [c_apdu(host.external_authenticate())]).rapdus[-1][-2:] == b"\x90\x00"
    world.smsr.delete_profile(isdp)
    personalised_isdp(world, isdp)
    store = es5.store_data(es5.P1_LAST_DGI, 0, es5.dgi(es5.DGI_ADDRESSING, sms_connectivity_parameters("33689924111")))
    assert world.smsr.send_data(isdp, [c_apdu(host.wrap(store))]).rapdus[-1][-2:] == b"\x69\x82"
