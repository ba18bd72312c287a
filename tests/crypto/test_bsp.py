"""SGP.22 BSP (SCP03t): card against the published blocks, host against the same, round trips
with a TS.48 profile, and the refusals with their ProfileInstallationResult reasons."""
from __future__ import annotations

import pytest
from Crypto.Cipher import AES
from Crypto.Hash import CMAC

from euicc.crypto.bsp import (
    BspError,
    BspKeys,
    BspSecurityError,
    BspSession,
    BspStructureError,
    ErrorReason,
    UnsupportedCrtError,
    shared_info,
)
from euicc.crypto.ecka import Curve, EckaKeyPair
from tests.crypto.helpers import h
from tests.vectors import TS48_V7, cases, section
from tools.scp import bsp_host
from tools.scp.bsp_host import BspProtector, SessionKeySet, protect_bpp

BSP = section("sgp22_bsp_scp03t")
EID = h("89049032123451234512345678901235")
HOST_ID = h("8080808080808080")


def card_keys(d: dict, mcv: str = "initial_MCV", enc: str = "S_ENC", mac: str = "S_MAC") -> BspKeys:
    return BspKeys(h(d[mcv]), h(d[enc]), h(d[mac]))


def host_keys(keys: BspKeys) -> SessionKeySet:
    return SessionKeySet(keys.initial_mcv, keys.s_enc, keys.s_mac)


def ppk_keys(bsp_vectors: dict) -> BspKeys:
    return card_keys(bsp_vectors["ppk_blocks"]["keys_from_ReplaceSessionKeys"], enc="PPK_ENC", mac="PPK_MAC")


def _fresh_session(bsp_vectors) -> BspSession:
    return BspSession(card_keys(bsp_vectors["session_blocks"]["keys"]))


# --- known answers -------------------------------------------------------------------------------


@pytest.mark.parametrize("v", cases(BSP["kdf"], lambda v: f"secret-{v['shared_secret'][:8]}"))
def test_kdf_vectors(v):
    keys = BspKeys.derive(h(v["shared_secret"]), int(v["keyType"], 16), int(v["keyLength"], 16),
                          h(v["hostId"]), h(v["EID"]))
    assert keys == card_keys(v)
    host = bsp_host.session_keys(h(v["shared_secret"]), h(v["hostId"]), h(v["EID"]))
    assert host == SessionKeySet(h(v["initial_MCV"]), h(v["S_ENC"]), h(v["S_MAC"]))


def test_shared_info_layout():
    assert shared_info(0x88, 0x10, HOST_ID, EID) == h("881008") + HOST_ID + b"\x10" + EID


def test_card_unwraps_all_five_blocks(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    blocks = bsp_vectors["session_blocks"]["blocks_in_order"]
    for block in blocks:
        assert session.unwrap(h(block["tlv"])) == h(block["plaintext"])
        assert session.block_counter == block["block_counter"]
    ppk = BspKeys.from_replace_session_keys(h(blocks[2]["plaintext"]))
    assert ppk == ppk_keys(bsp_vectors)
    session.replace_session_keys(ppk)
    for block in bsp_vectors["ppk_blocks"]["blocks_in_order"]:
        assert session.unwrap(h(block["tlv"])) == h(block["plaintext"])
        assert session.block_counter == block["block_counter"]


def test_host_protects_all_five_blocks(bsp_vectors):
    prot = BspProtector(host_keys(card_keys(bsp_vectors["session_blocks"]["keys"])))
    for block in bsp_vectors["session_blocks"]["blocks_in_order"]:
        assert prot.protect(int(block["tag"], 16), h(block["plaintext"])) == h(block["tlv"])
    ppk = host_keys(ppk_keys(bsp_vectors))
    rsk_plaintext = h(bsp_vectors["session_blocks"]["blocks_in_order"][2]["plaintext"])
    assert bsp_host.replace_session_keys_request(ppk) == rsk_plaintext
    prot.replace_keys(ppk)
    for block in bsp_vectors["ppk_blocks"]["blocks_in_order"]:
        assert prot.protect(0x86, h(block["plaintext"])) == h(block["tlv"])


def test_host_segmentation_matches_vector(bsp_vectors):
    """pySim's SM-DP+ trace cut the UPP into 1020-byte segments (1007 plaintext bytes)."""
    first = bsp_vectors["ppk_blocks"]["blocks_in_order"][0]
    assert bsp_host.max_plaintext(0x86) == len(h(first["plaintext"])) == 1007
    assert len(h(first["tlv"])) == bsp_host.MAX_SEGMENT


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("curve", list(Curve))
@pytest.mark.parametrize("with_ppk", (False, True))
def test_round_trip_ts48_profile(curve, with_ppk):
    upp = TS48_V7.read_bytes()
    euicc_ot = EckaKeyPair.generate(curve)
    smdp_ot = EckaKeyPair.generate(curve)  # stands in for the SM-DP+ key; host code does its own ECDH
    host_secret = bsp_host.ecka_shared_secret(
        {Curve.NIST_P256: "secp256r1", Curve.BRAINPOOL_P256R1: "brainpoolP256r1"}[curve],
        smdp_ot.private_key, euicc_ot.public_point)
    ppk = SessionKeySet(bytes(16), bytes(range(16)), bytes(range(16, 32))) if with_ppk else None
    metadata = h("bf250a5a0a98001032547698103214")
    bpp = protect_bpp(bsp_host.session_keys(host_secret, HOST_ID, EID), h("bf2400"), metadata, upp, ppk)
    card = BspSession(BspKeys.derive(euicc_ot.shared_secret(smdp_ot.public_point), 0x88, 0x10, HOST_ID, EID))
    assert [card.unwrap(b) for b in bpp.first_sequence_of_87] == [h("bf2400")]
    assert b"".join(card.unwrap(b) for b in bpp.sequence_of_88) == metadata
    if with_ppk:
        assert bpp.second_sequence_of_87 is not None
        card.replace_session_keys(BspKeys.from_replace_session_keys(card.unwrap(bpp.second_sequence_of_87[0])))
    assert all(len(b) <= bsp_host.MAX_SEGMENT for b in bpp.sequence_of_86)
    assert b"".join(card.unwrap(b) for b in bpp.sequence_of_86) == upp
    assert card.block_counter == len(bpp.sequence_of_86) + (0 if with_ppk else 2)


def test_large_store_metadata_spans_several_88_blocks():
    keys = SessionKeySet(bytes(16), bytes(range(16)), bytes(range(16, 32)))
    metadata = b"\xbf\x25\x82\x09\xc4" + bytes(2500)
    bpp = protect_bpp(keys, h("bf2400"), metadata, b"\xa0\x00")
    assert len(bpp.sequence_of_88) == 3
    card = BspSession(BspKeys(keys.initial_mcv, keys.s_enc, keys.s_mac))
    card.unwrap(bpp.first_sequence_of_87[0])
    assert b"".join(card.unwrap(b) for b in bpp.sequence_of_88) == metadata
    assert card.block_counter == 4


# --- refusals ------------------------------------------------------------------------------------


def _blocks(bsp_vectors) -> list[bytes]:
    return [h(b["tlv"]) for b in bsp_vectors["session_blocks"]["blocks_in_order"]]


def _expect(session: BspSession, block: bytes, error: type[BspError], reason: ErrorReason) -> None:
    with pytest.raises(error) as exc:
        session.unwrap(block)
    assert exc.value.reason is reason
    assert session.closed


@pytest.mark.parametrize("position", (0, 2, -1))  # ciphertext start, ciphertext middle, MAC
def test_mac_failure(bsp_vectors, position):
    block = bytearray(_blocks(bsp_vectors)[0])
    block[position if position < 0 else 2 + position] ^= 0x01
    _expect(_fresh_session(bsp_vectors), bytes(block), BspSecurityError, ErrorReason.SCP03T_SECURITY_ERROR)


def test_mac_failure_on_mac_only_block(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    session.unwrap(_blocks(bsp_vectors)[0])
    block = bytearray(_blocks(bsp_vectors)[1])
    block[5] ^= 0x20  # plaintext StoreMetadata altered
    _expect(session, bytes(block), BspSecurityError, ErrorReason.SCP03T_SECURITY_ERROR)


def test_error_closes_session(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    with pytest.raises(BspSecurityError):
        session.unwrap(_blocks(bsp_vectors)[0][:-1] + b"\x00")
    with pytest.raises(BspStructureError):
        session.unwrap(_blocks(bsp_vectors)[0])  # even the genuine block is refused now
    with pytest.raises(BspStructureError):
        session.replace_session_keys(ppk_keys(bsp_vectors))


def test_replayed_block(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    session.unwrap(_blocks(bsp_vectors)[0])
    _expect(session, _blocks(bsp_vectors)[0], BspSecurityError, ErrorReason.SCP03T_SECURITY_ERROR)


def test_swapped_profile_segments(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    for block in _blocks(bsp_vectors):
        session.unwrap(block)
    session.replace_session_keys(ppk_keys(bsp_vectors))
    second = h(bsp_vectors["ppk_blocks"]["blocks_in_order"][1]["tlv"])
    _expect(session, second, BspSecurityError, ErrorReason.SCP03T_SECURITY_ERROR)


@pytest.mark.parametrize("order", ([1], [0, 1, 2, 1]))
def test_block_order_violations(bsp_vectors, order):
    """88 first, or 88 after secondSequenceOf87: structure errors before any MAC check."""
    blocks = _blocks(bsp_vectors)
    session = _fresh_session(bsp_vectors)
    for index in order[:-1]:
        session.unwrap(blocks[index])
    _expect(session, blocks[order[-1]], BspStructureError, ErrorReason.SCP03T_STRUCTURE_ERROR)


def test_skipped_block_breaks_the_mac_chain(bsp_vectors):
    """87 then (skipping the 88) 87: allowed by the grammar, refused by the MAC chain."""
    blocks = _blocks(bsp_vectors)
    session = _fresh_session(bsp_vectors)
    session.unwrap(blocks[0])
    _expect(session, blocks[2], BspSecurityError, ErrorReason.SCP03T_SECURITY_ERROR)


def test_profile_block_after_profile_blocks_only(bsp_vectors):
    blocks = _blocks(bsp_vectors)
    session = _fresh_session(bsp_vectors)
    session.unwrap(blocks[0])
    session.unwrap(blocks[1])
    session.unwrap(blocks[2])
    session.replace_session_keys(ppk_keys(bsp_vectors))
    session.unwrap(h(bsp_vectors["ppk_blocks"]["blocks_in_order"][0]["tlv"]))
    _expect(session, blocks[2], BspStructureError, ErrorReason.SCP03T_STRUCTURE_ERROR)


@pytest.mark.parametrize("cut", (1, 8, 30))
def test_truncated_blocks(bsp_vectors, cut):
    block = _blocks(bsp_vectors)[0]
    _expect(_fresh_session(bsp_vectors), block[:-cut], BspStructureError, ErrorReason.SCP03T_STRUCTURE_ERROR)


@pytest.mark.parametrize("block", ["87", "8782", "878203", "8784000000000000", "8705" + "00" * 5, "89020000"])
def test_malformed_headers(bsp_vectors, block):
    _expect(_fresh_session(bsp_vectors), h(block), BspStructureError, ErrorReason.SCP03T_STRUCTURE_ERROR)


def test_truncated_profile_segment(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    for block in _blocks(bsp_vectors):
        session.unwrap(block)
    session.replace_session_keys(ppk_keys(bsp_vectors))
    first = h(bsp_vectors["ppk_blocks"]["blocks_in_order"][0]["tlv"])
    _expect(session, first[:512], BspStructureError, ErrorReason.SCP03T_STRUCTURE_ERROR)


def _mac_block(keys: BspKeys, tag: int, payload: bytes) -> bytes:
    """A block with a correct MAC (computed here from §2.6.4) around arbitrary payload."""
    head = bytes([tag, len(payload) + 8])
    mac = CMAC.new(keys.s_mac, msg=keys.initial_mcv + head + payload, ciphermod=AES).digest()[:8]
    return head + payload + mac


@pytest.mark.parametrize("payload", (bytes(15), b""))
def test_bad_ciphertext_under_a_good_mac(payload):
    keys = BspKeys(bytes(16), bytes(range(16)), bytes(range(16, 32)))
    block = _mac_block(keys, 0x87, payload)
    _expect(BspSession(keys), block, BspStructureError, ErrorReason.SCP03T_STRUCTURE_ERROR)


def test_bad_padding_under_a_good_mac():
    keys = BspKeys(bytes(16), bytes(range(16)), bytes(range(16, 32)))
    icv = AES.new(keys.s_enc, AES.MODE_ECB).encrypt((1).to_bytes(16, "big"))
    ciphertext = AES.new(keys.s_enc, AES.MODE_CBC, iv=icv).encrypt(b"\xbf\x24\x00" + bytes(13))  # no '80'
    block = _mac_block(keys, 0x87, ciphertext)
    _expect(BspSession(keys), block, BspStructureError, ErrorReason.SCP03T_STRUCTURE_ERROR)


def test_replace_session_keys_out_of_sequence(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    session.unwrap(_blocks(bsp_vectors)[0])
    with pytest.raises(BspStructureError):
        session.replace_session_keys(ppk_keys(bsp_vectors))
    assert session.closed


def test_replace_session_keys_only_once(bsp_vectors):
    session = _fresh_session(bsp_vectors)
    for block in _blocks(bsp_vectors):
        session.unwrap(block)
    session.replace_session_keys(ppk_keys(bsp_vectors))
    with pytest.raises(BspStructureError):
        session.replace_session_keys(ppk_keys(bsp_vectors))


@pytest.mark.parametrize("request_hex", [
    "bf2500",  # other tag
    "bf2636" + "8010" + "00" * 16 + "8110" + "00" * 16 + "8210" + "00" * 15,  # outer length too long
    "bf2635" + "8010" + "00" * 16 + "8110" + "00" * 16 + "8210" + "00" * 15,  # last value short
    "bf2636" + "8110" + "00" * 16 + "8010" + "00" * 16 + "8210" + "00" * 16,  # wrong order
    "bf2634" + "8010" + "00" * 16 + "810e" + "00" * 14 + "8210" + "00" * 16,  # 14-byte key
    "bf2638" + "8010" + "00" * 16 + "8110" + "00" * 16 + "8210" + "00" * 16 + "0000",  # trailing data
    "bf26",
    "bf2683",
])
def test_malformed_replace_session_keys(request_hex):
    with pytest.raises(BspStructureError) as exc:
        BspKeys.from_replace_session_keys(h(request_hex))
    assert exc.value.reason is ErrorReason.SCP03T_STRUCTURE_ERROR


@pytest.mark.parametrize("key_type, key_length", [(0x80, 0x10), (0x88, 0x20), (0x88, 0x18)])
def test_unsupported_crt_values(key_type, key_length):
    with pytest.raises(UnsupportedCrtError) as exc:
        BspKeys.derive(bytes(32), key_type, key_length, HOST_ID, EID)
    assert exc.value.reason is ErrorReason.UNSUPPORTED_CRT_VALUES == 4
