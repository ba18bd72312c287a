"""SUCI (TS 33.501 Annex C.3) against the published test data of Annex C.4, and a
network-side deconcealment (SIDF) written here from Annex C.3.3."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from euicc.auth.suci import (ProtectionScheme, SuciError, encode_suci_imsi, msin_scheme_input,
                             scheme_output)

h = bytes.fromhex

# TS 33.501 Annex C.4.3 (Profile A) and C.4.4 (Profile B), transcribed from the spec text.
A_HN_PRIV = h("c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d")
A_HN_PUB = h("5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650")
B_HN_PRIV = h("F1AB1074477EBCC7F554EA1C5FC368B1616730155E0041AC447D6301975FECDA")
B_HN_PUB_C = h("0272DA71976234CE833A6907425867B82E074D44EF907DFB4B3E21C1C2256EBCD1")
B_HN_PUB_U = h("0472DA71976234CE833A6907425867B82E074D44EF907DFB4B3E21C1C2256EBCD1"
               "5A7DED52FCBB097A4ED250E036C7B9C8C7004C4EEDC4F068CD7BF8D3F900E3B4")
NAI_INPUT = b"verylongusername1"  # '766572796C6F6E67757365726E616D6531'

ANNEX_C4 = [
    # (clause, scheme, HN public key, eph. private key, scheme input, scheme output)
    ("C.4.3.1", 1, A_HN_PUB, "c80949f13ebe61af4ebdbd293ea4f942696b9e815d7e8f0096bbf6ed7de62256",
     h("00012080f6"),
     "b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d" "cb02352410"
     "cddd9e730ef3fa87"),
    ("C.4.3.2", 1, A_HN_PUB, "BE9EFF3E9F22A4B42A3D236E7A6C500B3F2E7E0C7449988BA800D664BF4FCD97",
     NAI_INPUT,
     "977D8B2FDAA7B64AA700D04227D5B440630EA4EC50F9082273A26BB678C92222"
     "8E358A1582ADB15322C10E515141D2039A" "12E1D7783A97F1AC"),
    ("C.4.4.1", 2, B_HN_PUB_C, "99798858A1DC6A2C68637149A4B1DBFD1FDFF5ADDD62A2142F06699ED7602529",
     h("00012080F6"),
     "039AAB8376597021E855679A9778EA0B67396E68C66DF32C0F41E9ACCA2DA9B9D1" "46A33FC271"
     "6AC7DAE96AA30A4D"),
    ("C.4.4.1u", 2, B_HN_PUB_U, "99798858A1DC6A2C68637149A4B1DBFD1FDFF5ADDD62A2142F06699ED7602529",
     h("00012080F6"),
     "039AAB8376597021E855679A9778EA0B67396E68C66DF32C0F41E9ACCA2DA9B9D1" "46A33FC271"
     "6AC7DAE96AA30A4D"),
    ("C.4.4.2", 2, B_HN_PUB_C, "90A5898BD29FFA3F261E00E980067C70A2B1B992A21F5B4FEF6D4DF69FE804AD",
     NAI_INPUT,
     "03759BB22C563D9F4A6B3C1419E543FC2F39D6823F02A9D71162B39399218B244B"
     "BE22D8B9F856A52ED381CD7EAF4CF2D525" "3CDDC61A0A7882EB"),
]


@pytest.mark.parametrize("clause,scheme,hn_pub,eph,plain,expected", ANNEX_C4,
                         ids=[c[0] for c in ANNEX_C4])
def test_annex_c4_scheme_output(clause, scheme, hn_pub, eph, plain, expected):
    assert scheme_output(scheme, plain, hn_pub, h(eph)) == h(expected)


def test_null_scheme_c42():
    assert scheme_output(ProtectionScheme.NULL, h("00012080F6")) == h("00012080F6")
    assert scheme_output(0, NAI_INPUT) == NAI_INPUT


def test_msin_scheme_input_c42():
    assert msin_scheme_input("001002086") == h("00012080F6")  # C.4.2.1
    assert msin_scheme_input("0123456789") == h("1032547698")
    with pytest.raises(SuciError):
        msin_scheme_input("12a4")
    with pytest.raises(SuciError):
        msin_scheme_input("")


# ---- SIDF: network-side deconcealment, TS 33.501 Annex C.3.3 ----

def _sidf(scheme: int, output: bytes) -> bytes:
    if scheme == 1:
        eph_pub, rest = output[:32], output[32:]
        shared = x25519.X25519PrivateKey.from_private_bytes(A_HN_PRIV).exchange(
            x25519.X25519PublicKey.from_public_bytes(eph_pub))
    else:
        eph_pub, rest = output[:33], output[33:]
        priv = ec.derive_private_key(int.from_bytes(B_HN_PRIV, "big"), ec.SECP256R1())
        shared = priv.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), eph_pub))
    ct, tag = rest[:-8], rest[-8:]
    km = X963KDF(hashes.SHA256(), 64, eph_pub).derive(shared)
    assert hmac.new(km[32:], ct, hashlib.sha256).digest()[:8] == tag
    return Cipher(algorithms.AES(km[:16]), modes.CTR(km[16:32])).decryptor().update(ct)


def test_sidf_reproduces_published_intermediates():
    # Annex C.4.3.1: shared key, then Enc key || ICB || MAC key from the X9.63 KDF.
    shared = x25519.X25519PrivateKey.from_private_bytes(A_HN_PRIV).exchange(
        x25519.X25519PublicKey.from_public_bytes(
            h("b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d")))
    assert shared == h("028ddf890ec83cdf163947ce45f6ec1a0e3070ea5fe57e2b1f05139f3e82422a")
    km = X963KDF(hashes.SHA256(), 64, h(
        "b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d")).derive(shared)
    assert km[:16] == h("2ba342cabd2b3b1e5e4e890da11b65f6")
    assert km[16:32] == h("e2622cb0cdd08204e721c8ea9b95a7c6")
    assert km[32:] == h("d9846966fb7cf5fcf11266c5957dea60b83fff2b7c940690a4bfe57b1eb52bd2")


@pytest.mark.parametrize("scheme,hn_pub", [(1, A_HN_PUB), (2, B_HN_PUB_C), (2, B_HN_PUB_U)])
def test_fresh_ephemeral_keys_deconceal(scheme, hn_pub):
    plain = msin_scheme_input("0123456789")
    outputs = {scheme_output(scheme, plain, hn_pub) for _ in range(3)}
    assert len(outputs) == 3  # a new ephemeral key each time
    for out in outputs:
        assert len(out) == (32 if scheme == 1 else 33) + len(plain) + 8
        assert _sidf(scheme, out) == plain


def test_encode_suci_imsi_ts24501():
    out = h("00012080f6")
    # 274/012: MCC 2 7 4, MNC 0 1 2 -> 72 24 10; routing indicator "678" -> 76 F8.
    assert encode_suci_imsi("274", "012", "678", 1, 27, out) == (
        h("01" "722410" "76f8" "01" "1b") + out)
    # 208/93 (2-digit MNC: filler F), routing indicator "0".
    assert encode_suci_imsi("208", "93", "0", 2, 2, b"") == h("0102f839f0ff0202")


@pytest.mark.parametrize("args", [
    ("27", "012", "0", 1, 1), ("274", "0123", "0", 1, 1), ("274", "01", "", 1, 1),
    ("274", "01", "12345", 1, 1), ("274", "01", "0", 16, 1), ("274", "01", "0", 1, 256),
    ("2x4", "01", "0", 1, 1),
])
def test_encode_suci_rejects(args):
    with pytest.raises(SuciError):
        encode_suci_imsi(*args, b"\x00")


@pytest.mark.parametrize("scheme,hn_pub,eph", [
    (1, bytes(32), None),                      # low-order point: all-zero shared secret
    (1, A_HN_PUB[:31], None),
    (1, A_HN_PUB, bytes(31)),
    (2, B_HN_PUB_C[:32], None),
    (2, b"\x05" + B_HN_PUB_C[1:], None),
    (2, b"\x04" + B_HN_PUB_C[1:], None),       # tag does not match the length
    (2, b"\x02" + bytes(31) + b"\x01", None),  # x = 1 is not on P-256
    (2, B_HN_PUB_C, bytes(32)),                # scalar 0
    (2, B_HN_PUB_C, bytes(31)),
    (3, A_HN_PUB, None),
])
def test_bad_keys_and_schemes(scheme, hn_pub, eph):
    with pytest.raises(SuciError):
        scheme_output(scheme, h("00012080F6"), hn_pub, eph)


def test_empty_input_rejected():
    with pytest.raises(SuciError):
        scheme_output(1, b"", A_HN_PUB)
