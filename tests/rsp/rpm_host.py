"""Host side of the RPM tests (SGP.22 v3.1 §3.7): an SM-DP+ that authenticates with
operationType {rpm} and builds LoadRpmPackage requests, and the checks of the eUICC's answer.

Independent of the card code: everything is encoded and decoded with the published v3.1 module
(tests/vectors/data/asn1/sgp22v3, compiled by the test), signatures are made and checked with
``cryptography`` (tests.rsp.helpers) from the SGP.26 DPauth key and the eUICC certificate the
card sent in AuthenticateServer.
"""
from __future__ import annotations

from dataclasses import dataclass

import asn1tools
from cryptography import x509

from tests.rsp.flow import Download, load, prepare
from tests.rsp.helpers import EID1, SGP26, TS48, Lpa, sign, split, swap, tlv, verify
from tests.vectors import ASN1
from tools.fuzz.rsp_host import with_iccid          # host tool: a second copy of one UPP

RPM = (b"\x40", 2)                      # OperationType {rpm}
DEVICE = {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}
OWNER_OID = "1.3.6.1.4.1.31746.1.99"
ALL_TYPES = (b"\xf8", 5)                # RpmType enable .. contactPcmp


def compile_v3():
    files = [ASN1 / "sgp22v3" / "RSPDefinitions-v3.1.edited.asn", ASN1 / "sgp22" / "PKIX1Explicit88.asn",
             ASN1 / "sgp22" / "PKIX1Implicit88.asn", ASN1 / "saip" / "PE_Definitions-3.3.1.asn"]
    return asn1tools.compile_files([str(f) for f in files], "der")


def dpauth_oid(tag: str = "NIST") -> str:
    """The SM-DP+ OID of the SGP.26 CERT.DPauth (subjectAltName registeredID)."""
    cert = x509.load_der_x509_certificate((SGP26 / "DPauth" / f"CERT_S_SM_DPauth_ECDSA_{tag}.der").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.RegisteredID)[0].dotted_string


def rpm_configuration(oid: str | None = None, rpm_type=ALL_TYPES, **extra) -> dict:
    entry = {"managingDpOid": oid or dpauth_oid()}
    if rpm_type is not None:
        entry["rpmType"] = rpm_type
    return {"managingDpList": [entry], "profileOwnerOid": OWNER_OID, **extra}


def install(lpa: Lpa, v3, smdp_class, iccid: str, **members) -> dict:
    """A v3 download of the TS.48 profile with ICCID ``iccid`` and extra metadata ``members``."""
    smdp = smdp_class(v3)
    dl = authenticate(lpa, smdp, v3)
    prepare(lpa, dl)
    meta = v3.encode("StoreMetadataRequest", {"iccid": swap(iccid), "serviceProviderName": "GSMA Test",
                                              "profileName": f"Profile {iccid}", **members})
    upp = with_iccid(TS48.read_bytes(), iccid)
    data = load(lpa, dl, smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), upp, meta))
    assert data["finalResult"][0] == "successResult", data
    return data


def authenticate(lpa: Lpa, smdp, v3) -> Download:
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    raw = lpa.es10(smdp.authenticate_server(challenge))
    kind, ok = v3.decode("AuthenticateServerResponse", raw)
    assert kind == "authenticateResponseOk", ok
    euicc_cert = v3.encode("Certificate", ok["euiccCertificate"])
    verify(euicc_cert, split(split(raw)[0])[0], ok["euiccSignature1"])
    return Download(smdp, euicc_cert, ok["euiccSignature1"])


@dataclass
class RpmAnswer:
    kind: str                  # loadRpmPackageResultSigned | loadRpmPackageResultNotSigned
    value: dict
    raw: bytes

    @property
    def data(self) -> dict:
        return self.value["loadRpmPackageResultDataSigned"]

    @property
    def results(self) -> list[dict]:
        kind, results = self.data["finalResult"]
        assert kind == "rpmPackageExecutionResult", (kind, results)
        return results


def package_request(v3, smdp, dl: Download, commands: list, *, transaction_id: bytes | None = None,
                    corrupt: bool = False, raw_commands: bytes | None = None,
                    target_port: int | None = None) -> bytes:
    """LoadRpmPackageRequest: smdpSignature3 = SK.DPauth over smdpSigned3 || '5F3740' || euiccSignature1;
    with ``target_port`` its ``targetEsimPort`` (MEP), the whole request encoded by the module."""
    signed3 = v3.encode("SmdpSigned3", {"transactionId": transaction_id or smdp.transaction_id,
                                        "rpmPackage": commands})
    if raw_commands is not None:                       # a damaged package, signed as sent
        parts = split(signed3)
        signed3 = tlv(b"\x30", parts[0] + tlv(b"\xa1", raw_commands))
    signature = sign(smdp.auth_key, signed3 + b"\x5f\x37\x40" + dl.euicc_signature1)
    if corrupt:
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    if target_port is not None:
        return v3.encode("LoadRpmPackageRequest", {"smdpSigned3": v3.decode("SmdpSigned3", signed3),
                                                   "smdpSignature3": signature, "targetEsimPort": target_port})
    return tlv(b"\xbf\x44", signed3 + tlv(b"\x5f\x37", signature))


def answer(lpa: Lpa, v3, dl: Download | None, request: bytes) -> RpmAnswer:
    """Send LoadRpmPackage; a signed result is verified with CERT.EUICC over the DER of
    LoadRpmPackageResultDataSigned (the received 'A0' member with its universal tag '30')."""
    raw = lpa.es10(request)
    kind, value = v3.decode("LoadRpmPackageResult", raw)
    if kind == "loadRpmPackageResultSigned":
        member, signature = split(split(raw)[0])
        assert member[0] == 0xA0 and signature[0] == 0x81
        verify(dl.euicc_cert, b"\x30" + member[1:], value["euiccSignRPR"])
    return RpmAnswer(kind, value, raw)


def command(kind: str, iccid: str | None = None, continue_on_failure: bool = False, **params) -> dict:
    details = dict(params)
    if iccid is not None:
        details["iccid"] = swap(iccid)
    value = {"rpmCommandDetails": (kind, details)}
    if continue_on_failure:
        value["continueOnFailure"] = None
    return value
