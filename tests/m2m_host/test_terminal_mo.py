"""Terminal simulator (TS 102 223 / TS 102 221) and SM-SR MO handling, against scripted cards and
the host OTA builder (tools.ota, written independently from the spec)."""
from __future__ import annotations

import pytest

from tools.ota.packet import AES, OtaKeyset, build_command_packet
from tools.smdp_m2m.scp03t import Scp03tError, Scp03tHost, segment_upp
from tools.smsr.eis import Eis
from tools.smsr.mo import MoError, MoReassembler, open_command_packet, parse_notification
from tools.smsr.smsr import OtaFailure, SmSr, parse_response_script
from tools.scp.scp03_host import HostKeySet
from tools.terminal import cat
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

KEYSET = OtaKeyset(1, AES, bytes(range(16)), AES, bytes(range(16, 32)))
EID = bytes.fromhex("89049032123451234512345678901235")
ISDP = bytes.fromhex("A0000005591010FFFFFFFF8900001100")


class ScriptedCard:
    """Answers from a list; records every APDU."""

    def __init__(self, answers: list[str]):
        self.answers, self.seen, self.resets = [bytes.fromhex(a) for a in answers], [], 0

    def transmit(self, apdu: bytes) -> bytes:
        self.seen.append(apdu)
        return self.answers.pop(0)

    def reset(self) -> bytes:
        self.resets += 1
        return bytes.fromhex("3B00")


def sms_submit(user_data: bytes) -> bytes:
    """TS 23.040 §9.2.2.2 SMS-SUBMIT with UDHI, no VP, destination '12345', PID 7F, DCS F6."""
    return bytes([0x41, 0x00, 0x05, 0x91, 0x21, 0x43, 0xF5, 0x7F, 0xF6, len(user_data)]) + user_data


def test_start_sends_terminal_profile_and_serves_sms():
    tpdu = sms_submit(b"\x02\x71\x00\x01")
    body = bytes.fromhex("810301130082028183") + bytes([0x8B, len(tpdu)]) + tpdu
    command = bytes([0xD0, len(body)]) + body
    card = ScriptedCard(["9000", f"91{len(command):02X}", command.hex() + "9000", "9000"])
    received = []
    terminal = Terminal(CallableLink(card.transmit, card.reset), lambda tpdu, addr: received.append(tpdu) or True,
                        profile=b"\x01\x02\x00\x02")   # byte 4 b2: SEND SHORT MESSAGE (TS 102 223 §5.2)
    terminal.start()
    assert card.seen[0] == bytes.fromhex("8010000004 01020002".replace(" ", ""))
    data, sw = terminal.send(bytes.fromhex("80C2000000"))
    assert card.seen[2] == bytes([0x80, 0x12, 0, 0, len(command)])  # FETCH with the announced length
    assert card.seen[3] == bytes.fromhex("801400000C" "810301130082028281830100")
    assert received == [tpdu] and sw == 0x9000


def test_refresh_reset_and_unknown_command():
    refresh = bytes.fromhex("D009810301010482028182")
    other = bytes.fromhex("D009810302260082028182")  # PROVIDE LOCAL INFORMATION
    card = ScriptedCard(["9000", "910B", refresh.hex() + "9000", "9000", "910B", other.hex() + "9000", "9000"])
    terminal = Terminal(CallableLink(card.transmit, card.reset), profile=b"\xFF")
    terminal.start()
    _, sw = terminal.send(bytes.fromhex("80F2000000"))
    assert card.resets == 2 and card.seen[3][:2] == b"\x80\x10"  # REFRESH '04': reset + TERMINAL PROFILE, no TR
    _, sw = terminal.send(bytes.fromhex("80F2000000"))
    assert card.seen[-1] == bytes.fromhex("801400000C" "810302260082028281830130") and sw == 0x9000


def test_location_status_event_coding():
    # TS 102 223 §7.5.4: D6 {99 01 03, 82 02 82 81, 9B 01 status [, 93 location information]}
    assert cat.location_status_event(cat.NO_SERVICE).hex().upper() == "80C200000CD60A990103820282819B0102"
    normal = cat.location_status_event(cat.NORMAL_SERVICE, bytes.fromhex("00F11000010001"))
    assert normal.hex().upper().endswith("9B0100930700F11000010001")
    card = ScriptedCard(["9000"])
    terminal = Terminal(CallableLink(card.transmit, card.reset))
    assert terminal.location_status(cat.NO_SERVICE) == 0x9000 and not card.seen  # not in the event list
    # SET UP EVENT LIST (TS 102 223 §6.4.16) {99 01 03}: location status registered, then reported
    register = "D00C810301050082028182990103"
    card = ScriptedCard(["910E", register + "9000", "9000", "9000"])
    terminal = Terminal(CallableLink(card.transmit, card.reset))
    terminal.start()
    assert card.seen[2] == bytes.fromhex("801400000C" "810301050082028281830100") and terminal.event_list == {3}
    assert terminal.location_status(cat.NO_SERVICE) == 0x9000
    assert card.seen[-1] == cat.location_status_event(cat.NO_SERVICE)


def test_link_resolves_61xx_and_6cxx():
    card = ScriptedCard(["6C02", "AABB6103", "CCDDEE9000"])
    data, sw = CallableLink(card.transmit).exchange(bytes.fromhex("00B0000000"))
    assert (data, sw) == (bytes.fromhex("AABBCCDDEE"), 0x9000)
    assert card.seen[1] == bytes.fromhex("00B0000002") and card.seen[2] == bytes.fromhex("00C0000003")


def test_notification_packet_opened_and_parsed():
    body = bytes.fromhex("4C10") + EID + bytes.fromhex("4D01024E020007")
    e1 = bytes([0xE1, len(body)]) + body
    packet = build_command_packet(KEYSET, bytes.fromhex("0600"), b"\x00\x00\x01", e1, 0)
    opened = open_command_packet(KEYSET, packet)
    note = parse_notification(opened.data)
    assert (note.eid, note.type, note.sequence, note.isdp_aid) == (EID, 2, 7, None)
    tampered = bytearray(packet)
    tampered[-1] ^= 1
    with pytest.raises(MoError):
        open_command_packet(KEYSET, bytes(tampered))
    with pytest.raises(MoError):
        parse_notification(bytes.fromhex("E1034D0102"))


def test_smsr_receives_notification_by_sms():
    body = bytes.fromhex("4C10") + EID + bytes.fromhex("4D01054E0200092F10") + ISDP
    packet = build_command_packet(KEYSET, bytes.fromhex("0600"), b"\x00\x00\x01", bytes([0xE1, len(body)]) + body)
    smsr = SmSr(Eis(), KEYSET)
    assert smsr.receive_mo(sms_submit(bytes.fromhex("027000") + packet))
    assert [(n.type, n.sequence, n.isdp_aid) for n in smsr.notifications] == [(5, 9, ISDP)]
    assert smsr.receive_mo(b"\x41") and len(smsr.notifications) == 1  # garbage is refused, not raised


def test_mo_reassembly():
    reassembler = MoReassembler()
    first = sms_submit(bytes.fromhex("07" "0003070201" "7000") + b"\x01\x02")
    second = sms_submit(bytes.fromhex("05" "0003070202") + b"\x03")
    first = first[:9] + bytes([len(first) - 10]) + first[10:]
    second = second[:9] + bytes([len(second) - 10]) + second[10:]
    assert reassembler.add(first) is None
    message = reassembler.add(second)
    assert message.payload == b"\x01\x02\x03" and 0x70 in message.ies


def test_response_script_forms():
    assert parse_response_script(bytes.fromhex("AB0780010123029000")).rapdus == [b"\x90\x00"]
    assert parse_response_script(bytes.fromhex("AF80230290000000")).rapdus == [b"\x90\x00"]
    assert parse_response_script(bytes.fromhex("AB028400")).items == [(0x84, b"")]
    with pytest.raises(OtaFailure):
        parse_response_script(bytes.fromhex("AB048400"))


def test_scp03t_refuses_bad_answers():
    host = Scp03tHost(HostKeySet(0x30, bytes(16), bytes(16), bytes(16)), ISDP)
    with pytest.raises(Scp03tError):
        host.process_initialize_update([(0x9F44, b"\x01\x01")])
    with pytest.raises(Scp03tError):
        host.process_initialize_update([(0x84, bytes(31))])
    assert host.initialize_update()[:4] == bytes.fromhex("840A3000")
    assert segment_upp(bytes(2500), 1024) == [bytes(1024), bytes(1024), bytes(452)]
