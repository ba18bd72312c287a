"""Device Change and Profile Recovery on the eUICC: SGP.22 v3.1 §3.11 (Device Change, Profile
Recovery), §5.7.13 (AuthenticateServer with ``ctxParamsForDeviceChange`` /
``ctxParamsForProfileRecovery``) and the ES10b functions PrepareDeviceChange ('BF4D'),
VerifyDeviceChange ('BF4B') and VerifyProfileRecovery ('BF62').

Flow on the old Device (the eUICC holding the profile):

1. AuthenticateServer with ``ctxParamsForDeviceChange {iccid, ...}``: accepted when the card
   supports Device Change (setting ``EuiccInfoSettings.device_change``, EuiccRspCapability bit
   11) and the profile is installed with ``deviceChangeConfiguration requestToDp`` whose
   ``smdpAddressForDc`` is the server's address and whose ``allowedCiPKId``, if any, is the CI
   of the server's chain; otherwise invalidIccid (14) [U: one code for every mismatch].
2. PrepareDeviceChange: smdpSignature4 over DER(smdpSigned4) || '5F37 40' || euiccSignature1 with
   CERT.DPauth's key (the request carries no other certificate) [U]; the answer's euiccSignature3
   is over DER(euiccSigned3) || the smdpSignature4 TLV, as euiccSignature2 is formed (§5.7.17).
   Errors (DownloadErrorCode): invalidSignature 2, noSessionContext 4, invalidTransactionId 5,
   undefinedError 127 (ccRequiredFlag without hashCc).
3. VerifyDeviceChange: smdpSignature5 over DER(smdpSigned5) || '5F37 40' || euiccSignature3 [U];
   ``deviceChangeData`` for the session's ICCID (else invalidData 7); with ``deleteOldProfile``
   the profile must be disabled (profileNotInDisabledState 8) and deletable (PPR2:
   disallowedByPolicy 3), the LPA then deletes it (ES10c.DeleteProfile).  ``encryptedDeviceChangeData``
   is deciphered with the one-time key otSK.EUICC.KAeac whose public half euiccSigned3 carried
   (:mod:`euicc.rsp.device_change_encryption`: unsupportedCrtValues 6, invalidData 7).  With
   ``profileRecoverySupport`` the eUICC keeps a Profile Recovery record (the ICCID, the SM-DP+
   address, ``profileRecoveryValidityPeriod``).  The answer echoes the DeviceChangeData; the
   session ends.

Profile Recovery: AuthenticateServer with ``ctxParamsForProfileRecovery {iccid}`` needs such a
record for that ICCID and server address, still valid at the card's clock (else invalidIccid);
VerifyProfileRecovery checks smdpSignature4 as in PrepareDeviceChange (invalidSignature 2, noSession
4, invalidTransactionId 5), then forgets the record: the LPA downloads with the
``activationCodeForProfileRecovery``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from euicc.crypto.cert_server import EUICC_SIGNATURE1_PREFIX
from euicc.crypto.certificates import CertificateRejected, verify_signature
from euicc.crypto.ecka import Curve, EckaKeyPair
from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import CLASS_OPERATIONAL, PPR2, STATE_DISABLED, ProfileError
from euicc.rsp import der, device_change_encryption, euicc_info, identity, metadata, rsp_session
from euicc.rsp import keys as rsp_keys
from euicc.rsp.runtime import RspRuntime
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.context import Context

DEVICE_CHANGE, PROFILE_RECOVERY = "ctxParamsForDeviceChange", "ctxParamsForProfileRecovery"
CONTEXTS = (DEVICE_CHANGE, PROFILE_RECOVERY)
INVALID_ICCID, UNDEFINED_ERROR = 14, 127                         # AuthenticateErrorCode
INVALID_SIGNATURE, NO_SESSION, INVALID_TRANSACTION_ID = 2, 4, 5
DISALLOWED_BY_POLICY, INVALID_DATA, NOT_DISABLED = 3, 7, 8


@dataclass
class DeviceChangeSession(VolatileState):
    """The Device Change / Profile Recovery part of the RSP session of ``transaction_id``."""

    LIFETIME = Lifetime.POWER_CYCLE

    transaction_id: bytes
    kind: str
    iccid: bytes
    euicc_signature3: bytes = b""
    one_time_key: EckaKeyPair | None = None      # otSK.EUICC.KAeac (encrypted Device Change data)


def context_error(ctx: Context, ctx_params1: tuple[str, dict[str, Any]], server_address: str,
                  server_ci: bytes, transaction_id: bytes) -> int | None:
    """AuthenticateServer (§5.7.13) with a Device Change / Profile Recovery context: None when the
    session may go on (its record is kept), else the AuthenticateErrorCode."""
    if not euicc_info.settings(ctx.config).device_change:
        return UNDEFINED_ERROR
    kind, params = ctx_params1
    iccid = bytes(params["iccid"])
    allowed = (_device_change_allowed(ctx, iccid, server_address, server_ci) if kind == DEVICE_CHANGE
               else _recovery_allowed(ctx, iccid, server_address))
    if not allowed:
        return INVALID_ICCID
    ctx.volatile.put(DeviceChangeSession(bytes(transaction_id), kind, iccid))
    return None


def _device_change_allowed(ctx: Context, iccid: bytes, server_address: str, server_ci: bytes) -> bool:
    try:
        rec = ProfileManager(ctx.store).by_iccid(iccid)
    except ProfileError:
        return False
    kind, config = metadata.stored(rec.metadata).get("deviceChangeConfiguration", ("", {}))
    return (kind == "requestToDp" and config["smdpAddressForDc"].lower() == server_address.lower()
            and config.get("allowedCiPKId", server_ci) == server_ci)


def _recovery_allowed(ctx: Context, iccid: bytes, server_address: str) -> bool:
    record = ctx.store.get(rsp_keys.profile_recovery(iccid))
    if record is None or record["address"].lower() != server_address.lower():
        return False
    until = record.get("valid_until")
    return until is None or ctx.runtime(RspRuntime).clock() <= until


def in_session(ctx: Context) -> bool:
    """The current RSP session is a Device Change / Profile Recovery one: no PrepareDownload in it."""
    session, record = rsp_session.current(ctx), ctx.volatile.get(DeviceChangeSession)
    return session is not None and record is not None and record.transaction_id == session.transaction_id


def _current(ctx: Context, kind: str) -> tuple[rsp_session.RspSession, DeviceChangeSession] | None:
    session, record = rsp_session.current(ctx), ctx.volatile.get(DeviceChangeSession)
    if (session is None or session.dp_auth is None or record is None or record.kind != kind
            or record.transaction_id != session.transaction_id):
        return None
    return session, record


def _signature_error(session: rsp_session.RspSession, signed: bytes, previous: bytes, signature: bytes) -> bool:
    try:
        verify_signature(session.dp_auth.public_key, signed + EUICC_SIGNATURE1_PREFIX + previous, signature)
    except CertificateRejected:
        return True
    return False


def prepare_device_change(ctx: Context, data: bytes) -> bytes:
    """BF4D PrepareDeviceChange (module docstring, step 2)."""
    request = der.decode("PrepareDeviceChangeRequest", data, v3=True)
    raw = der.children(data)
    signed4 = request["smdpSigned4"]

    def error(code: int) -> bytes:
        return der.encode("PrepareDeviceChangeResponse", ("prepareDeviceChangeResponseError", {
            "transactionId": signed4["transactionId"], "downloadErrorCode": code}), v3=True)

    current = _current(ctx, DEVICE_CHANGE)
    if current is None or current[1].euicc_signature3:
        return error(NO_SESSION)
    session, record = current
    if signed4["transactionId"] != session.transaction_id:
        return error(INVALID_TRANSACTION_ID)
    if _signature_error(session, raw[0], session.euicc_signature1, request["smdpSignature4"]):
        return error(INVALID_SIGNATURE)
    if signed4["ccRequiredFlag"] and "hashCc" not in request:
        return error(UNDEFINED_ERROR)
    credential = identity.load(ctx.store).credential(session.ci_pkid)
    curve = Curve.from_name(credential.curve)
    record.one_time_key = EckaKeyPair(curve, ctx.runtime(RspRuntime).generate_key(curve.ec_curve))
    signed3: dict[str, Any] = {"transactionId": signed4["transactionId"],
                               "eacEuiccOtpk": record.one_time_key.public_point}
    if "hashCc" in request:
        signed3["hashCc"] = request["hashCc"]
    signature = credential.sign(der.encode("EUICCSigned3", signed3, v3=True) + raw[1])
    record.euicc_signature3 = signature
    return der.encode("PrepareDeviceChangeResponse", ("prepareDeviceChangeResponseOk", {
        "euiccSigned3": signed3, "euiccSignature3": signature}), v3=True)


def verify_device_change(ctx: Context, data: bytes) -> bytes:
    """BF4B VerifyDeviceChange (module docstring, step 3)."""
    request = der.decode("VerifyDeviceChangeRequest", data, v3=True)
    signed5 = request["smdpSigned5"]

    def error(code: int) -> bytes:
        return der.encode("VerifyDeviceChangeResponse", ("verifyDeviceChangeError", code), v3=True)

    current = _current(ctx, DEVICE_CHANGE)
    if current is None or not current[1].euicc_signature3:
        return error(NO_SESSION)
    session, record = current
    if signed5["transactionId"] != session.transaction_id:
        return error(INVALID_TRANSACTION_ID)
    if _signature_error(session, der.children(data)[0], record.euicc_signature3, request["smdpSignature5"]):
        return error(INVALID_SIGNATURE)
    kind, change = signed5["deviceChangeResponse"]
    if kind == "encryptedDeviceChangeData":
        try:
            change = device_change_encryption.decrypt(record.one_time_key, ctx.services.eid, change)
        except device_change_encryption.DecryptionRefused as exc:
            return error(exc.code)
    if bytes(change["iccid"]) != record.iccid:
        return error(INVALID_DATA)
    try:
        rec = ProfileManager(ctx.store).by_iccid(record.iccid)
    except ProfileError:
        return error(INVALID_DATA)
    if "deleteOldProfile" in change and rec.state != STATE_DISABLED:
        return error(NOT_DISABLED)
    if "deleteOldProfile" in change and rec.profile_class == CLASS_OPERATIONAL and rec.ppr & PPR2:
        return error(DISALLOWED_BY_POLICY)
    if "profileRecoverySupport" in change:
        until = change.get("profileRecoveryValidityPeriod")
        ctx.store.put(rsp_keys.profile_recovery(record.iccid), {
            "address": session.server_address,
            "valid_until": int(until.replace(tzinfo=until.tzinfo or dt.timezone.utc).timestamp()) if until else None})
    ctx.volatile.pop(DeviceChangeSession)
    rsp_session.end(ctx)
    return der.encode("VerifyDeviceChangeResponse", ("verifyDeviceChangeOk", change), v3=True)


def verify_profile_recovery(ctx: Context, data: bytes) -> bytes:
    """BF62 VerifyProfileRecovery (module docstring, Profile Recovery)."""
    request = der.decode("VerifyProfileRecoveryRequest", data, v3=True)

    def answer(code: int | None) -> bytes:
        value = ("verifyProfileRecoveryOk", None) if code is None else ("verifyProfileRecoveryError", code)
        return der.encode("VerifyProfileRecoveryResponse", value, v3=True)

    current = _current(ctx, PROFILE_RECOVERY)
    if current is None:
        return answer(NO_SESSION)
    session, record = current
    if request["smdpSigned4"]["transactionId"] != session.transaction_id:
        return answer(INVALID_TRANSACTION_ID)
    if _signature_error(session, der.children(data)[0], session.euicc_signature1, request["smdpSignature4"]):
        return answer(INVALID_SIGNATURE)
    ctx.store.delete(rsp_keys.profile_recovery(record.iccid))
    ctx.volatile.pop(DeviceChangeSession)
    return answer(None)


FUNCTIONS = {0xBF4D: prepare_device_change, 0xBF4B: verify_device_change, 0xBF62: verify_profile_recovery}
