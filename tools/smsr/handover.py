"""SM-SR change, GSMA SGP.02 v4.2 §3.8 (ES7 between the SM-SRs, ES5 to the ISD-R).

The old SM-SR relays the new SM-SR's key establishment (ES5.EstablishISDRKeySet: the new SM-SR's
certificate with role 'C8 01 02', the ISD-R's random challenge, the new SM-SR's signed ephemeral
key, the receipt); the new SM-SR derives its own SCP80 key set (KIc, KID, DEK), takes over the
EIS and deletes the old SM-SR's keys with ES5.FinaliseISDRhandover (SPEC_NOTES §2.9).
"""
from __future__ import annotations

import copy

from cryptography.hazmat.primitives.asymmetric import ec

from tools.ota.packet import AES, OtaKeyset
from tools.smsr.key_establishment import KeyEstablishment
from tools.smsr.smsr import SmSr


def change_smsr(old: SmSr, new_key: ec.EllipticCurvePrivateKey, new_certificate: bytes,
                ecasd_public: ec.EllipticCurvePublicKey, name: str = "SM-SR2",
                finalise: bool = True) -> SmSr:
    """Hand the eUICC from ``old`` to a new SM-SR; returns the new SM-SR attached to the terminal."""
    s = old.s
    ke = KeyEstablishment(new_key, new_certificate, ecasd_public, s.new_isdr_kvn, s)
    keys = old.establish_keyset(ke, s.isd_r_tar, [], "EstablishISDRKeySet")
    keyset = OtaKeyset(keys.kvn, AES, keys.keys[0], AES, keys.keys[1])
    eis = copy.deepcopy(old.eis)  # ES7.HandoverEUICC: the EIS moves to the new SM-SR
    eis.keysets = {}
    eis.log(f"handover from {old.name}")
    new = SmSr(eis, keyset, s, name)
    new.attach(old.terminal)
    if finalise:
        new.finalise_isdr_handover([(old.keyset.kvn, 0x01, 0x03)])
    return new
