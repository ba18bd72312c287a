"""SM-SR change on the card (SGP.02 v4.2 §3.8 / §5.6): ES5.EstablishISDRKeySet (GP Amd E
scenario #3 with CERT.SR.ECDSA of the new SM-SR, role 'C8 01 02') adds an SCP80 key set to the
ISD-R next to the old SM-SR's; ES5.FinaliseISDRhandover (GP DELETE [key] with
'F2 03 <KVN> <first key ID> <last key ID>' items, SPEC_NOTES §2.3) removes the old ones, SCP80
and SCP81 (PSK-TLS, GP Amd B) alike; an SCP81 key set the card does not hold is skipped (WHTY's
vector lists KVN '41' whatever the card holds [R]), the one securing the session is kept ('6985').
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError
from euicc.m2m import key_establishment
from euicc.m2m.keystore import PskKeys, Scp80Keys
from euicc.m2m.records import OtaKeySet
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
    """Step 2: derive KIc/KID/DEK (key IDs 01..03) of a new ISD-R key set; returns the receipt."""
    agreement = state.agreement
    if agreement is None or agreement.target != isdr_aid:
        raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    state.agreement = None
    result = key_establishment.agree(ctx.store, state.runtime, agreement, dgis)
    request, keys = result.request, Scp80Keys.isdr(ctx.store)
    if request.kvn not in SCP80_KVNS or request.first_key_id != 0x01 or keys.get(request.kvn):
        raise SwError(SW.INCORRECT_DATA)
    kic, kid, dek = result.keys
    keys.put(OtaKeySet(request.kvn, kic, kid, dek, request.initial_counter))
    return result.response


def finalise(ctx: Context, state: M2mVolatile, data: bytes) -> bytes:
    """ES5.FinaliseISDRhandover: delete the listed key sets, never the one in use ('6985')."""
    items, i = [], 0
    while i < len(data):
        if data[i] != 0xF2 or i + 5 > len(data) or data[i + 1] != 0x03:
            raise SwError(SW.INCORRECT_DATA)
        items.append((data[i + 2], data[i + 3], data[i + 4]))
        i += 5
    if not items:
        raise SwError(SW.INCORRECT_DATA)
    keys = Scp80Keys.isdr(ctx.store)
    origin = current_origin(ctx)
    in_use = origin.kvn if origin is not None else 0
    for kvn, first, last in items:
        if kvn in SCP81_KVNS:
            _delete_psk(ctx, kvn, in_use)
            continue
        if kvn not in SCP80_KVNS or keys.get(kvn) is None or not first <= last:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        if kvn == in_use:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        keys.delete(kvn)
    return b""


def _delete_psk(ctx: Context, kvn: int, in_use: int) -> None:
    """Delete the ISD-R's SCP81 key set ``kvn`` (GP Amd B §3.3.2), never the one in use."""
    keys = PskKeys(ctx.store)
    if keys.get(kvn) is None:
        return
    if kvn == in_use:
        raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    keys.delete(kvn)
