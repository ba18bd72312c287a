"""Which RSP servers the eUICC trusts: SGP.22 v3.1 §5.7.13 (AuthenticateServer: certificate chain
variants, CI key lists), §4.5.2 (certificate chains with sub-CAs) and the ES10b functions that
verify a server's signed answer in an authenticated session, VerifySmdsResponse ('BF45') and
VerifySmdpResponse ('BF60').

Trust restrictions applied to CERT.XXauth in AuthenticateServer (:func:`check_server`):

* the chain must end at a CI of ``euiccCiPKIdListForVerification`` (the card's setting, default
  every CI of the identity): otherwise ciPKUnknown (7);
* ``euiccCiPKIdToBeUsed`` must name a CI of ``euiccCiPKIdListForSigning`` (ciPKUnknown); in a v3
  session ``sessionContext.euiccCiPKIdToBeUsedV3`` must name one of
  ``euiccCiPKIdListForSigningV3`` (ciPKUnknown) and is then the CI the eUICC signs for;
* ``otherCertsInChain`` (sub-CA certificates, Variants A/B/C) only in a v3 session of a card with
  ``certChainV3VerificationSupport`` (setting ``EuiccInfoSettings.cert_chain_v3``): otherwise
  invalidCertificate (1); the chain rules are :mod:`euicc.crypto.certificates`'.
  CERT.DPpb (PrepareDownload has no otherCertsInChain) is verified through the same
  intermediates [U].

VerifySmdsResponse / VerifySmdpResponse: noSession (4) without an authenticated server (an SM-DS
auth certificate for the first, an SM-DP+ one for the second), invalidTransactionId (5), and
invalidSignature (2) unless the signature verifies with the session's CERT.XXauth key over
DER(signed data) || '5F37 40' || euiccSignature1, as smdpSignature2 is formed (§5.7.17) [U: the
v3.1 clause text was not readable here].
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from euicc.crypto import cert_server
from euicc.crypto.cert_identity import EuiccIdentity
from euicc.crypto.certificates import (CertificateRejected, CertResult, Role, VerifiedCertificate,
                                       verify_signature)
from euicc.rsp import der, rsp_session
from euicc.rsp.euicc_info import EuiccInfoSettings

if TYPE_CHECKING:
    from euicc.context import Context

INVALID_SIGNATURE, NO_SESSION, INVALID_TRANSACTION_ID = 2, 4, 5
CERTIFICATE, OTHER_CERTS_IN_CHAIN = 0x30, 0xA1


def server_certificates(raw: list[bytes]) -> tuple[bytes, tuple[bytes, ...]]:
    """serverCertificate and otherCertsInChain of an AuthenticateServerRequest's members (raw TLVs:
    serverSigned1, serverSignature1, [euiccCiPKIdToBeUsed], serverCertificate, ctxParams1,
    [otherCertsInChain 'A1'], [crlList 'A2'])."""
    at = next(i for i in range(2, len(raw)) if raw[i][0] == CERTIFICATE)
    others = [r for r in raw[at + 2:] if r[0] == OTHER_CERTS_IN_CHAIN]
    return raw[at], tuple(der.children(others[0])) if others else ()


def check_server(ident: EuiccIdentity, settings: EuiccInfoSettings, request: dict[str, Any], raw: list[bytes],
                 v3: bool) -> tuple[VerifiedCertificate, bytes, tuple[bytes, ...]]:
    """AuthenticateServer's certificate checks (module docstring): the verified CERT.XXauth, the
    CI the eUICC signs for, and the intermediates.  Raises CertificateRejected."""
    certificate, intermediates = server_certificates(raw)
    if intermediates and not (v3 and settings.cert_chain_v3):
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "no certificate chain v3 in this session")
    verification, signing = settings.ci_pkids(ident)
    signing_v3 = request["serverSigned1"].get("sessionContext", {}).get("euiccCiPKIdToBeUsedV3")
    if signing_v3 is not None and bytes(signing_v3) not in settings.ci_pkids_for_signing_v3_of(ident):
        raise CertificateRejected(CertResult.CI_PK_UNKNOWN, "euiccCiPKIdToBeUsedV3 not in the v3 signing list")
    pkid = bytes(request.get("euiccCiPKIdToBeUsed", b""))
    server = cert_server.check_authenticate_server(
        ident.verifier(), certificate, pkid, raw[0], request["serverSignature1"], signing, intermediates)
    if server.ci_pkid not in verification:
        raise CertificateRejected(CertResult.CI_PK_UNKNOWN, "the chain's CI is not one this eUICC verifies with")
    return server, bytes(signing_v3) if signing_v3 is not None else (pkid or server.ci_pkid), intermediates


def _verify_response(ctx: Context, data: bytes, type_name: str, signed: str, signature: str,
                     role: Role) -> bytes:
    request = der.decode(type_name + "Request", data, v3=True)
    session = rsp_session.current(ctx)

    def answer(error: int | None) -> bytes:
        value = ("verify" + type_name[len("Verify"):] + "Ok", None) if error is None else (
            "verify" + type_name[len("Verify"):] + "Error", error)
        return der.encode(type_name + "Response", value, v3=True)

    if session is None or session.dp_auth is None or session.dp_auth.role is not role:
        return answer(NO_SESSION)
    if request[signed]["transactionId"] != session.transaction_id:
        return answer(INVALID_TRANSACTION_ID)
    signed_raw = der.children(data)[0]
    try:
        verify_signature(session.dp_auth.public_key, signed_raw + cert_server.EUICC_SIGNATURE1_PREFIX
                         + session.euicc_signature1, request[signature])
    except CertificateRejected:
        return answer(INVALID_SIGNATURE)
    return answer(None)


def verify_smds_response(ctx: Context, data: bytes) -> bytes:
    """BF45 VerifySmdsResponse (v3.1 §5.7.x): smdsSignature2 of an SM-DS (ES11) answer."""
    return _verify_response(ctx, data, "VerifySmdsResponse", "smdsSigned2", "smdsSignature2", Role.DS_AUTH)


def verify_smdp_response(ctx: Context, data: bytes) -> bytes:
    """BF60 VerifySmdpResponse (v3.1 §5.7.x): smdpSignature6 of a delayed Device Change answer."""
    return _verify_response(ctx, data, "VerifySmdpResponse", "smdpSigned6", "smdpSignature6", Role.DP_AUTH)


FUNCTIONS = {0xBF45: verify_smds_response, 0xBF60: verify_smdp_response}
