"""The SM-SR carries the SM-DP's traffic but cannot read it (SGP.02 v4.2 §2.3.3, §3.1.2, §5.5).

ES8 runs end to end between the SM-DP and the ISD-P: the ISD-P keys come from an ECKA key agreement
between the SM-DP's ephemeral key and the ECASD's static key (GP Amd E scenario #3), and the profile
travels ciphered under SCP03t.  The SM-SR only opens and closes the SCP80 envelope, so everything it
sees in clear - the command scripts it builds, the response scripts it reads - must contain neither
the ISD-P keys nor any part of the profile package.  The test records exactly that view.
"""
from __future__ import annotations


from tests.m2m_host.m2m_world import TS48
from tools.smsr.smsr import ScriptResponse

WINDOW = 16   # any 16 bytes of the profile package in the SM-SR's clear view would be a leak


def record_clear_view(smsr) -> list[bytes]:
    """Wrap the SM-SR's script exchange: every command item it sends and response item it reads."""
    seen: list[bytes] = []
    send = smsr.send_script

    def recording(tar: bytes, items: list[bytes], chaining: int | None = None) -> ScriptResponse:
        seen.extend(items)
        response = send(tar, items, chaining)
        seen.extend(value for _tag, value in response.items)
        return response
    smsr.send_script = recording
    return seen


def test_smsr_sees_neither_isdp_keys_nor_profile(world):
    smsr, smdp = world.smsr, world.smdp
    upp = TS48.read_bytes()
    isdp = smsr.create_isdp()
    smsr.audit()
    seen = record_clear_view(smsr)
    keys = smdp.establish_isdp_keyset(isdp, smdp.ecasd_public_key(smsr.eis.ecasd_certificate,
                                                                   world.pki.eum.public_key()))
    result = smdp.download_profile(isdp, upp)
    assert result.segments > 1 and seen, "the download went through the SM-SR"
    clear = b"\x00".join(seen)
    # the download worked: the SM-SR reports the ISD-P installed with the profile
    assert {e.aid: e.state for e in smsr.audit()}[isdp] == "DISABLED"
    for key in keys.keys:
        assert len(key) == 16 and key not in clear
    leaks = [i for i in range(0, len(upp) - WINDOW, 4) if upp[i:i + WINDOW] in clear]
    assert leaks == [], f"profile bytes at offsets {leaks[:5]} visible to the SM-SR"


def test_the_recorder_would_see_a_leak(world):
    """Control: bytes the SM-SR itself puts in a script are in the recorded view."""
    smsr = world.smsr
    seen = record_clear_view(smsr)
    smsr.audit()
    assert any(b"\x80\xF2" in item for item in seen)   # GET STATUS, sent in clear inside SCP80
