"""GSMTAP messages and the GSMTAP / pcap sinks, against bytes typed in from the format's sources:
libosmocore ``gsmtap.h`` (struct gsmtap_hdr, GSMTAP_TYPE_SIM 0x04, GSMTAP_SIM_APDU 0x00,
GSMTAP_SIM_ATR 0x01, port 4729), ``pcap-savefile(5)``, RFC 791 (IPv4), RFC 768 (UDP), and
Wireshark's own decoding (tshark)."""
import socket
import struct

import pytest

from tests.bridge import tshark
from tests.bridge.helpers import ATR
from vpcd_bridge.gsmtap import GsmtapSink, apdu_message, event_message, parse_target
from vpcd_bridge.pcap import PcapSink
from vpcd_bridge.sink import CardEvent

# version 2 | hdr_len 4 words | type SIM | timeslot 0 | arfcn 0000 | signal 0 | snr 0 | frame 00000000 |
# sub_type | antenna 0 | sub_slot | res 0
HEADER_APDU_SLOT0 = bytes.fromhex("02 04 04 00 0000 00 00 00000000 00 00 00 00")
HEADER_APDU_SLOT3 = bytes.fromhex("02 04 04 00 0000 00 00 00000000 00 00 03 00")
HEADER_ATR_SLOT1 = bytes.fromhex("02 04 04 00 0000 00 00 00000000 01 00 01 00")
SELECT_MF = bytes.fromhex("00A40004023F00")


def test_apdu_message_is_header_command_then_response():
    assert apdu_message(0, SELECT_MF, bytes.fromhex("6122")) == HEADER_APDU_SLOT0 + bytes.fromhex("00A40004023F006122")
    assert apdu_message(3, bytes.fromhex("00B000000A"), bytes.fromhex("98001000000000000010 9000")) == \
        HEADER_APDU_SLOT3 + bytes.fromhex("00B000000A 98001000000000000010 9000")


@pytest.mark.parametrize("event,sent", [(CardEvent.POWER_ON, True), (CardEvent.RESET, True),
                                        (CardEvent.POWER_OFF, False), (CardEvent.LINK_LOST, False)])
def test_atr_message_after_power_on_and_reset_only(event, sent):
    assert event_message(1, event, ATR) == (HEADER_ATR_SLOT1 + ATR if sent else None)


@pytest.mark.parametrize("text,target", [
    ("127.0.0.1", ("127.0.0.1", 4729)), ("127.0.0.1:5000", ("127.0.0.1", 5000)), ("localhost:1", ("localhost", 1)),
    ("[::1]", ("::1", 4729)), ("[::1]:4730", ("::1", 4730)), ("::1", ("::1", 4729)),
])
def test_parse_target(text, target):
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["", ":4729", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x",
                                  "127.0.0.1:²", "[::1", "[::1]4729", "no-such-host.invalid"])
def test_parse_target_rejects(text):
    with pytest.raises(ValueError):
        parse_target(text)


@pytest.fixture
def receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_gsmtap_sink_sends_one_datagram_per_pair_and_atr(receiver):
    with GsmtapSink("127.0.0.1", receiver.getsockname()[1]) as sink:
        sink.event(1, CardEvent.POWER_ON, ATR)
        sink.command(3, SELECT_MF)  # nothing yet: the pair goes out with the response
        sink.response(3, SELECT_MF, bytes.fromhex("6122"))
        sink.event(1, CardEvent.POWER_OFF, ATR)
        sink.response(0, SELECT_MF, bytes.fromhex("9000"))
    got = [receiver.recv(65535) for _ in range(3)]
    assert got == [HEADER_ATR_SLOT1 + ATR, HEADER_APDU_SLOT3 + SELECT_MF + bytes.fromhex("6122"),
                   HEADER_APDU_SLOT0 + SELECT_MF + bytes.fromhex("9000")]


def test_local_sink_only_when_nobody_listens_and_a_later_receiver_takes_over(receiver):
    """libosmocore gsmtap_source_add_sink(): a local, free destination gets a never-read socket;
    a receiver bound before is left alone; one bound later with SO_REUSEADDR gets the messages."""
    with GsmtapSink("127.0.0.1", receiver.getsockname()[1]) as sink:
        assert sink.local_sink is None              # the receiver was there first
        sink.response(0, SELECT_MF, b"\x90\x00")
        assert receiver.recv(65535) == HEADER_APDU_SLOT0 + SELECT_MF + b"\x90\x00"
    port = receiver.getsockname()[1]
    receiver.close()
    with GsmtapSink("127.0.0.1", port) as sink:
        assert sink.local_sink is not None
        later = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        later.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        later.bind(("127.0.0.1", port))
        later.settimeout(5)
        sink.response(0, SELECT_MF, b"\x90\x00")
        assert later.recv(65535) == HEADER_APDU_SLOT0 + SELECT_MF + b"\x90\x00"
        later.close()
    with GsmtapSink("192.0.2.1", port) as remote:  # not one of our addresses (RFC 5737); nothing is sent
        assert remote.local_sink is None


def test_gsmtap_sink_without_listener_or_oversized_never_raises(receiver, caplog):
    port = receiver.getsockname()[1]
    receiver.close()  # nobody on that port: ICMP port unreachable must not reach the card
    with GsmtapSink("127.0.0.1", port) as sink:
        for _ in range(3):
            sink.response(0, SELECT_MF, b"\x90\x00")
        sink.response(0, bytes(70000), b"\x90\x00")
        assert sink.dropped == 1
    assert "message of 70018 bytes exceeds one UDP datagram" in caplog.text


def read_pcap(data: bytes) -> tuple[tuple, list[tuple[int, bytes]]]:
    """pcap-savefile(5), written independently: (global header, [(ts seconds, frame)])."""
    magic, major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert magic == 0xA1B2C3D4  # microsecond timestamps, little-endian file
    records, offset = [], 24
    while offset < len(data):
        sec, _usec, caplen, length = struct.unpack_from("<IIII", data, offset)
        assert caplen == length
        records.append((sec, data[offset + 16:offset + 16 + caplen]))
        offset += 16 + caplen
    return (major, minor, snaplen, linktype), records


def ones_complement_sum(data: bytes) -> int:
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def test_pcap_frames_are_ethernet_ipv4_udp_to_4729(tmp_path):
    path = tmp_path / "t.pcap"
    with PcapSink(path) as sink:
        sink.event(1, CardEvent.POWER_ON, ATR)
        sink.response(3, SELECT_MF, bytes.fromhex("6122"))
    (major, minor, snaplen, linktype), records = read_pcap(path.read_bytes())
    assert (major, minor, linktype) == (2, 4, 1) and snaplen >= 65535  # LINKTYPE_ETHERNET
    assert len(records) == 2
    messages = []
    for _sec, frame in records:
        assert frame[12:14] == b"\x08\x00"  # EtherType IPv4
        ip = frame[14:34]
        assert ip[0] == 0x45 and ip[9] == 17  # version 4, IHL 5; protocol UDP
        assert struct.unpack(">H", ip[2:4])[0] == len(frame) - 14
        assert ip[12:16] == ip[16:20] == bytes([127, 0, 0, 1])
        assert ones_complement_sum(ip) == 0xFFFF  # RFC 791 header checksum
        sport, dport, ulen, _sum = struct.unpack(">HHHH", frame[34:42])
        assert (sport, dport, ulen) == (4729, 4729, len(frame) - 34)
        messages.append(frame[42:])
    assert messages == [HEADER_ATR_SLOT1 + ATR, HEADER_APDU_SLOT3 + SELECT_MF + bytes.fromhex("6122")]


def test_pcap_is_decoded_by_wireshark_gsm_sim_without_options(tmp_path):
    path = tmp_path / "t.pcap"
    with PcapSink(path) as sink:
        sink.response(0, SELECT_MF, bytes.fromhex("6122"))
        sink.response(0, bytes.fromhex("00B000000A"), bytes.fromhex("98001000000000000010 9000"))
        sink.response(0, bytes.fromhex("80E2910006BF3E035C015A"), bytes.fromhex("6112"))
    rows = tshark.fields(path, ["frame.protocols", "gsm_sim.apdu.ins", "gsm_sim.file_id", "gsm_sim.apdu.data",
                                "gsm_sim.apdu.sw"])
    assert all(r["frame.protocols"] == "eth:ethertype:ip:udp:gsmtap:gsm_sim" for r in rows)
    decoded = [(r["gsm_sim.apdu.ins"], r["gsm_sim.file_id"], r["gsm_sim.apdu.data"], r["gsm_sim.apdu.sw"]) for r in rows]
    assert decoded == [
        ("0xa4", "0x3f00", "", "0x6122"),
        ("0xb0", "", "98001000000000000010", "0x9000"),
        ("0xe2", "", "bf3e035c015a", "0x6112"),
    ]


def test_pcap_open_failure_is_an_oserror(tmp_path):
    with pytest.raises(OSError):
        PcapSink(tmp_path / "missing-dir" / "t.pcap")
