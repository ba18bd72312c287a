"""Key establishment of SGP.02 v4.2 §3.1.2 / §3.10 (ES8.EstablishISDPKeySet and
ES5.EstablishISDRKeySet): GP Card Spec Amendment E, Scenario #3 with ECKA-EG, card side.

Step 1 (STORE DATA DGI '3A01'): the off-card entity's certificate, verified with PK.CI.ECDSA
(:mod:`euicc.m2m.gp_certificate`); the card answers '85' with a random challenge RC.
Step 2 (DGI '3A02' CRT, DGI '7F49' ePK, DGI '5F37' signature over '3A02' TLV || '7F49' TLV ||
'00 85 L RC'): ShS = ECKA(SK.ECASD.ECKA, ePK) (BSI TR-03111 §4.3.1); keyData = X9.63 KDF
(SHA-256) of ShS with sharedInfo = KUQ || key type (the CRT's) || key length [|| DR]; keyData = receipt key ||
key 1 [|| key 2 || key 3]; the card answers [ '85' DR ] '86' AES-CMAC(receipt key, CRT [|| '85' DR]).
Byte layout: SPEC_NOTES §2.4 (NJIWA-B and WHTY agree).  Failures raise ``SwError``:
'6A80' malformed or unsupported, '6982' a signature that does not verify, '6985' out of sequence.
"""
from __future__ import annotations

from dataclasses import dataclass


from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.crypto.certificates import CertificateRejected, verify_signature
from euicc.crypto.ecka import Curve, EckaError, EckaKeyPair, decode_public_key
from euicc.crypto.kdf import x963_kdf
from euicc.crypto.primitives import aes_cmac
from euicc.m2m import gp_certificate
from euicc.m2m.dgi import encode_dgi
from euicc.m2m.records import CI_KEY, ECASD_KEY
from euicc.m2m.runtime import KeyAgreement, M2mRuntime
from euicc.m2m.settings import DGI_KEY_AGREEMENT
from euicc.nvm import Store

KEY_TYPE_AES = 0x88
KEY_TYPE_PSK_TLS = 0x85   # GP CS Table 11-16: pre-shared key for TLS (GP Amd B), SCP81 key sets
KUQ_KEY_SET = 0x10        # three keys (ENC/MAC/DEK or KIc/KID/DEK)
KUQ_SINGLE_KEY = 0x5C     # one key used for all three roles [U: SPEC_NOTES §8.8]
SCENARIO_DR = 0x02
SCENARIO_HOST_ID = 0x04
CHALLENGE_LENGTH = 16


@dataclass(frozen=True)
class KeySetRequest:
    """The control reference template 'A6' (GP Amd E §4.x, SPEC_NOTES §2.4)."""

    crt: bytes                # the 'A6' TLV as received (receipt input)
    scenario: int
    kuq: int
    key_type: int
    key_length: int
    first_key_id: int
    kvn: int
    initial_counter: int


@dataclass(frozen=True)
class EstablishedKeys:
    request: KeySetRequest
    keys: tuple[bytes, bytes, bytes]
    response: bytes


def _bad(reason: str) -> SwError:
    return SwError(SW.INCORRECT_DATA)


def receive_certificate(store: Store, runtime: M2mRuntime, target: bytes, data: bytes,
                        role: int) -> tuple[KeyAgreement, bytes]:
    """Step 1: verify the certificate (role 'C8' = `role`) and answer '85' RC."""
    ci = store.get(CI_KEY)
    if ci is None:
        raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    try:
        cert = gp_certificate.parse_certificate(data)
        gp_certificate.verify(cert, Curve.from_oid(ci[0]), ci[1])
    except gp_certificate.CertificateError as exc:
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED if "signature" in str(exc)
                      else SW.INCORRECT_DATA) from None
    except EckaError:
        raise SwError(SW.CONDITIONS_NOT_SATISFIED) from None
    if cert.role != role:
        raise SwError(SW.INCORRECT_DATA)
    challenge = runtime.random(CHALLENGE_LENGTH)
    agreement = KeyAgreement(target, role, cert.curve.value, cert.point, challenge)
    return agreement, tlv.tlv(0x85, challenge)


def parse_crt(crt_tlv: bytes, key_types: tuple[int, ...] = (KEY_TYPE_AES,)) -> KeySetRequest:
    """The CRT's fields; '6A80' when malformed or the key type is not one of ``key_types``."""
    try:
        items = dict(tlv.parse(tlv.unwrap(crt_tlv, 0xA6)))
    except tlv.TlvError:
        raise _bad("CRT malformed") from None
    def one(tag: int) -> int:
        value = items.get(tag)
        if value is None or len(value) != 1:
            raise _bad(f"CRT tag {tag:02X}")
        return value[0]
    scenario = items.get(0x90)
    if scenario is None or len(scenario) != 2 or scenario[0] != 0x03:
        raise _bad("scenario parameter")
    counter = items.get(0x91, b"")
    if len(counter) not in (0, 5):
        raise _bad("initial counter")
    request = KeySetRequest(crt_tlv, scenario[1], one(0x95), one(0x80), one(0x81), one(0x82), one(0x83),
                            int.from_bytes(counter, "big") if counter else 0)
    if request.key_type not in key_types or request.key_length not in (16, 24, 32):
        raise _bad("key type / length")
    if request.kuq not in (KUQ_KEY_SET, KUQ_SINGLE_KEY):
        raise _bad("key usage qualifier")
    return request


def agree(store: Store, runtime: M2mRuntime, agreement: KeyAgreement, dgis: list[tuple[int, bytes]],
          key_types: tuple[int, ...] = (KEY_TYPE_AES,)) -> EstablishedKeys:
    """Step 2: check the signature, derive the key set and build the receipt.  sharedInfo carries the
    CRT's own key type (AES '88'; PSK-TLS '85' for an SCP81 key set, where ``key_types`` allows it)."""
    found = dict(dgis)
    if [t for t, _ in dgis] != [DGI_KEY_AGREEMENT, gp_certificate.TAG_PUBLIC_KEY,
                                gp_certificate.TAG_SIGNATURE]:
        raise SwError(SW.INCORRECT_DATA)
    crt, epk, signature = found[DGI_KEY_AGREEMENT], found[0x7F49], found[0x5F37]
    request = parse_crt(crt, key_types)
    if request.scenario & SCENARIO_HOST_ID and not runtime.settings.scenario_04_supported:
        raise SwError(SW.INCORRECT_DATA)
    signed = (encode_dgi(DGI_KEY_AGREEMENT, crt) + encode_dgi(0x7F49, epk)
              + encode_dgi(0x0085, agreement.challenge))
    curve = Curve.from_oid(agreement.curve_oid)
    try:
        verify_signature(decode_public_key(curve, agreement.peer_point), signed, signature)
    except (CertificateRejected, EckaError):
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED) from None
    try:
        _, point = gp_certificate.parse_public_key(epk, default_curve=curve)
        scalar = store.get(ECASD_KEY)
        if scalar is None or scalar[0] != curve.value:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        shared = EckaKeyPair.from_private_value(curve, scalar[1]).shared_secret(point)
    except (gp_certificate.CertificateError, EckaError):
        raise SwError(SW.INCORRECT_DATA) from None
    dr = runtime.random(CHALLENGE_LENGTH) if request.scenario & SCENARIO_DR else b""
    dr_tlv = tlv.tlv(0x85, dr) if dr else b""
    shared_info = bytes((request.kuq, request.key_type, request.key_length)) + dr
    count = 3 if request.kuq == KUQ_KEY_SET else 1
    key_data = x963_kdf(shared, shared_info, 16 + count * request.key_length)
    receipt_key, rest = key_data[:16], key_data[16:]
    keys = [rest[i * request.key_length:(i + 1) * request.key_length] for i in range(count)]
    if count == 1:
        keys *= 3
    receipt = aes_cmac(receipt_key, crt + dr_tlv)
    return EstablishedKeys(request, (keys[0], keys[1], keys[2]), dr_tlv + tlv.tlv(0x86, receipt))
