"""euicc.tlv: BER-TLV (X.690 §8.1) with the DER length rule as an option (X.690 §10.1)."""
import pytest

from euicc import tlv

h = bytes.fromhex


@pytest.mark.parametrize("data, items", [
    (h("8001AA"), [(0x80, h("AA"))]),
    (h("9F700107" "BF2D00"), [(0x9F70, h("07")), (0xBF2D, b"")]),
    (h("81") + h("81") + h("80") + bytes(128), [(0x81, bytes(128))]),
    (h("AB820100") + bytes(256), [(0xAB, bytes(256))]),
])
def test_lax_and_der_agree_on_shortest_forms(data, items):
    assert tlv.parse(data) == items == tlv.parse(data, der=True)
    assert b"".join(tlv.tlv(t, v) for t, v in items) == data


@pytest.mark.parametrize("data, value", [
    (h("80" "8101" "AA"), h("AA")),                       # 1 in the long form
    (h("80" "820001" "AA"), h("AA")),                     # leading zero octet
    (h("80" "83000080") + bytes(128), bytes(128)),        # 128 in three octets
])
def test_der_refuses_what_ber_allows(data, value):
    assert tlv.parse(data) == [(0x80, value)]
    with pytest.raises(tlv.TlvError, match="shortest"):
        tlv.parse(data, der=True)


@pytest.mark.parametrize("data", [h("80"), h("8002AA"), h("8080"), h("8085" "0000000001"), h("9F")])
def test_malformed_is_tlv_error_either_way(data):
    for der in (False, True):
        with pytest.raises(tlv.TlvError):
            tlv.parse(data, der=der)


def test_split_lv_known_answers():
    """INSTALL [for personalization] data, GP Card Spec §11.5.2.3.3: '00' '00' L AID '00' '00' '00'."""
    aid = bytes.fromhex("A0000005591010FFFFFFFF8900001000")
    data = b"\x00\x00\x10" + aid + b"\x00\x00\x00"
    assert tlv.split_lv(data, 6) == [b"", b"", aid, b"", b"", b""]
    assert tlv.split_lv(bytes.fromhex("0211220133"), 2) == [b"\x11\x22", b"\x33"]


@pytest.mark.parametrize("data,count", [("0211", 1), ("021122", 2), ("02112233", 1), ("", 1)],
                         ids=["truncated", "missing item", "trailing byte", "empty"])
def test_split_lv_refuses_malformed_data(data, count):
    with pytest.raises(tlv.TlvError):
        tlv.split_lv(bytes.fromhex(data), count)
