"""ES5 (SM-SR -> ISD-R) commands of SGP.02 v4.2 §4.1.1 as the ISD-R receives them: remote APDUs
from the ISD-R's secured OTA channel only ('6982' otherwise).

- INSTALL [for install and make selectable] ('E6', P1 '0C'): CreateISDP (GP §11.5; 'EF 83' quota
  beyond ``max_reserved_nvm`` -> '6A84'); INSTALL [for personalization] (P1 '20') names the ISD-P
  whose key establishment (ES8) the following STORE DATA carry.
- STORE DATA ('E2', DGI format, GP §11.11.2.2): '3A01'/'3A02' key establishment (EstablishISDRKeySet
  or, after INSTALL [for personalization], EstablishISDPKeySet), '3A03' EnableProfile, '3A04'
  DisableProfile, '3A05' SetFallBackAttribute, ``dgi_emergency`` SetEmergencyProfileAttribute,
  '3A07' UpdateSMSRAddressingParameters, '3A08' HandleNotificationConfirmation.
- DELETE ('E4', GP §11.2): '4F' AID -> DeleteProfile; with 'B6'/'9E' delete token -> MasterDelete;
  'F2' key references -> FinaliseISDRhandover.
- PUT KEY ('D8'): the ISD-R's SCP81 PSK-TLS key sets (GP Amd B, :mod:`euicc.m2m.psk_put_key`).
- PUSH ('EC', TS 102 226 §9): the CAT_TP link request (:mod:`euicc.m2m.cat_tp_agent`).
- GET DATA 'BF30' {'5C' '7F21'} (CERT.ECASD.ECKA) and 'FF21' (extended card resources, TS 102 226
  §8.2.1.7), GET STATUS with the '53' ISD-P attributes: eUICCCapabilityAudit (§4.1.1.5).
"""
from __future__ import annotations

import hmac
from typing import TYPE_CHECKING


from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.context import Origin
from euicc.crypto.primitives import aes_cmac
from euicc.gp import card_resources
from euicc.m2m import es8, psk_put_key, smsr_change
from euicc.m2m.cat_tp_agent import INS_PUSH, CatTpAgent
from euicc.m2m.dgi import parse_dgis
from euicc.m2m.platform_management import PlatformManagement
from euicc.m2m.records import ECASD_CERT, SMSR_ADDRESS, SmsrAddress, isdp_key
from euicc.m2m.runtime import M2mVolatile, volatile
from euicc.m2m.settings import (DGI_CERTIFICATE, DGI_CONFIRMATION, DGI_CONNECTIVITY, DGI_DISABLE,
                                DGI_ENABLE, DGI_FALLBACK, DGI_KEY_AGREEMENT)
from euicc.ota.errors import OtaFormatError
from euicc.ota.origin import current_origin
from euicc.ota.sms import Address
from euicc.profiles import keys as profile_keys
from euicc.profiles.manager import ISD_P_ELF, ISD_P_MODULE
from euicc.profiles.model import ProfileError

if TYPE_CHECKING:
    from euicc.context import Context

ES5_INS = frozenset({0xE6, 0xE4, 0xD8, INS_PUSH})


def is_es5(cmd: Command) -> bool:
    """Commands of the ISD-R that belong to ES5 rather than to ES10 / the terminal."""
    if cmd.ins in ES5_INS:
        return True
    if cmd.ins == 0xE2:
        return cmd.p1 & 0x18 == 0x08            # DGI format (GP §11.11.2.1)
    return cmd.ins == 0xCA and cmd.p1p2 in (0xBF30, 0xFF21)


def authorised(ctx: Context, isdr_aid: bytes) -> M2mVolatile:
    """ES5 only reaches the ISD-R through its own secured OTA channel (SGP.02 §2.4.1): never from
    the terminal, and only from a packet secured with a key set of the ISD-R's TAR."""
    state, origin = volatile(ctx), current_origin(ctx)
    if (ctx.origin is Origin.TERMINAL or state is None or origin is None
            or origin.target != isdr_aid or origin.kvn == 0):
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
    return state


def process(ctx: Context, cmd: Command, isdr_aid: bytes) -> bytes:
    state = authorised(ctx, isdr_aid)
    if not cmd.proprietary:
        raise SwError(SW.CLA_NOT_SUPPORTED)
    if cmd.ins == 0xE6:
        return install(ctx, state, cmd)
    if cmd.ins == 0xE4:
        return delete(ctx, state, cmd)
    if cmd.ins == 0xE2:
        return store_data(ctx, state, cmd, isdr_aid)
    if cmd.ins == 0xD8:
        return psk_put_key.put_key(ctx, cmd)
    if cmd.ins == INS_PUSH:
        return ctx.services.runtime(CatTpAgent).push(ctx, cmd)
    return get_data(ctx, cmd)


# -- INSTALL ------------------------------------------------------------------------------------
def _lv_items(data: bytes, count: int) -> list[bytes]:
    """The length-value fields of INSTALL data (GP §11.5.2); '6A80' when malformed."""
    try:
        return tlv.split_lv(data, count)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None


def install(ctx: Context, state: M2mVolatile, cmd: Command) -> bytes:
    if cmd.p2 != 0x00:
        raise SwError(SW.INCORRECT_P1P2)
    if cmd.p1 == 0x20:        # [for personalization]: '00' '00' L AID '00' '00' '00'
        _, _, aid, *_ = _lv_items(cmd.data, 6)
        entry = ctx.registry.get(aid)
        if entry is None or entry.elf != ISD_P_ELF:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        state.personalization_target, state.agreement = aid, None
        return b"\x00"
    if cmd.p1 != 0x0C:
        raise SwError(SW.INCORRECT_P1P2)
    elf, module, aid, _privileges, params, _token = _lv_items(cmd.data, 6)
    if elf != ISD_P_ELF or module != ISD_P_MODULE:
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
    if len(aid) != 16 or aid[:12] != ISD_P_ELF[:12] or aid[15] != 0x00 or int.from_bytes(aid[12:15], "big") < 0x10:
        raise SwError(SW.INCORRECT_DATA)
    quota = _reserved_memory(params)
    if quota > state.runtime.settings.max_reserved_nvm:
        raise SwError(SW.NOT_ENOUGH_MEMORY)
    try:
        ctx.services.profiles.create_isdp(aid)
    except ProfileError:
        raise SwError(SW.INCORRECT_DATA) from None
    ctx.store.put(profile_keys.reserved_nvm(aid), quota)
    return b"\x00"


def _reserved_memory(params: bytes) -> int:
    """'EF' { '83' reserved non-volatile memory } of the install parameters (GP §11.5.2.3.7)."""
    try:
        system = tlv.find(params, 0xEF) if params else None
        value = tlv.find(system, 0x83) if system else None
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    return int.from_bytes(value, "big") if value else 0


# -- DELETE -------------------------------------------------------------------------------------
def delete(ctx: Context, state: M2mVolatile, cmd: Command) -> bytes:
    if cmd.p1 != 0x00 or cmd.p2 not in (0x00, 0x40, 0x80):
        raise SwError(SW.INCORRECT_P1P2)
    if cmd.data[:1] == b"\xF2":
        return smsr_change.finalise(ctx, state, cmd.data)
    try:
        items = tlv.parse(cmd.data)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    tags = [t for t, _ in items]
    if not items or tags[0] != 0x4F:
        raise SwError(SW.INCORRECT_DATA)
    aid = bytes(items[0][1])
    platform = PlatformManagement(ctx, state.runtime)
    if tags == [0x4F]:
        platform.delete(aid)
    elif tags == [0x4F, 0xB6, 0x9E]:
        _check_delete_token(ctx, cmd, aid, bytes(items[2][1]))
        platform.delete(aid, master=True)
    else:
        raise SwError(SW.INCORRECT_DATA)
    return b"\x00"


def _check_delete_token(ctx: Context, cmd: Command, aid: bytes, token: bytes) -> None:
    """Delete token (GP Card Spec §C.4 layout, SGP.02 §4.1.1.6): AES-CMAC under the ISD-P's
    token key over P1 || P2 || length || the data before the '9E' TLV."""
    key = ctx.store.get(isdp_key(aid, "token-key"))
    if ctx.registry.get(aid) is None:
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
    if key is None:
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
    signed = cmd.data[:len(cmd.data) - len(tlv.tlv(0x9E, token))]
    expected = aes_cmac(key, bytes((cmd.p1, cmd.p2, len(signed))) + signed)
    if not hmac.compare_digest(expected[:len(token)], token) or len(token) not in (8, 16):
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)


# -- STORE DATA ---------------------------------------------------------------------------------
def store_data(ctx: Context, state: M2mVolatile, cmd: Command, isdr_aid: bytes) -> bytes:
    dgis = parse_dgis(cmd.data)
    if not dgis:
        raise SwError(SW.INCORRECT_DATA)
    first = dgis[0][0]
    if state.personalization_target is not None and first in (DGI_CERTIFICATE, DGI_KEY_AGREEMENT):
        return es8.establish_isdp_key_set(ctx, state, dgis)
    state.personalization_target = None
    if first == DGI_CERTIFICATE and len(dgis) == 1:
        return smsr_change.receive_certificate(ctx, state, isdr_aid, dgis[0][1])
    if first == DGI_KEY_AGREEMENT:
        return smsr_change.establish(ctx, state, isdr_aid, dgis)
    if len(dgis) != 1:
        raise SwError(SW.INCORRECT_DATA)
    value = dgis[0][1]
    platform = PlatformManagement(ctx, state.runtime)
    if first == DGI_CONFIRMATION:
        seq = _single(value, 0x4E)
        if len(seq) != 2:
            raise SwError(SW.INCORRECT_DATA)
        deleted = platform.confirm(int.from_bytes(seq, "big"))
        return tlv.tlv(0x80, b"".join(tlv.tlv(0x4F, aid) for aid in deleted))
    if first == DGI_CONNECTIVITY:
        ctx.store.put(SMSR_ADDRESS, _smsr_address(value))
        return b""
    actions = {DGI_ENABLE: platform.enable, DGI_DISABLE: platform.disable,
               DGI_FALLBACK: platform.set_fallback, state.runtime.settings.dgi_emergency: platform.set_emergency}
    action = actions.get(first)
    if action is None:
        raise SwError(SW.INCORRECT_DATA)
    action(_single(value, 0x4F))
    return b""


def _single(value: bytes, tag: int) -> bytes:
    try:
        items = tlv.parse(value)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    if len(items) != 1 or items[0][0] != tag:
        raise SwError(SW.INCORRECT_DATA)
    return bytes(items[0][1])


def _smsr_address(value: bytes) -> SmsrAddress:
    """'A3' { '81' TS 23.040 address: digit count, TON/NPI, BCD } (SPEC_NOTES §2.3, WHTY)."""
    try:
        sms = tlv.find(_single(value, 0xA3), 0x81)
        if sms is None:
            raise SwError(SW.INCORRECT_DATA)
        address, end = Address.decode(sms, 0)
    except (tlv.TlvError, OtaFormatError):
        raise SwError(SW.INCORRECT_DATA) from None
    if end != len(sms) or not address.digits.isdigit():
        raise SwError(SW.INCORRECT_DATA)
    return SmsrAddress(address.type_of_address, address.digits)


# -- audit --------------------------------------------------------------------------------------
def get_data(ctx: Context, cmd: Command) -> bytes:
    if cmd.p1p2 == 0xBF30:
        try:
            wanted = tlv.unwrap(cmd.data, 0x5C)
        except tlv.TlvError:
            raise SwError(SW.INCORRECT_DATA) from None
        cert = ctx.store.get(ECASD_CERT)
        if wanted != b"\x7f\x21" or cert is None:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        return tlv.tlv(0xBF30, cert)
    if cmd.data:
        raise SwError(SW.WRONG_LENGTH)
    return tlv.tlv(card_resources.TAG_RESOURCES, card_resources.of_card(ctx).encode())


def isdp_attributes(ctx: Context, status: bytes) -> bytes:
    """Add '53' (b1 Fall-Back, b2 Emergency [U]) to the 'E3' entries of ISD-Ps (NJIWA-B Table 28)."""
    out = b""
    try:
        for tag, value in tlv.parse(status):
            aid = tlv.find(value, 0x4F) if tag == 0xE3 else None
            record = ctx.store.get(profile_keys.profile(aid)) if aid else None
            if record is not None:
                value = value + tlv.tlv(0x53, bytes((int(record.fallback) | int(record.emergency) << 1,)))
            out += tlv.tlv(tag, value)
    except tlv.TlvError:
        return status
    return out
