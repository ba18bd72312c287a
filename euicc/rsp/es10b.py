"""ES10b (LPA -> ISD-R, download and session): SGP.22 v2.5 §5.7.7 GetEUICCChallenge, §5.7.8
GetEUICCInfo, §5.7.13 AuthenticateServer, §5.7.14 CancelSession, §5.7.17 PrepareDownload and
LoadCRL.  LoadBoundProfilePackage is :mod:`euicc.rsp.bpp`, the notification functions are
:mod:`euicc.rsp.notifications`, GetRAT is :mod:`euicc.rsp.rat`.

Function errors are results inside a '9000' response (the Error CHOICE of each response), the
session state is volatile (:mod:`euicc.rsp.rsp_session`).  serverAddress is copied into
euiccSigned1; comparing it with the address the LPA used is the LPA's check (§3.1.2).

Version of a session (SGP.22 v3.1 §3.1.2 / §5.7.13, ServerSigned1 ``sessionContext``
"#SupportedFromV3.0.0#"; [U] the clause text was not readable here, this is the rule implemented):
the SM-DP+ learns the eUICC's versions from euiccInfo1 (``lowestSvn``/``highestSvn``) in
ES9+.InitiateAuthentication and chooses; a server that chose v3 signs a ``sessionContext``
(serverSvn, crlStaplingV3Used) into serverSigned1, a v2 server cannot.  So the session is v3 when
the card implements v3 (``highestSvn`` 3.x) *and* serverSigned1 carries ``sessionContext``; then
AuthenticateServer, PrepareDownload, StoreMetadata and CancelSession use the v3.1 module and
euiccSigned1 carries EUICCInfo2 in its v3 form.  Otherwise every message is decoded and answered
with the v2.5 module exactly as a v2.5 card does.  The choice lives in the volatile RSP session.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError
from euicc.crypto import cert_server
from euicc.crypto.cert_identity import EuiccIdentity, IdentityError
from euicc.crypto.certificates import CertificateRejected, CertResult, DownloadErrorCode, VerifiedCertificate
from euicc.crypto.ecka import Curve, EckaKeyPair
from euicc.gp import card_resources
from euicc.rsp import crl, crl_stapling, der, device_change, euicc_info, identity, rsp_session, trust
from euicc.rsp.runtime import OneTimeKey, RspRuntime

if TYPE_CHECKING:
    from euicc.context import Context

CHALLENGE_LENGTH = 16
NO_SESSION_CONTEXT = 4
EUICC_CHALLENGE_MISMATCH = 6
INVALID_TRANSACTION_ID = 5
UNDEFINED_ERROR = 127
COMMON_AUTHENTICATION = "ctxParamsForCommonAuthentication"
PROFILE_DOWNLOAD_ONLY = (bytes((0x80,)), 1)        # OperationType {profileDownload}
RPM_ONLY = (bytes((0x40,)), 2)                      # OperationType {rpm} (SGP.22 v3.1 §3.7.2)


def card_identity(ctx: Context) -> EuiccIdentity:
    """The eUICC's identity; a card without one refuses RSP with '6985'."""
    try:
        return identity.load(ctx.store)
    except IdentityError:
        raise SwError(SW.CONDITIONS_NOT_SATISFIED) from None


def get_euicc_challenge(ctx: Context, data: bytes) -> bytes:
    """BF2E (§5.7.7): a fresh 16-byte challenge; it starts a new RSP session."""
    der.decode("GetEuiccChallengeRequest", data)
    challenge = ctx.runtime(RspRuntime).random(CHALLENGE_LENGTH)
    rsp_session.start(ctx, challenge)
    return der.encode("GetEuiccChallengeResponse", {"euiccChallenge": challenge})


def get_euicc_info1(ctx: Context, data: bytes) -> bytes:
    """BF20 (§5.7.8)."""
    der.decode("GetEuiccInfo1Request", data)
    return euicc_info.euicc_info1(card_identity(ctx), euicc_info.settings(ctx.config))


def get_euicc_info2(ctx: Context, data: bytes) -> bytes:
    """BF22 (§5.7.8)."""
    der.decode("GetEuiccInfo2Request", data)
    return euicc_info.euicc_info2(card_identity(ctx), card_resources.of_card(ctx).encode(),
                                    euicc_info.settings(ctx.config))


def _revocation_check(ctx: Context, verified: VerifiedCertificate) -> None:
    if crl.is_revoked(ctx.store, verified.ci_pkid, verified.certificate.serial_number):
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "certificate revoked by a loaded CRL")


def authenticate_server(ctx: Context, data: bytes) -> bytes:
    """BF38 (§5.7.13): verify CERT.XXauth and serverSignature1, match euiccChallenge, then
    return euiccSigned1 signed with SK.EUICC.ECDSA of the requested CI, with CERT.EUICC/EUM."""
    settings = euicc_info.settings(ctx.config)
    v3 = settings.v3 and "sessionContext" in der.decode("AuthenticateServerRequest", data, v3=True)["serverSigned1"]
    request = der.decode("AuthenticateServerRequest", data, v3=v3)
    raw = der.children(data)
    signed1 = request["serverSigned1"]
    ident = card_identity(ctx)
    session = rsp_session.current(ctx)

    def error(code: int) -> bytes:
        rsp_session.end(ctx)
        return der.encode("AuthenticateServerResponse", ("authenticateResponseError", {
            "transactionId": signed1["transactionId"], "authenticateErrorCode": int(code)}), v3=v3)

    try:
        server, pkid, intermediates = trust.check_server(ident, settings, request, raw, v3)
        _revocation_check(ctx, server)
        if v3 and settings.crl_stapling:
            crl_stapling.check(request, raw, *crl_stapling.chain_of(ident, server, intermediates),
                               ctx.runtime(RspRuntime).clock())
        credential = ident.credential(pkid)
    except CertificateRejected as exc:
        return error(exc.result)
    if session is None or session.transaction_id is not None:
        return error(NO_SESSION_CONTEXT)
    if signed1["euiccChallenge"] != session.euicc_challenge:
        return error(EUICC_CHALLENGE_MISMATCH)
    if v3 and request["ctxParams1"][0] in device_change.CONTEXTS:
        code = device_change.context_error(ctx, request["ctxParams1"], signed1["serverAddress"], server.ci_pkid,
                                           signed1["transactionId"])
        if code is not None:
            return error(code)
    elif der.undefined_alternative(request["ctxParams1"]) or (
            v3 and not _v3_context_supported(request["ctxParams1"])):
        return error(UNDEFINED_ERROR)   # also a CtxParams1 alternative its module does not define
    euicc_signed1 = {
        "transactionId": signed1["transactionId"],
        "serverAddress": signed1["serverAddress"],
        "serverChallenge": signed1["serverChallenge"],
        "euiccInfo2": euicc_info.euicc_info2_value(ident, card_resources.of_card(ctx).encode(), settings, v3=v3),
        "ctxParams1": request["ctxParams1"],
    }
    signature = credential.sign(der.encode("EuiccSigned1", euicc_signed1, v3=v3))
    session.v3 = v3
    session.rpm = v3 and _operation_type(request["ctxParams1"]) == RPM_ONLY
    session.transaction_id = signed1["transactionId"]
    session.server_address = signed1["serverAddress"]
    session.ci_pkid = bytes(pkid)
    session.server_chain = intermediates
    session.dp_auth = server
    session.euicc_signature1 = signature
    session.device_info = request["ctxParams1"][1].get("deviceInfo")
    # v3.1 names the EUM certificate nextCertInChain (same position, same encoding)
    return der.encode("AuthenticateServerResponse", ("authenticateResponseOk", {
        "euiccSigned1": euicc_signed1, "euiccSignature1": signature,
        "euiccCertificate": der.decode_certificate(credential.cert_euicc),
        "nextCertInChain" if v3 else "eumCertificate": der.decode_certificate(credential.cert_eum)}), v3=v3)


def _operation_type(ctx_params1: tuple) -> tuple[bytes, int] | None:
    """operationType of a Common Authentication CtxParams1 (SGP.22 v3.1 §5.7.13), else None."""
    kind, params = ctx_params1
    return params.get("operationType", PROFILE_DOWNLOAD_ONLY) if kind == COMMON_AUTHENTICATION else None


def _v3_context_supported(ctx_params1: tuple) -> bool:
    """v3.1 CtxParams1 this card can serve besides Device Change / Profile Recovery
    (:mod:`euicc.rsp.device_change`): Common Authentication for a profile download or for RPM
    (operationType {rpm}, §3.7.2: a LoadRpmPackage follows, :mod:`euicc.rsp.rpm`).  Push Service
    registration and other operationType combinations are not implemented; they are refused with
    undefinedError (127) [U: no dedicated code]."""
    return _operation_type(ctx_params1) in (PROFILE_DOWNLOAD_ONLY, RPM_ONLY)


def prepare_download(ctx: Context, data: bytes) -> bytes:
    """BF21 (§5.7.17): verify CERT.DPpb and smdpSignature2, check the session and hashCc rule,
    generate (or, with bppEuiccOtpk, re-use) otPK/otSK.EUICC.ECKA, sign euiccSigned2."""
    session = rsp_session.current(ctx)
    v3 = session is not None and session.v3
    request = der.decode("PrepareDownloadRequest", data, v3=v3)
    raw = der.children(data)
    signed2 = request["smdpSigned2"]

    def error(code: int) -> bytes:
        return der.encode("PrepareDownloadResponse", ("downloadResponseError", {
            "transactionId": signed2["transactionId"], "downloadErrorCode": int(code)}), v3=v3)

    if (session is None or session.dp_auth is None or session.otk is not None or session.rpm
            or device_change.in_session(ctx)):
        return error(DownloadErrorCode.NO_SESSION_CONTEXT)
    ident = card_identity(ctx)
    try:
        dp_pb = cert_server.check_prepare_download(
            ident.verifier(), session.dp_auth, raw[-1], raw[0], request["smdpSignature2"],
            session.euicc_signature1, session.server_chain)
        _revocation_check(ctx, dp_pb)
    except CertificateRejected as exc:
        return error(exc.download_error)
    if signed2["transactionId"] != session.transaction_id:
        return error(DownloadErrorCode.INVALID_TRANSACTION_ID)
    hash_cc = request.get("hashCc")
    if signed2["ccRequiredFlag"] and hash_cc is None:
        return error(DownloadErrorCode.UNDEFINED_ERROR)     # [R] no code of its own in v2.5
    credential = ident.credential(session.ci_pkid)
    otk = _one_time_key(ctx, Curve.from_name(credential.curve), signed2.get("bppEuiccOtpk"))
    euicc_signed2 = {"transactionId": signed2["transactionId"], "euiccOtpk": otk.public_point}
    if hash_cc is not None:
        euicc_signed2["hashCc"] = hash_cc
    signature2_tlv = raw[1]
    signature = credential.sign(der.encode("EUICCSigned2", euicc_signed2, v3=v3) + signature2_tlv)
    session.dp_pb = dp_pb
    session.otk = otk
    return der.encode("PrepareDownloadResponse", ("downloadResponseOk", {
        "euiccSigned2": euicc_signed2, "euiccSignature2": signature}), v3=v3)


def _one_time_key(ctx: Context, curve: Curve, previous: bytes | None) -> EckaKeyPair:
    """§3.1.3.2 / §5.7.17: re-use the kept one-time key when the SM-DP+ names it, else a new one."""
    record = ctx.volatile.get(OneTimeKey)
    kept = record.key if record is not None else None
    if previous is not None and kept is not None and kept.curve is curve and kept.public_point == previous:
        return kept
    otk = EckaKeyPair(curve, ctx.runtime(RspRuntime).generate_key(curve.ec_curve))
    ctx.volatile.put(OneTimeKey(otk))
    return otk


def forget_one_time_key(ctx: Context) -> None:
    """After a successful installation the one-time key is never used again (§3.1.3.3)."""
    ctx.volatile.pop(OneTimeKey)


def cancel_session(ctx: Context, data: bytes) -> bytes:
    """BF41 (§5.7.14): sign euiccCancelSessionSigned and end the session; a transactionId other
    than the session's gives invalidTransactionId (5).  In a v3 session the v3.1 module (its
    CancelSessionReason adds sessionAborted (16) .. operationAbandoned (30))."""
    session = rsp_session.current(ctx)
    v3 = session is not None and session.v3
    request = der.decode("CancelSessionRequest", data, v3=v3)
    if session is None or session.dp_auth is None or request["transactionId"] != session.transaction_id:
        return der.encode("CancelSessionResponse", ("cancelSessionResponseError", INVALID_TRANSACTION_ID))
    credential = card_identity(ctx).credential(session.ci_pkid)
    signed = {"transactionId": request["transactionId"], "smdpOid": session.smdp_oid,
              "reason": request["reason"]}
    signature = credential.sign(der.encode("EuiccCancelSessionSigned", signed, v3=v3))
    rsp_session.end(ctx)
    return der.encode("CancelSessionResponse", ("cancelSessionResponseOk", {
        "euiccCancelSessionSigned": signed, "euiccCancelSessionSignature": signature}), v3=v3)


def load_crl(ctx: Context, data: bytes) -> bytes:
    """BF35 LoadCRL (SGP.22 v2.5 §5.7.x, removed in v3): see :mod:`euicc.rsp.crl`."""
    der.decode("LoadCRLRequest", data)
    # crl is [0] IMPLICIT under AUTOMATIC TAGS: 'A0' on the wire, the CertificateList is '30'
    result = crl.load(ctx.store, card_identity(ctx), b"\x30" + der.children(data)[0][1:])
    if result:
        return der.encode("LoadCRLResponse", ("loadCRLResponseError", result))
    return der.encode("LoadCRLResponse", ("loadCRLResponseOk", {}))


FUNCTIONS = {0xBF2E: get_euicc_challenge, 0xBF20: get_euicc_info1, 0xBF22: get_euicc_info2,
             0xBF38: authenticate_server, 0xBF21: prepare_download, 0xBF41: cancel_session,
             0xBF35: load_crl}
