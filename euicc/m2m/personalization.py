"""SGP.02 personalisation of a card (what the EUM puts in at manufacturing, SGP.02 §2.2.1 /
§2.2.3): the ISD-R's first SCP80 key set (the initial SM-SR's), SK.ECASD.ECKA with
CERT.ECASD.ECKA, PK.CI.ECDSA, and the SM-SR's SMS address for notifications.

:func:`personalize` stores given credentials.  :func:`ensure_personalized` gives a card that has
none the documented test credentials: KVN 01 with :data:`TEST_KIC` / :data:`TEST_KID` /
:data:`TEST_DEK` (AES-128), a fresh ECASD key on NIST P-256 certified ('7F21', GP Amd E) by the
package's test EUM, and the package's SGP.26-style test CI public key (euicc/test_eum).
"""
from __future__ import annotations

from importlib import resources

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from euicc import keys as card_keys
from euicc import tlv
from euicc.crypto.certificates import sign
from euicc.crypto.ecka import Curve, EckaKeyPair, encode_public_key
from euicc.m2m.keystore import Scp80Keys
from euicc.m2m.records import CI_KEY, ECASD_CERT, ECASD_KEY, SMSR_ADDRESS, OtaKeySet, SmsrAddress
from euicc.nvm import Store

TEST_KIC = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
TEST_KID = bytes.fromhex("101112131415161718191A1B1C1D1E1F")
TEST_DEK = bytes.fromhex("202122232425262728292A2B2C2D2E2F")
TEST_SMSR_ADDRESS = SmsrAddress(0x91, "4412345678")


def personalize(store: Store, *, keysets: tuple[OtaKeySet, ...], ecasd: EckaKeyPair, ecasd_cert: bytes,
                ci_curve: Curve, ci_point: bytes, smsr_address: SmsrAddress | None = None) -> None:
    """Store SGP.02 credentials (replacing any ISD-R key sets)."""
    keys = Scp80Keys.isdr(store)
    for kvn in keys.kvns():
        keys.delete(kvn)
    for keyset in keysets:
        keys.put(keyset)
    store.put(ECASD_KEY, (ecasd.curve.value, ecasd.private_value))
    store.put(ECASD_CERT, ecasd_cert)
    store.put(CI_KEY, (ci_curve.value, ci_point))
    if smsr_address is not None:
        store.put(SMSR_ADDRESS, smsr_address)


def ensure_personalized(store: Store) -> None:
    """Give a card without SGP.02 credentials the test ones (see module docstring)."""
    if store.get(CI_KEY) is not None:
        return
    pki = resources.files("euicc") / "test_eum"
    ci = x509.load_der_x509_certificate((pki / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.der").read_bytes())
    eum_key = serialization.load_pem_private_key((pki / "EUM" / "SK_EUM_ECDSA_NIST.pem").read_bytes(), None)
    ecasd = EckaKeyPair.generate(Curve.NIST_P256)
    if not isinstance(eum_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the package's test EUM key is not an EC key")
    body = (tlv.tlv(0x93, b"\x01") + tlv.tlv(0x42, b"EUM") + tlv.tlv(0x5F20, store.get(card_keys.EID, b""))
            + tlv.tlv(0x95, b"\x82") + tlv.tlv(0x5F24, bytes.fromhex("20991231"))
            + tlv.tlv(0x73, tlv.tlv(0xC8, b"\x03"))
            + tlv.tlv(0x7F49, tlv.tlv(0xB0, ecasd.public_point) + tlv.tlv(0xF0, b"\x00")))
    cert = tlv.tlv(0x7F21, body + tlv.tlv(0x5F37, sign(eum_key, body)))
    personalize(store, keysets=(OtaKeySet(0x01, TEST_KIC, TEST_KID, TEST_DEK),), ecasd=ecasd,
                ecasd_cert=cert, ci_curve=Curve.NIST_P256,
                ci_point=encode_public_key(ci.public_key()), smsr_address=TEST_SMSR_ADDRESS)
