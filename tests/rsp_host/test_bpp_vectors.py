"""Bound profile package generation against the SGP.22 BSP known answers in
tests/vectors (test_vectors.json, section sgp22_bsp_scp03t)."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from euicc import tlv
from tests.vectors import section
from tools.lpa.es10 import split_bpp
from tools.scp.bsp_host import SessionKeySet
from tools.smdpp import bpp


@pytest.fixture(scope="module")
def vectors():
    return section("sgp22_bsp_scp03t")


def test_ecka_and_kdf(vectors):
    ecka, kdf = vectors["ecka"], vectors["kdf"][0]
    sk = ec.derive_private_key(int(ecka["smdp_otSK"], 16), ec.SECP256R1())
    assert bpp.point_bytes(sk).hex() == ecka["smdp_otPK"]
    keys = bpp.session_keys(sk, bytes.fromhex(ecka["euicc_otPK"]), bytes.fromhex(kdf["hostId"]),
                            bytes.fromhex(kdf["EID"]))
    assert (keys.s_enc.hex(), keys.s_mac.hex(), keys.initial_mcv.hex()) == (kdf["S_ENC"], kdf["S_MAC"], kdf["initial_MCV"])


def test_segments_match_the_known_answers(vectors):
    k = vectors["session_blocks"]["keys"]
    keys = SessionKeySet(bytes.fromhex(k["initial_MCV"]), bytes.fromhex(k["S_ENC"]), bytes.fromhex(k["S_MAC"]))
    blocks = vectors["session_blocks"]["blocks_in_order"]
    p = vectors["ppk_blocks"]["keys_from_ReplaceSessionKeys"]
    ppk = SessionKeySet(bytes.fromhex(p["initial_MCV"]), bytes.fromhex(p["PPK_ENC"]), bytes.fromhex(p["PPK_MAC"]))
    upp_blocks = vectors["ppk_blocks"]["blocks_in_order"]
    upp = b"".join(bytes.fromhex(b["plaintext"]) for b in upp_blocks)
    init_sc = tlv.tlv(0xBF23, b"")   # placeholder: the segments do not depend on it
    package = bpp.bound_profile_package(init_sc, keys, bytes.fromhex(blocks[0]["plaintext"]),
                                        bytes.fromhex(blocks[1]["plaintext"]), upp, ppk)
    parts = split_bpp(package)
    # BF36 header + BF23 | A0{87} | A1 header | 88 | A2{87} | A3 header | 86 | 86
    assert parts[1] == tlv.tlv(0xA0, bytes.fromhex(blocks[0]["tlv"]))
    assert parts[3].hex() == blocks[1]["tlv"]
    assert parts[4] == tlv.tlv(0xA2, bytes.fromhex(blocks[2]["tlv"]))
    assert [x.hex() for x in parts[6:]] == [b["tlv"] for b in upp_blocks]
    assert all(len(x) <= 1020 for x in parts[6:])


def test_initialise_secure_channel_signature_input(credentials):
    """smdpSign covers 82 || 80 || A6 || 5F49(smdp) || 5F49(euicc) (SGP.22 §5.5.1), checked with
    pyca/cryptography directly."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    cred = next(iter(credentials.sets.values()))
    smdp_pk, euicc_pk = b"\x04" + bytes(64), b"\x04" + bytes(range(64))
    out = bpp.initialise_secure_channel(b"\x01\x02", b"HOST", smdp_pk, euicc_pk, cred.pb.key)
    body = tlv.unwrap(out, 0xBF23)
    expected_signed = bytes.fromhex("820101" "80020102" "A60C" "800188" "810110" "8404") + b"HOST" + \
        b"\x5f\x49\x41" + smdp_pk
    assert body.startswith(expected_signed)
    sig = body[len(expected_signed):]
    assert sig[:3] == b"\x5f\x37\x40"
    r, s = int.from_bytes(sig[3:35], "big"), int.from_bytes(sig[35:], "big")
    cred.pb.cert.public_key().verify(encode_dss_signature(r, s), expected_signed + b"\x5f\x49\x41" + euicc_pk,
                                     ec.ECDSA(hashes.SHA256()))
