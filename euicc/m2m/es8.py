"""ES8 (SM-DP -> ISD-P, through the ISD-R) of SGP.02 v4.2 §4.1.3, card side.

- EstablishISDPKeySet (§4.1.3.1): after INSTALL [for personalization] of the ISD-P at the ISD-R,
  key establishment with CERT.DP.ECDSA (role 'C8 01 01'); the SCP03 key set (KVN '30'-'3F', key
  IDs 01..03 = ENC/MAC/DEK) goes to the ISD-P, which becomes PERSONALIZED (GP '0F').
- DownloadAndInstallation (§4.1.3.3): SCP03t TLVs ('84'/'85'/'86', :mod:`euicc.m2m.scp03t`)
  addressed to the ISD-P; the deciphered '86' data accumulate into the SAIP profile package,
  installed when its 'end' element arrives (:func:`euicc.profiles.installer.install_profile`); the
  profile record takes the installer's ICCID, coded as in EF.ICCID like the SGP.22 path's.  A
  refused package is answered with the SAIP EUICCResponse (PEStatus, profileInstallationAborted)
  in an R-ENC '86' answer; nothing is installed and the ISD-P stays as it was.
- UpdateConnectivityParameters (§4.1.3.4): STORE DATA DGI '3A07' inside an SCP03 session in APDU
  mode with the ISD-P; PUT KEY (GP §11.8) of the delete-token key (KVN ``token_kvn``).
The SM-SR relaying these cannot read them: the keys come from the SM-DP's key agreement.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.crypto.scp03 import Scp03Session, Scp03Settings, key_check_value
from euicc.gp.put_key import read_key_data
from euicc.gp.registry import LCS_PERSONALIZED, LCS_SELECTABLE
from euicc.m2m import key_establishment
from euicc.m2m.dgi import parse_dgis
from euicc.m2m.keystore import Scp03Store
from euicc.m2m.records import Scp03Keys, isdp_key
from euicc.m2m.runtime import M2mVolatile, volatile
from euicc.m2m.scp03t import DATA_ERROR, DATA_FAILED, Scp03tSession
from euicc.m2m.settings import DGI_CERTIFICATE, DGI_CONNECTIVITY, ROLE_SM_DP
from euicc.ota.origin import current_origin
from euicc.profiles import saip_codec
from euicc.profiles.installer import InstallError, install_profile
from euicc.profiles.manager import fsid_of
from euicc.profiles.model import ProfileError, ProfileErrorCode, ProfileRecord
from euicc.profiles.saip_files import BAD_VALUES

if TYPE_CHECKING:
    from euicc.context import Context

SCP03_KVNS = range(0x30, 0x40)
SCP03T_TAGS = frozenset({0x84, 0x85, 0x86})
RECORD_REFUSED_STATUS = BAD_VALUES                   # SAIP PEStatus bad-values(3) [U: no dedicated code]
DUPLICATE_ICCID_MESSAGE = "ICCID already on the card"  # EUICCResponse statusMessage (UTF8String 2..64)


# -- EstablishISDPKeySet (through the ISD-R) ----------------------------------------------------
def establish_isdp_key_set(ctx: Context, state: M2mVolatile, dgis: list[tuple[int, bytes]]) -> bytes:
    target = state.personalization_target
    if dgis[0][0] == DGI_CERTIFICATE:
        if len(dgis) != 1:
            raise SwError(SW.INCORRECT_DATA)
        state.agreement, response = key_establishment.receive_certificate(
            ctx.store, state.runtime, target, dgis[0][1], ROLE_SM_DP)
        return response
    agreement, state.agreement = state.agreement, None
    if agreement is None or agreement.target != target:
        raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    state.personalization_target = None
    result = key_establishment.agree(ctx.store, state.runtime, agreement, dgis)
    request = result.request
    keys = Scp03Store(ctx.store, target)
    if request.kvn not in SCP03_KVNS or request.first_key_id != 0x01 or request.kvn in keys.all():
        raise SwError(SW.INCORRECT_DATA)
    keys.put(Scp03Keys(request.kvn, *result.keys))
    entry = ctx.registry.get(target)
    if entry is not None and entry.lifecycle == LCS_SELECTABLE:
        ctx.registry.put(replace(entry, lifecycle=LCS_PERSONALIZED))
    return result.response


# -- SCP03t profile download --------------------------------------------------------------------
def scp03t_item(ctx: Context, aid: bytes, tag: int, value: bytes) -> bytes:
    """Process one SCP03t command TLV for ISD-P `aid`; returns the response TLV."""
    state = volatile(ctx)
    sessions = state.sessions
    key = "scp03t/" + aid.hex()
    if tag == 0x84:
        session = sessions[key] = Scp03tSession(Scp03Store(ctx.store, aid), aid)
        sessions["upp/" + aid.hex()] = b""
        sessions.pop("upp-at/" + aid.hex(), None)
        return session.initialize_update(value)
    session = sessions.get(key)
    if session is None:
        return DATA_ERROR if tag == 0x86 else bytes.fromhex("9F450102")
    if tag == 0x85:
        return session.external_authenticate(value)
    if not session.established:
        return DATA_ERROR
    plain = session.unwrap(value)
    if plain is None:
        return DATA_FAILED
    package = sessions.get("upp/" + aid.hex(), b"") + plain
    sessions["upp/" + aid.hex()] = package
    complete, sessions["upp-at/" + aid.hex()] = _complete(package, sessions.get("upp-at/" + aid.hex(), (0, 0)))
    if complete:
        sessions.pop("upp/" + aid.hex(), None)
        sessions.pop("upp-at/" + aid.hex(), None)
        refused = install(ctx, aid, package)
        if refused is not None:
            return session.wrap(refused)
    return b"\x86\x00"


def _complete(package: bytes, at: tuple[int, int]) -> tuple[bool, tuple[int, int]]:
    """Whether the package so far ends with the SAIP 'end' element (TCA SAIP v3.3.1 §8), and
    where to resume: `at` is the (offset, index) of the first element not decoded yet, so each
    element is decoded once however many '86' blocks carry the package."""
    offset, index = at
    try:
        while offset < len(package):
            element, end = saip_codec.decode_element(package, offset, index)
            if element.name == saip_codec.END_ELEMENT:
                return end == len(package), (offset, index)
            offset, index = end, index + 1
    except saip_codec.SaipError:
        pass
    return False, (offset, index)


def install(ctx: Context, aid: bytes, package: bytes) -> bytes | None:
    """Install the profile package into the ISD-P's file system; None when installed, else the
    DER SAIP EUICCResponse of the refusal (TCA SAIP v3.3.1 PEStatus, profileInstallationAborted).

    The record's ICCID is the installer's (TS 102 221 §13.2 EF.ICCID coding, as SGP.22 Iccid), so
    the duplicate-ICCID check sees the same bytes whichever path installed a profile; a duplicate
    is reported on the ProfileHeader as :data:`RECORD_REFUSED_STATUS` with
    :data:`DUPLICATE_ICCID_MESSAGE` (SAIP has no status of its own for it)."""
    try:
        with ctx.store.savepoint():   # a refused record leaves no file system behind
            installed = install_profile(ctx.store, fsid_of(aid), package)
            pol = installed.pol or b"\x00"
            ctx.services.profiles.add_profile(ProfileRecord(
                isdp_aid=aid, iccid=installed.iccid, fsid=fsid_of(aid), pol1=pol[0]))
    except InstallError as exc:
        return exc.sima_response
    except ProfileError as exc:
        message = DUPLICATE_ICCID_MESSAGE if exc.code == ProfileErrorCode.ALREADY_EXISTS else exc.code.name
        return InstallError(RECORD_REFUSED_STATUS, message, status_message=message).sima_response
    return None


# -- APDU-mode SCP03 with the ISD-P (UpdateConnectivityParameters, PUT KEY) ----------------------
def _session(ctx: Context, aid: bytes, new: bool = False) -> Scp03Session:
    """The ISD-P's APDU-mode SCP03 session; INITIALIZE UPDATE (``new``) starts another one with
    the key sets stored now (GP Amd D §7.1.1: it initiates a Secure Channel Session)."""
    state, origin = volatile(ctx), current_origin(ctx)
    if state is None or origin is None or origin.target != aid:
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
    key = "scp03/" + aid.hex()
    session = None if new else state.sessions.get(key)
    if session is None:
        session = state.sessions[key] = Scp03Session(Scp03Store(ctx.store, aid).key_sets(), aid,
                                                     Scp03Settings(), state.runtime.random)
    return session


def process_isdp(ctx: Context, cmd: Command, aid: bytes) -> bytes:
    """ISD-P commands: INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, then protected STORE DATA / PUT KEY."""
    session = _session(ctx, aid, new=cmd.ins == 0x50)
    if cmd.ins == 0x50:
        response = session.initialize_update(cmd)
        if session.key_set is not None:
            Scp03Store(ctx.store, aid).save_counter(session.key_set)
        return response
    if cmd.ins == 0x82:
        return session.external_authenticate(cmd)
    if session.security_level == 0:
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
    plain = session.unwrap(cmd)
    if plain.ins == 0xE2:
        return session.wrap(_store_data(ctx, plain, aid))
    if plain.ins == 0xD8:
        return session.wrap(_put_token_key(ctx, plain, aid, session))
    raise SwError(SW.INS_NOT_SUPPORTED)


def _store_data(ctx: Context, cmd: Command, aid: bytes) -> bytes:
    """DGI '3A07' connectivity parameters ('A0' {'06' SMS-C address} ...), stored as received."""
    dgis = parse_dgis(cmd.data)
    if len(dgis) != 1 or dgis[0][0] != DGI_CONNECTIVITY:
        raise SwError(SW.INCORRECT_DATA)
    try:
        tlv.parse(dgis[0][1])
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    ctx.store.put(isdp_key(aid, "connectivity"), dgis[0][1])
    return b""


def _put_token_key(ctx: Context, cmd: Command, aid: bytes, session: Scp03Session) -> bytes:
    """PUT KEY (GP §11.8.2.3): KVN || one AES-128 key data field ('88' L block '03' KCV,
    :func:`euicc.gp.put_key.read_key_data`); only the delete-token key (KVN ``token_kvn``)."""
    runtime = volatile(ctx).runtime
    data = cmd.data
    if not data or data[0] != runtime.settings.token_kvn or session.key_set is None:
        raise SwError(SW.INCORRECT_DATA)
    key, end = read_key_data(session.key_set.dek, data, 1)
    if end != len(data) or len(key) != 16:
        raise SwError(SW.INCORRECT_DATA)
    ctx.store.put(isdp_key(aid, "token-key"), key)
    return bytes((data[0],)) + key_check_value(key)
