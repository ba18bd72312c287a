"""ECKA (BSI TR-03111 ECKA-DH) on NIST P-256 and brainpoolP256r1, SGP.22 key encodings."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.crypto.ecka import (
    Curve,
    EckaError,
    EckaKeyPair,
    decode_public_key,
    parse_public_key_tlv,
    public_key_tlv,
)
from tests.crypto.helpers import h
from tests.vectors import SGP26
from tools.scp.bsp_host import ecka_shared_secret

HOST_CURVE_NAME = {Curve.NIST_P256: "secp256r1", Curve.BRAINPOOL_P256R1: "brainpoolP256r1"}


def point_of(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_private(path) -> ec.EllipticCurvePrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), None)


def test_vector_shared_secret(bsp_vectors):
    v = bsp_vectors["ecka"]
    pair = EckaKeyPair.from_private_value(Curve.NIST_P256, h(v["smdp_otSK"]))
    assert pair.public_point == h(v["smdp_otPK"])
    assert pair.private_value == h(v["smdp_otSK"])
    assert pair.shared_secret(h(v["euicc_otPK"])) == h(v["shared_secret"])


def test_host_vector_shared_secret(bsp_vectors):
    v = bsp_vectors["ecka"]
    sk = ec.derive_private_key(int(v["smdp_otSK"], 16), ec.SECP256R1())
    assert ecka_shared_secret("secp256r1", sk, h(v["euicc_otPK"])) == h(v["shared_secret"])


@pytest.mark.parametrize("curve, suffix", [(Curve.NIST_P256, "NIST"), (Curve.BRAINPOOL_P256R1, "BRP")])
def test_sgp26_key_pairs_load_with_their_published_public_keys(curve, suffix):
    """The published SGP.26 eUICC key: the private scalar gives the published public point."""
    sk = load_private(SGP26 / f"eUICC/SK_EUICC_ECDSA_{suffix}.pem")
    pk = serialization.load_pem_public_key((SGP26 / f"eUICC/PK_EUICC_ECDSA_{suffix}.pem").read_bytes())
    pair = EckaKeyPair.from_private_value(curve, sk.private_numbers().private_value.to_bytes(32, "big"))
    assert pair.public_point == point_of(pk)
    dp = load_private(SGP26 / f"DPpb/SK_S_SM_DPpb_ECDSA_{suffix}.pem")
    host_secret = ecka_shared_secret(HOST_CURVE_NAME[curve], dp, pair.public_point)
    assert pair.shared_secret(point_of(dp.public_key())) == host_secret


@pytest.mark.parametrize("curve", list(Curve))
def test_one_time_keys_agree_with_host(curve):
    card = EckaKeyPair.generate(curve)
    assert card.public_point[0] == 0x04 and len(card.public_point) == 65
    host_sk = ec.generate_private_key(curve.ec_curve)
    secret = card.shared_secret(point_of(host_sk.public_key()))
    assert len(secret) == 32
    assert secret == ecka_shared_secret(HOST_CURVE_NAME[curve], host_sk, card.public_point)
    assert EckaKeyPair.generate(curve).public_point != card.public_point


def test_curve_from_oid():
    assert Curve.from_oid("1.2.840.10045.3.1.7") is Curve.NIST_P256
    assert Curve.from_oid("1.3.36.3.3.2.8.1.1.7") is Curve.BRAINPOOL_P256R1
    with pytest.raises(EckaError):
        Curve.from_oid("1.3.132.0.34")


def test_public_key_tlv_round_trip(bsp_vectors):
    point = h(bsp_vectors["ecka"]["euicc_otPK"])
    tlv = public_key_tlv(point)
    assert tlv[:3] == h("5f4941")
    assert parse_public_key_tlv(tlv) == point


@pytest.mark.parametrize("tlv", [b"", h("5f49"), h("5f4902aa"), h("5f4801aa"), h("5f4981410400")])
def test_bad_public_key_tlv(tlv):
    with pytest.raises(EckaError):
        parse_public_key_tlv(tlv)


def test_public_key_tlv_refuses_long_points():
    with pytest.raises(EckaError):
        public_key_tlv(bytes(200))


def test_bad_peer_points(bsp_vectors):
    point = h(bsp_vectors["ecka"]["euicc_otPK"])
    off_curve = point[:-1] + bytes([point[-1] ^ 1])
    compressed = bytes([0x02 + (point[-1] & 1)]) + point[1:33]
    pair = EckaKeyPair.generate(Curve.NIST_P256)
    for bad in (off_curve, compressed, point[:-1], b"\x05" + point[1:], b""):
        with pytest.raises(EckaError):
            pair.shared_secret(bad)
    with pytest.raises(EckaError):  # a P-256 point is not on brainpoolP256r1
        decode_public_key(Curve.BRAINPOOL_P256R1, point)


@pytest.mark.parametrize("scalar", [bytes(32), b"\xff" * 32])
def test_bad_private_scalar(scalar):
    with pytest.raises(EckaError):
        EckaKeyPair.from_private_value(Curve.NIST_P256, scalar)
