"""TS 23.040 SMS-DELIVER / SMS-SUBMIT, TS 31.115 UDH, concatenation, and the TS 102 223 D1 ENVELOPE."""
from __future__ import annotations

import pytest

from euicc.crypto.scp80 import Accepted, CounterState, Scp80, parse_command_packet
from euicc.ota.envelope import parse_sms_pp_download, sms_pp_response
from euicc.ota.errors import OtaFormatError
from euicc.ota.sms import (IEI_COMMAND_PACKET, IEI_RESPONSE_PACKET, Address, Alphabet, InformationElement,
                           Reassembler, SmsDeliver, build_sms_submit, dcs_alphabet, dcs_class, segment_user_data)
from tools.ota import packet as host
from tools.ota.transport import envelope_apdu, parse_sms_submit, sms_deliver_tpdus

h = bytes.fromhex
# Hand-assembled per TS 23.040 §9.2.2.1: UDHI, OA "12345" international, PID 7F, DCS F6,
# SCTS, UDL 8, UDH 02 70 00, five payload bytes.
DELIVER = h("40" "05912143F5" "7F" "F6" "52115211000000" "08" "027000" "0102030405")


def test_parse_known_deliver():
    sms = SmsDeliver.parse(DELIVER)
    assert sms.udhi and sms.originator == Address(0x91, "12345")
    assert (sms.pid, sms.dcs, sms.udl) == (0x7F, 0xF6, 8)
    assert sms.header == (InformationElement(IEI_COMMAND_PACKET),)
    assert sms.payload == h("0102030405")


@pytest.mark.parametrize("tpdu", [
    b"", h("41") + DELIVER[1:],  # empty; MTI '01' is SMS-SUBMIT
    DELIVER[:-1], DELIVER + b"\x00",  # UD shorter / longer than TP-UDL
    DELIVER[:3],  # address truncated
    DELIVER[:12],  # header truncated
    DELIVER[:16] + h("027005") + DELIVER[19:],  # IE '70' claims 5 bytes inside a 2-byte UDH
    DELIVER[:16] + h("09") + DELIVER[17:],  # UDHL beyond the user data
    h("40") + h("15") + DELIVER[2:],  # address of 21 digits
])
def test_malformed_deliver(tpdu):
    with pytest.raises(OtaFormatError):
        SmsDeliver.parse(tpdu)


def test_dcs_coding():
    assert dcs_alphabet(0xF6) == Alphabet.EIGHT_BIT and dcs_class(0xF6) == 2
    assert dcs_alphabet(0x16) == Alphabet.EIGHT_BIT and dcs_class(0x16) == 2
    assert dcs_alphabet(0x00) == Alphabet.GSM7 and dcs_class(0x00) is None
    assert dcs_alphabet(0x08) == Alphabet.UCS2 and dcs_alphabet(0x0C) == Alphabet.GSM7  # reserved -> GSM7
    assert dcs_alphabet(0xE0) == Alphabet.UCS2 and dcs_alphabet(0xF0) == Alphabet.GSM7


def test_seven_bit_length_in_septets():
    # DCS 00: TP-UDL counts septets, 8 septets take 7 octets (TS 23.040 §9.2.3.16)
    tpdu = h("00" "01" "91" "F1" "00" "00" "52115211000000" "08") + bytes(7)
    assert SmsDeliver.parse(tpdu).user_data == bytes(7)


def test_envelope_with_long_packet_is_concatenated_and_reassembled(dict_keys):
    keyset = host.OtaKeyset(1, host.AES, bytes(16), host.AES, bytes(range(16)))
    data = bytes(range(200))
    command = host.build_command_packet(keyset, h("1639"), h("000001"), data, counter=1)
    tpdus = sms_deliver_tpdus(command, reference=0x42)
    assert len(tpdus) == 2
    buffer = Reassembler()
    results = []
    for tpdu in reversed(tpdus):  # out of order on purpose
        download = parse_sms_pp_download(envelope_apdu(tpdu)[5:])
        assert download.address == h("811032")
        results.append(buffer.add(SmsDeliver.parse(download.tpdu)))
    assert results[0] is None and buffer.pending == 0
    message = results[1]
    assert message.element(IEI_COMMAND_PACKET) is not None
    parsed = parse_command_packet(message.payload)
    result = Scp80(dict_keys(1, bytes(16), bytes(range(16)))).unwrap(parsed, CounterState(0))
    assert isinstance(result, Accepted) and result.secured_data == data


def test_concatenation_errors_and_bounds():
    def part(ref: int, total: int, seq: int) -> SmsDeliver:
        ud = h("0500 03") + bytes([ref, total, seq]) + b"x"
        return SmsDeliver.parse(h("40 05912143F5 7F F6 52115211000000") + bytes([len(ud)]) + ud)

    buffer = Reassembler(max_messages=2, max_segments=3)
    for ref in range(3):
        assert buffer.add(part(ref, 2, 1)) is None
    assert buffer.pending == 2  # the oldest was dropped
    with pytest.raises(OtaFormatError):
        buffer.add(part(9, 4, 1))  # more segments than the buffer allows
    for total, seq in ((0, 0), (2, 3), (2, 0)):
        with pytest.raises(OtaFormatError):
            buffer.add(part(1, total, seq))
    bad_length = h("40 05912143F5 7F F6 52115211000000 06 05 00 02 01 01 78")
    with pytest.raises(OtaFormatError):
        buffer.add(SmsDeliver.parse(bad_length))


def test_sms_submit_for_por_and_segmentation():
    por = h("027100000b0a0000010000000000000009")[3:]
    header = (InformationElement(IEI_RESPONSE_PACKET),)
    tpdu = build_sms_submit(Address(0x91, "4912345"), por, header, message_reference=7)
    submit = parse_sms_submit(tpdu)
    assert (submit.destination, submit.pid, submit.dcs) == ("4912345", 0x7F, 0xF6)
    assert submit.udh == h("7100") and submit.payload == por
    segments = segment_user_data(header, bytes(300), reference=5)
    assert [len(chunk) for _, chunk in segments] == [132, 134, 34]
    assert segments[0][0][1] == header[0] and len(segments[1][0]) == 1
    assert all(len(build_sms_submit(Address(0x81, "1"), c, ies)) <= 140 + 12 for ies, c in segments)
    with pytest.raises(OtaFormatError):
        build_sms_submit(Address(0x81, "1"), bytes(141))


def test_known_envelope_header_from_pysim_docs():
    # pySim docs/smpp2sim.rst example begins D1 47 82 02 83 81 86 04 00 10 32 54 8B 3B 40 ...
    tpdu = bytes([0x40]) + bytes(58)
    data = h("D147 82028381 860400103254 8B3B") + tpdu
    download = parse_sms_pp_download(data)
    assert (download.source, download.destination) == (0x83, 0x81)
    assert download.address == h("00103254") and download.tpdu == tpdu


@pytest.mark.parametrize("data", [
    b"", h("D0028201"), h("D103820283"),  # empty, wrong tag, overrun
    h("D1048202838100"),  # trailing byte
    h("D1078202838186008B"),  # length missing inside
    h("D1048B024000"),  # no device identities
    h("D109820283818600" "8B0140"),  # empty address
    h("D107820281838B0140"),  # wrong direction (UICC -> network)
    h("D10B820283818B014082028381"),  # repeated
    h("D10A82028381900100990140"),  # comprehension-required unknown
    h("D10482028381"),  # TPDU missing
    h("D18107820283818B0140"),  # length '81 07' not in its shortest form (TS 101 220 §7.1.1)
    h("D109820283818B82000140"),  # "82 00 01" likewise, inside
    h("D10982028381" "0000" "8B0140"),  # tag '00': not a TLV tag here
    h("D10A82028381" "1F0100" "8B0140"),  # a multi-byte tag: SMS-PP uses one-byte tags
])
def test_malformed_envelope(data):
    with pytest.raises(OtaFormatError) as info:
        parse_sms_pp_download(data)
    assert info.value.sw == 0x6A80


def test_unknown_optional_tlv_is_skipped():
    download = parse_sms_pp_download(h("D10A820283811001AA8B0140"))
    assert download.tpdu == h("40") and download.address is None


def test_envelope_response():
    assert sms_pp_response(b"\x02\x71\x00").data == b"\x02\x71\x00"
    assert sms_pp_response(None).sw == 0x9000
    assert sms_pp_response(b"x", failed=True).sw == 0x9000
    assert sms_pp_response(b"x", failed=True, error_sw=0x6200).sw == 0x6200
