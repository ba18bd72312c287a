"""The LPA's download sequence (SGP.22 §3.1.2 / §3.1.3), driven against the card under test."""
from __future__ import annotations

from dataclasses import dataclass

from euicc.asn1 import rsp
from tests.rsp.helpers import EID1, TS48, Lpa, Smdp, metadata, split, verify


@dataclass
class Download:
    smdp: Smdp
    euicc_cert: bytes
    euicc_signature1: bytes
    euicc_otpk: bytes = b""


def authenticate(lpa: Lpa, smdp: Smdp) -> Download:
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    raw = lpa.es10(smdp.authenticate_server(challenge))
    kind, ok = rsp().decode("AuthenticateServerResponse", raw)
    assert kind == "authenticateResponseOk", ok
    parts = split(split(raw)[0])          # BF38 { A0 { euiccSigned1, 5F37, cert, cert } }
    euicc_cert = rsp().encode("Certificate", ok["euiccCertificate"])
    verify(euicc_cert, parts[0], ok["euiccSignature1"])       # DER(euiccSigned1) as received
    return Download(smdp, euicc_cert, ok["euiccSignature1"])


def prepare(lpa: Lpa, dl: Download, **kwargs) -> dict:
    """PrepareDownload; checks euiccSignature2 over DER(euiccSigned2) || smdpSignature2 TLV."""
    request = dl.smdp.prepare_download(dl.euicc_signature1, **kwargs)
    raw = lpa.es10(request)
    kind, value = rsp().decode("PrepareDownloadResponse", raw)
    assert kind == "downloadResponseOk", value
    signed2_raw = split(split(raw)[0])[0]     # BF21 { A0 { euiccSigned2, 5F37 } }
    verify(dl.euicc_cert, signed2_raw + split(request)[1], value["euiccSignature2"])
    dl.euicc_otpk = value["euiccSigned2"]["euiccOtpk"]
    return value


def load(lpa: Lpa, dl: Download, segments: list[bytes]) -> dict:
    """Send the segments until one answers (the last one, or a failure); returns the BF37 data."""
    for seg in segments:
        raw = lpa.es10(seg)
        if raw:
            break
    pir = rsp().decode("ProfileInstallationResult", raw)
    data_raw = split(raw)[0]
    verify(dl.euicc_cert, data_raw, pir["euiccSignPIR"])
    return pir["profileInstallationResultData"]


def full_download(lpa: Lpa, smdp: Smdp | None = None, upp: bytes | None = None, meta: dict | None = None,
                  **bpp_kwargs) -> dict:
    smdp = smdp or Smdp()
    dl = authenticate(lpa, smdp)
    prepare(lpa, dl)
    segments = smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), upp or TS48.read_bytes(),
                                          meta or metadata(), **bpp_kwargs)
    return load(lpa, dl, segments)
