"""SM-SR change on the card (SGP.02 v4.2 §3.8 / §5.6): ES5.EstablishISDRKeySet (GP Amd E
scenario #3 with CERT.SR.ECDSA of the new SM-SR, role 'C8 01 02') adds a key set to the ISD-R next to
the old SM-SR's: an SCP80 key set (KVN '01'-'0F', AES key type '88', KIc/KID/DEK as key IDs 01-03)
or an SCP81 PSK-TLS key set (KVN '40'-'4F', key type '85' GP CS Table 11-16, one key: the TLS PSK as
key ID 01, KUQ '5C'; no DEK, as NJIWA's CreateSCP81KeySet [C NJIWA-B]; a DEK can follow by PUT KEY,
:mod:`euicc.m2m.psk_put_key`).  ES5.FinaliseISDRhandover (GP DELETE [key] with
'F2 03 <KVN> <first key ID> <last key ID>' items, SPEC_NOTES §2.3) removes the old ones, SCP80
and SCP81 (PSK-TLS, GP Amd B) alike; an SCP81 key set the card does not hold is skipped (WHTY's
vector lists KVN '41' whatever the card holds [R]), the one securing the session is kept ('6985').
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError
from euicc.m2m import key_establishment
from euicc.m2m.keystore import PskKeys, Scp80Keys
from euicc.m2m.records import OtaKeySet, PskKeySet
from euicc.m2m.runtime import M2mVolatile
from euicc.ota.origin import current_origin
from euicc.m2m.settings import ROLE_SM_SR

if TYPE_CHECKING:
    from euicc.context import Context

SCP80_KVNS = range(0x01, 0x10)      # SGP.02 §2.2.1.1 / SPEC_NOTES §2.1
SCP81_KVNS = range(0x40, 0x50)      # PSK-TLS key sets of the ISD-R (GP Amd B, euicc.m2m.keystore.PskKeys)


def receive_certificate(ctx: Context, state: M2mVolatile, isdr_aid: bytes, data: bytes) -> bytes:
    """Step 1 with CERT.SR.ECDSA: returns '85' RC."""
    state.agreement, response = key_establishment.receive_certificate(
        ctx.store, state.runtime, isdr_aid, data, ROLE_SM_SR)
    return response


def establish(ctx: Context, state: M2mVolatile, isdr_aid: bytes, dgis: list[tuple[int, bytes]]) -> bytes:
    """Step 2: derive a new ISD-R key set, SCP80 or SCP81 by its KVN (module docstring); returns the
    receipt.  A KVN in use, a key type or KUQ that does not fit the KVN's range: '6A80', nothing stored."""
    agreement = state.agreement
    if agreement is None or agreement.target != isdr_aid:
        raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    state.agreement = None
    result = key_establishment.agree(ctx.store, state.runtime, agreement, dgis,
                                     (key_establishment.KEY_TYPE_AES, key_establishment.KEY_TYPE_PSK_TLS))
    request, scp80, psk = result.request, Scp80Keys.isdr(ctx.store), PskKeys(ctx.store)
    if request.first_key_id != 0x01:
        raise SwError(SW.INCORRECT_DATA)
    if request.kvn in SCP80_KVNS and request.key_type == key_establishment.KEY_TYPE_AES \
            and scp80.get(request.kvn) is None:
        kic, kid, dek = result.keys
        scp80.put(OtaKeySet(request.kvn, kic, kid, dek, request.initial_counter))
    elif request.kvn in SCP81_KVNS and request.key_type == key_establishment.KEY_TYPE_PSK_TLS \
            and request.kuq == key_establishment.KUQ_SINGLE_KEY and psk.get(request.kvn) is None:
        psk.put(PskKeySet(request.kvn, result.keys[0]))
    else:
        raise SwError(SW.INCORRECT_DATA)
    return result.response


def finalise(ctx: Context, state: M2mVolatile, data: bytes) -> bytes:
    """ES5.FinaliseISDRhandover: delete the listed key sets, never the one in use ('6985'); all or
    none (a refused item leaves every key set in place)."""
    items, i = [], 0
    while i < len(data):
        if data[i] != 0xF2 or i + 5 > len(data) or data[i + 1] != 0x03:
            raise SwError(SW.INCORRECT_DATA)
        items.append((data[i + 2], data[i + 3], data[i + 4]))
        i += 5
    if not items:
        raise SwError(SW.INCORRECT_DATA)
    keys, psk = Scp80Keys.isdr(ctx.store), PskKeys(ctx.store)
    origin = current_origin(ctx)
    in_use = origin.kvn if origin is not None else 0
    for kvn, first, last in items:                   # every item checked before any key set goes
        if kvn in SCP81_KVNS:
            found = psk.get(kvn) is not None
        elif kvn not in SCP80_KVNS or keys.get(kvn) is None or not first <= last:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        else:
            found = True
        if found and kvn == in_use:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    for kvn, _, _ in items:
        (psk if kvn in SCP81_KVNS else keys).delete(kvn)
    return b""
