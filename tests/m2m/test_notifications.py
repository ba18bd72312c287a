"""Notifications (SGP.02 v4.2 §3.15), their confirmation (§4.1.1.12), rollback when no confirmation
arrives within the validity period, and the Fall-Back mechanism (§3.18)."""
from __future__ import annotations

from tests.m2m import host
from tests.m2m.conftest import KIC, KID, SMSR_DIGITS, add_profile, set_attributes
from tools.ota import packet as ota
from tools.ota import transport
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

NORMAL, NO_SERVICE = 0x00, 0x02


def notifications(terminal) -> list[dict[int, bytes]]:
    """Decode the SEND SHORT MESSAGEs: SMS-SUBMIT -> Command Packet (AES, CC) -> 'E1'."""
    return [e1_objects(destination, data) for destination, data in terminal.mo_packets(KIC, KID)]


def notification(tpdu: bytes) -> dict[int, bytes]:
    """One notification SMS-SUBMIT TPDU -> Command Packet (AES, CC) -> the 'E1' objects by tag."""
    return e1_objects(*host.mo_packet(tpdu, KIC, KID))


def e1_objects(destination: str, data: bytes) -> dict[int, bytes]:
    """The notification's 'E1' objects by tag, sent to the SM-SR's number."""
    assert destination == SMSR_DIGITS
    (tag, body), = host.parse_tlvs(data)
    assert tag == 0xE1
    return dict(host.parse_tlvs(body))


def confirm(smsr, seq: int) -> tuple[bytes, int]:
    return smsr.one(bytes.fromhex("80E2890007 3A0804 4E02".replace(" ", "")) + seq.to_bytes(2, "big") + b"\x00")


def test_declaration_on_first_attachment_until_confirmed(smsr, card, terminal, clock):
    assert terminal.location_status(NORMAL) == 0x9000
    (first,) = notifications(terminal)
    assert first[0x4D] == b"\x01" and first[0x4C] == card.services.eid
    seq = int.from_bytes(first[0x4E], "big")
    clock.now += 61
    terminal.location_status(NORMAL)
    assert [n[0x4E] for n in notifications(terminal)] == [first[0x4E]]       # repeated
    assert confirm(smsr, seq) == (b"\x80\x00", 0x9000)
    clock.now += 61
    terminal.location_status(NORMAL)
    assert notifications(terminal) == []
    assert confirm(smsr, seq)[1] == 0x6A88


def test_notification_sms_is_the_host_built_command_packet(card, terminal):
    """Known answer: the notification SMS carries exactly the Command Packet an SM-SR builds with
    tools/ota (TS 102 225 §5.1.1: SPI '06 00' = CC and ciphered, no PoR; KIc/KID '12' = KVN 1, AES;
    the ISD-R TAR; counter 0) around the 'E1' notification (SPEC_NOTES §2.8), in one SMS-SUBMIT
    whose TP-MR is the sequence number."""
    assert terminal.location_status(NORMAL) == 0x9000
    (command,) = terminal.take(0x13)
    tpdu = dict(host.parse_tlvs(host.parse_tlvs(command)[0][1]))[0x8B]
    seq = int.from_bytes(notification(tpdu)[0x4E], "big")
    e1 = host.ber(0xE1, host.ber(0x4C, card.services.eid) + host.ber(0x4D, b"\x01") + host.ber(0x4E, seq.to_bytes(2, "big")))
    expected = ota.build_command_packet(ota.OtaKeyset(0x01, ota.AES, KIC, ota.AES, KID), bytes.fromhex("0600"),
                                        host.ISDR_TAR, e1)
    submit = transport.parse_sms_submit(tpdu)
    assert submit.payload == expected and tpdu[1] == seq & 0xFF


def test_profile_change_notification_and_auto_delete_on_confirmation(smsr, card, terminal, first_isdp, clock):
    card.store.put("m2m/declared", True)
    second = add_profile(card, 0x20, "8988100000000000011")
    set_attributes(card, first_isdp, pol1=0x04)                  # delete when disabled
    smsr.one(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second))))
    terminal.location_status(NORMAL)
    (note,) = notifications(terminal)
    assert note[0x4D] == b"\x02" and note[0x2F] == second
    deleted, sw = confirm(smsr, int.from_bytes(note[0x4E], "big"))
    assert sw == 0x9000 and deleted == host.ber(0x80, host.ber(0x4F, first_isdp))
    assert card.services.registry.get(first_isdp) is None


def test_unconfirmed_enable_is_rolled_back(smsr, card, terminal, first_isdp, clock):
    card.store.put("m2m/declared", True)
    second = add_profile(card, 0x20, "8988100000000000011")
    smsr.one(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second))))
    terminal.location_status(NORMAL)
    assert [n[0x4D] for n in notifications(terminal)] == [b"\x02"]
    clock.now += 181
    terminal.location_status(NORMAL)
    assert card.services.profiles.enabled().isdp_aid == first_isdp
    assert [(n[0x4D], n[0x2F]) for n in notifications(terminal)] == [(b"\x03", first_isdp)]
    assert terminal.take(0x01)                                   # REFRESH for the rollback


def test_fallback_on_loss_of_network(card, terminal, first_isdp):
    card.store.put("m2m/declared", True)
    second = add_profile(card, 0x20, "8988100000000000011", fallback=True)
    set_attributes(card, first_isdp, pol1=0x01)                  # POL1 does not apply to fall-back
    terminal.location_status(NO_SERVICE)
    assert card.services.profiles.enabled().isdp_aid == second
    terminal.location_status(NORMAL)
    assert [n[0x4D] for n in notifications(terminal)] == [b"\x05"]


def test_no_fallback_while_emergency_profile_enabled(card, terminal, first_isdp):
    add_profile(card, 0x20, "8988100000000000011", fallback=True)
    set_attributes(card, first_isdp, emergency=True)
    terminal.location_status(NO_SERVICE)
    assert card.services.profiles.enabled().isdp_aid == first_isdp


def test_rollback_is_driven_by_the_terminal_timer(smsr, card, terminal, first_isdp, clock):
    """No event after the switch: the card arms TIMER MANAGEMENT (TS 102 223 §6.4.21) for the
    validity period (180 s = '00 30 00', §8.38) and rolls back when the terminal reports TIMER
    EXPIRATION (§7.4)."""
    card.store.put("m2m/declared", True)
    second = add_profile(card, 0x20, "8988100000000000011")
    smsr.one(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second))))
    (timer, seconds), = terminal.timers()
    assert seconds == 180 and card.services.profiles.enabled().isdp_aid == second
    clock.now += 90
    assert terminal.timer_expiration(timer) == 0x9000           # early: nothing is due yet
    assert card.services.profiles.enabled().isdp_aid == second
    assert terminal.timers() == [(timer, 90)]                   # armed again for the rest
    clock.now += 91
    assert terminal.timer_expiration(timer) == 0x9000
    assert card.services.profiles.enabled().isdp_aid == first_isdp
    assert terminal.take(0x01)                                   # REFRESH for the rollback


def test_confirmation_deactivates_the_terminal_timer(card, clock):
    """With the terminal simulator (tools/terminal, a modem declaring TIMER MANAGEMENT): the switch
    arms a timer (rollback, notification retry); once the SM-SR confirms the notification nothing is
    due, so the card deactivates that timer (TS 102 223 §6.4.21 qualifier '01') and the terminal
    keeps none.  Known answer from §6.6.21: 'D0' 0C {'81' 03 nn 27 01, '82' 02 81 82 (UICC to
    terminal), 'A4' 01 timer}."""
    fetched: list[bytes] = []

    def transmit(apdu: bytes) -> bytes:
        answer = card.transmit(apdu)
        if apdu[1] == 0x12:                                            # FETCH
            fetched.append(answer[:-2])
        return answer

    modem = Terminal(CallableLink(transmit, card.reset), clock=clock)
    modem.start()
    smsr = host.OtaServer(modem, ota.OtaKeyset(0x01, ota.AES, KIC, ota.AES, KID))
    card.store.put("m2m/declared", True)
    second = add_profile(card, 0x20, "8988100000000000011")
    assert smsr.one(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second))))[1] == 0x9000
    (timer,) = modem.timers
    modem.location_status(NORMAL)
    note = notification(modem.record.sms_sent[-1])
    assert note[0x4D] == b"\x02" and timer in modem.timers
    assert confirm(smsr, int.from_bytes(note[0x4E], "big"))[1] == 0x9000
    assert modem.timers == {}
    deactivate = fetched[-1]
    assert deactivate[:4] == bytes.fromhex("D00C8103") and deactivate[5:] == bytes.fromhex("270182028182A401") + bytes([timer])


def test_location_asked_when_the_terminal_cannot_report_it(card, clock):
    """TERMINAL PROFILE without the location status event (byte 5 b5) but with PROVIDE LOCAL
    INFORMATION (byte 4 b7) and timers: the card asks for the location information (§6.4.15);
    the answer 'performed' is normal service, so the eUICC declaration goes out; the next poll
    is a timer away (``location_poll_interval``)."""
    terminal = host.Terminal(card)
    profile = bytes.fromhex("FFFFFFFF EF FFFFFFFFFF".replace(" ", ""))
    sw = card.transmit(bytes([0x80, 0x10, 0, 0, len(profile)]) + profile)
    terminal.fetch_all(int.from_bytes(sw, "big"))
    assert not terminal.take(0x05)                               # no event to register
    assert len(terminal.take(0x26)) == 1                         # PROVIDE LOCAL INFORMATION
    assert [n[0x4D] for n in notifications(terminal)] == [b"\x01"]
    assert (1, 60) in terminal.timers()                          # the notification retry first
    clock.now += 300
    assert terminal.timer_expiration(1) == 0x9000
    assert len(terminal.take(0x26)) == 1                         # asked again


def test_unknown_timer_expiration_is_acknowledged(terminal):
    assert terminal.timer_expiration(7) == 0x9000
    _, sw = terminal.send(bytes.fromhex("80C2000006D704820282 81".replace(" ", "")))   # no timer identifier
    assert sw == 0x6A80


def test_malformed_event_download_is_6a80(terminal):
    _, sw = terminal.send(bytes.fromhex("80C2000005D603990103"))
    assert sw == 0x6A80
