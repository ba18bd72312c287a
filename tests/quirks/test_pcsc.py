"""End-to-end: vendor quirk profiles as a PC/SC client sees them, pyscard -> pcscd -> ifd-vpcd ->
``euicc-emu run --quirks ...`` (ISO 7816-3 §8.2, §10.3.3; ISO 7816-4 §5.3.4, §11.1.2; GP Card Spec
§11.11; SGP.22 v2.5 §2.2.1, §5.7.2, §5.7.8).

Expected bytes are written out here: the sysmoEUICC1-C2T ATR and SVN as recorded in pySim's test
suite, EUICCInfo1 decoded with asn1tools from the published SGP.22 ASN.1 (``rsp_asn1``).
"""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

SYSMO_ATR = bytes.fromhex("3B9F96803F87828031E073FE211F574543753130136502")
ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
VENDOR_ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900050500")
GET_EID = bytes.fromhex("BF3E035C015A")              # SGP.22 §5.7.20 GetEuiccDataRequest {tagList '5A'}


def store_data(link: T0Link, block: bytes, last: bool = True, number: int = 0) -> tuple[bytes, int]:
    """One STORE DATA block to the ISD-R on the basic channel, sent as lpac does (case 3, no Le)."""
    return link.send(bytes((0x80, 0xE2, 0x91 if last else 0x11, number, len(block))) + block)


def select(link: T0Link, aid: bytes) -> tuple[bytes, int]:
    return link.send(bytes((0x00, 0xA4, 0x04, 0x00, len(aid))) + aid)


def tlv_fields(data: bytes) -> dict[int, bytes]:
    """One level of simple BER-TLV with one-byte tags and short lengths (enough for an FCI)."""
    out, i = {}, 0
    while i < len(data):
        tag, length = data[i], data[i + 1]
        out[tag] = data[i + 2:i + 2 + length]
        i += 2 + length
    return out


def test_sysmoeuicc1_profile(start_card, rsp_asn1):
    from smartcard.CardConnection import CardConnection

    start_card(extra=["--quirks", "sysmoeuicc1"])
    link = T0Link(SLOT)
    try:
        assert link.atr == SYSMO_ATR
        assert link.conn.getProtocol() == CardConnection.T0_protocol   # its ATR offers T=0 only
        fci, sw = select(link, ISD_R)
        fields = tlv_fields(tlv_fields(fci)[0x6F])
        assert sw == 0x9000 and fields[0x84] == ISD_R
        assert tlv_fields(fields[0xE0])[0x82] == bytes((2, 3, 0))
        data, sw = store_data(link, bytes.fromhex("BF2000"))      # GetEUICCInfo1 (§5.7.8)
        assert sw == 0x9000 and rsp_asn1.decode("EUICCInfo1", data)["svn"] == bytes((2, 3, 0))
        # Le policy 6Cxx: STATUS with a wrong Le gets the right length, the re-send the data
        data, sw = link.raw(bytes.fromhex("80F2000004"))
        assert data == b"" and sw >> 8 == 0x6C and (sw & 0xFF) > 4
        fcp, sw = link.raw(bytes.fromhex("80F20000") + bytes((sw & 0xFF,)))
        assert sw == 0x9000 and fcp[0] == 0x62
        # 8 logical channels (ATR '73 FE 21 1F'): 1..7 open, then no free channel
        opened = [link.raw(bytes.fromhex("0070000001")) for _ in range(7)]
        assert opened == [(bytes((n,)), 0x9000) for n in range(1, 8)]
        assert link.raw(bytes.fromhex("0070000001")) == (b"", 0x6A81)
        assert link.raw(bytes.fromhex("0070000800")) == (b"", 0x6881)
    finally:
        link.close()


def test_user_profile_file(start_card, tmp_path):
    """A hand-written profile: vendor ISD-R AID, 'direct' Le policy, 120-byte blocks, 2 channels."""
    path = tmp_path / "lab-card.toml"
    path.write_text('description = "lab card"\n'
                    f'isd_r_aid = "{VENDOR_ISD_R.hex()}"\n'
                    'le_policy = "direct"\nmax_store_data_block = 120\nchannels = 2\n')
    start_card(extra=["--quirks", str(path)])
    link = T0Link(SLOT)
    try:
        assert select(link, ISD_R)[1] == 0x6A82                   # not at the standard AID
        fci, sw = select(link, VENDOR_ISD_R)
        assert sw == 0x9000 and tlv_fields(tlv_fields(fci)[0x6F])[0x84] == VENDOR_ISD_R
        data, sw = store_data(link, GET_EID)
        assert sw == 0x9000 and data[:5] == bytes.fromhex("BF3E125A10")
        assert store_data(link, GET_EID + bytes(115), last=False) == (b"", 0x6700)   # 121 bytes
        assert store_data(link, GET_EID + bytes(114), last=False) == (b"", 0x9000)   # 120 bytes
        # Le policy direct: STATUS with Le 4 gets 4 bytes and 61xx, Le 256 all the data
        full, sw = link.raw(bytes.fromhex("80F2000000"))
        assert sw == 0x9000 and full[0] == 0x62 and len(full) > 4
        assert link.raw(bytes.fromhex("80F2000004")) == (full[:4], 0x6100 | (len(full) - 4))
        assert link.raw(bytes((0x00, 0xC0, 0x00, 0x00, len(full) - 4))) == (full[4:], 0x9000)
        # 2 logical channels: channel 1, then none
        assert link.raw(bytes.fromhex("0070000001")) == (b"\x01", 0x9000)
        assert link.raw(bytes.fromhex("0070000001")) == (b"", 0x6A81)
        assert link.raw(bytes.fromhex("0070000200")) == (b"", 0x6881)
    finally:
        link.close()
