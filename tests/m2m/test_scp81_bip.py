"""SCP81 end to end in process through the terminal simulator (GP Amd B; SGP.02 §2.4.4; TS 102 223
BIP): the test SM-SR (tools/smsr) pushes the administration session trigger by SCP80 SMS-PP, the
card opens a TCP channel (OPEN CHANNEL), the terminal simulator carries it over a real loopback
socket to the HTTPS server (tools/smsr_https), PSK-TLS, ES5 EnableProfile, REFRESH; after the
reset the card delivers the profile-change notification over HTTPS and gets its confirmation in
the same session."""
from __future__ import annotations

import pytest

from euicc.m2m.keystore import PskKeys
from euicc.m2m.records import PskKeySet
from euicc.m2m.settings import M2mSettings
from tests.m2m import host
from tests.m2m.conftest import DEK, KIC, KID, add_profile
from tests.m2m.tls_wire import ALERT, APPLICATION_DATA, closed_channel_streams, record_types
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.eis import Eis
from tools.smsr.smsr import SmSr
from tools.smsr_https.push import sgp02_psk_identity, trigger
from tools.smsr_https.server import AdminServer, script
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.dns_server import DnsServer, Record
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

PSK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")


@pytest.fixture
def settings() -> M2mSettings:
    return M2mSettings(notification_transport="https")


def test_enable_profile_over_https_on_bip_then_notification_confirmed(card, clock):
    card.store.put("m2m/declared", True)
    with card.store.transaction():
        PskKeys(card.store).put(PskKeySet(0x40, PSK, DEK))
    second = add_profile(card, 0x20, "8988100000000000011")
    eid = card.services.eid
    server = AdminServer({sgp02_psk_identity(eid, host.ISDR_AID, 0x40, 0x01): PSK}).start()
    terminal = Terminal(CallableLink(card.transmit, card.reset), profile=cat.MODEM_PROFILE, bip=BipTerminal())
    smsr = SmSr(Eis(eid=eid), OtaKeyset(0x01, AES, KIC, AES, KID))
    smsr.attach(terminal)
    try:
        terminal.start()
        assert terminal.location_status(cat.NORMAL_SERVICE) >> 8 in (0x90, 0x91)
        enable = server.queue(eid.hex().upper(), script(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second)))),
                              host.ISDR_AID)
        address, port = server.address
        assert smsr.send_secured(host.ISDR_TAR, trigger("smsr.test", port, server.uri, address=address)) == b""
        terminal.serve(10, until=lambda: terminal.record.resets == 2 and enable.response is not None)  # REFRESH
        (first,) = server.sessions
        assert first.exchanges[0].status == "ok" and first.exchanges[0].response == bytes.fromhex("AF80230290000000")
        assert card.services.profiles.enabled().isdp_aid == second
        # the reset ended the card session; back in service, the notification goes over HTTPS
        clock.now += 61
        terminal.location_status(cat.NORMAL_SERVICE)
        terminal.serve(10, until=lambda: len(server.sessions) == 2 and server.sessions[1].completed
                       and not terminal.bip.channels and server.sessions[1].card_close_notify)
        second_session = server.sessions[1]
        (note,) = server.notifications
        assert note[0x4D] == b"\x02" and note[0x4C] == eid and note[0x2F] == second
        assert second_session.completed and second_session.exchanges[0].status == "ok"
        # the session's normal end (204): the card's close_notify, read by the server, before CLOSE CHANNEL
        assert second_session.card_close_notify
        assert record_types(closed_channel_streams(terminal.record.proactive)[-1])[-1] == ALERT
        assert card.store.get("m2m/notifications") == ()
        types = [c.type for c in terminal.record.proactive]
        assert types.count(cat.OPEN_CHANNEL) == 2 and cat.REFRESH in types
        assert types.count(cat.SEND_SHORT_MESSAGE) == 1 and smsr.notifications == []   # the trigger's PoR only
    finally:
        server.stop()
        terminal.bip.close_all()


def _https_card(card, profile: bytes = cat.MODEM_PROFILE, dns_servers: tuple[str, ...] = (), linger: float = 0.0):
    card.store.put("m2m/declared", True)
    with card.store.transaction():
        PskKeys(card.store).put(PskKeySet(0x40, PSK, DEK))
    eid = card.services.eid
    server = AdminServer({sgp02_psk_identity(eid, host.ISDR_AID, 0x40, 0x01): PSK}, linger=linger).start()
    terminal = Terminal(CallableLink(card.transmit, card.reset), profile=profile,
                        bip=BipTerminal(dns_servers=dns_servers))
    smsr = SmSr(Eis(eid=eid), OtaKeyset(0x01, AES, KIC, AES, KID))
    smsr.attach(terminal)
    terminal.start()
    terminal.location_status(cat.NORMAL_SERVICE)
    return server, terminal, smsr


def test_smsr_given_as_a_name_is_resolved_over_a_bip_udp_channel(card):
    """The trigger names the SM-SR (no '3E' address): the card asks the DNS server of its 'B3'
    parameters over a UDP channel (test DNS server on loopback, tools/terminal/dns_server.py),
    then opens the TCP channel to the answer and runs ES5 EnableProfile over HTTPS."""
    second = add_profile(card, 0x20, "8988100000000000011")
    server, terminal, smsr = _https_card(card)
    dns = DnsServer({"smsr.example.test": Record("127.0.0.1", ttl=600)}).start()
    try:
        enable = server.queue(card.services.eid.hex().upper(),
                              script(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second)))), host.ISDR_AID)
        _, port = server.address
        smsr.send_secured(host.ISDR_TAR, trigger("smsr.example.test", port, server.uri, address=None,
                                                 dns_name="smsr.example.test", dns_servers=("127.0.0.1",),
                                                 dns_port=dns.port))
        terminal.serve(10, until=lambda: enable.response is not None and terminal.record.resets == 2)
        assert dns.queries == ["smsr.example.test."]
        assert card.services.profiles.enabled().isdp_aid == second
        opens = [c for c in terminal.record.proactive if c.type == cat.OPEN_CHANNEL]
        # first UDP (§8.59 '01') to the DNS server's port, then TCP ('02') to the resolved address
        assert opens[0].objects[cat.T_TRANSPORT_LEVEL] == b"\x01" + dns.port.to_bytes(2, "big")
        assert opens[1].objects[cat.T_TRANSPORT_LEVEL] == b"\x02" + port.to_bytes(2, "big")
        assert opens[1].objects[cat.T_OTHER_ADDRESS] == bytes.fromhex("217F000001")
    finally:
        dns.stop()
        server.stop()
        terminal.bip.close_all()


def test_unknown_smsr_name_opens_no_session(card):
    """NXDOMAIN: no TCP channel, the queued EnableProfile is not run, the profiles unchanged."""
    second = add_profile(card, 0x20, "8988100000000000011")
    first = card.services.profiles.enabled().isdp_aid
    server, terminal, smsr = _https_card(card)
    dns = DnsServer({}).start()
    try:
        _, port = server.address
        smsr.send_secured(host.ISDR_TAR, trigger("nowhere.example.test", port, server.uri, address=None,
                                                 dns_name="nowhere.example.test", dns_servers=("127.0.0.1",),
                                                 dns_port=dns.port))
        terminal.serve(5, until=lambda: dns.queries and not terminal.bip.channels)
        terminal.poll(0.3)
        opens = [c for c in terminal.record.proactive if c.type == cat.OPEN_CHANNEL]
        assert [o.objects[cat.T_TRANSPORT_LEVEL][0] for o in opens] == [0x01]
        assert server.sessions == [] and card.services.profiles.enabled().isdp_aid == first != second
    finally:
        dns.stop()
        server.stop()
        terminal.bip.close_all()


def _opens(terminal) -> list[tuple[int, int, bytes, int]]:
    """(qualifier, transport type §8.59, destination §8.58, port) of each OPEN CHANNEL."""
    return [(c.qualifier, c.objects[cat.T_TRANSPORT_LEVEL][0], c.objects[cat.T_OTHER_ADDRESS],
             int.from_bytes(c.objects[cat.T_TRANSPORT_LEVEL][1:], "big"))
            for c in terminal.record.proactive if c.type == cat.OPEN_CHANNEL]


@pytest.mark.parametrize("given", [(), ("127.0.0.2",)], ids=["terminal-only", "connectivity-first"])
def test_smsr_name_resolved_with_the_terminals_dns_server(card, given):
    """TS 102 223 §6.4.27: the terminal simulator declares the DNS server address request
    (TERMINAL PROFILE byte 33 b1) and gives its test DNS server (127.0.0.1) when OPEN CHANNEL asks
    (qualifier '09').  Without a server in 'B3', a first channel only asks the terminal; with one
    (127.0.0.2, answering SERVFAIL), it is asked first and the terminal's next."""
    second = add_profile(card, 0x20, "8988100000000000011")
    server, terminal, smsr = _https_card(card, dns_servers=("127.0.0.1",))
    dns = DnsServer({"smsr.example.test": Record("127.0.0.1", ttl=600)}).start()
    failing = DnsServer({}, "127.0.0.2", dns.port, "servfail").start()
    try:
        enable = server.queue(card.services.eid.hex().upper(),
                              script(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second)))), host.ISDR_AID)
        _, port = server.address
        smsr.send_secured(host.ISDR_TAR, trigger("smsr.example.test", port, server.uri, address=None,
                                                 dns_name="smsr.example.test", dns_servers=given, dns_port=dns.port))
        terminal.serve(10, until=lambda: enable.response is not None and terminal.record.resets == 2)
        assert dns.queries == ["smsr.example.test."] and card.services.profiles.enabled().isdp_aid == second
        first_udp = bytes.fromhex("2100000000") if not given else bytes.fromhex("217F000002")
        assert _opens(terminal)[:3] == [(0x09, 0x01, first_udp, dns.port), (0x09, 0x01, bytes.fromhex("217F000001"), dns.port),
                                        (0x01, 0x02, bytes.fromhex("217F000001"), port)]
        assert bool(failing.queries) == bool(given)
    finally:
        failing.stop()
        dns.stop()
        server.stop()
        terminal.bip.close_all()


def test_a_terminal_that_did_not_declare_it_is_not_asked(card):
    """Without byte 33 b1 in its profile the terminal is never asked (qualifier '01'), so with no
    server in 'B3' the name is not resolved: no channel at all, nothing run."""
    second = add_profile(card, 0x20, "8988100000000000011")
    first = card.services.profiles.enabled().isdp_aid
    server, terminal, smsr = _https_card(card, cat.profile_bytes(cat.MODEM_PROFILE, {33: 0x01}), ("127.0.0.1",))
    dns = DnsServer({"smsr.example.test": Record("127.0.0.1")}).start()
    try:
        server.queue(card.services.eid.hex().upper(), script(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second)))),
                     host.ISDR_AID)
        _, port = server.address
        smsr.send_secured(host.ISDR_TAR, trigger("smsr.example.test", port, server.uri, address=None,
                                                 dns_name="smsr.example.test", dns_port=dns.port))
        terminal.serve(1)
        assert _opens(terminal) == [] and dns.queries == [] and server.sessions == []
        assert card.services.profiles.enabled().isdp_aid == first
    finally:
        dns.stop()
        server.stop()
        terminal.bip.close_all()


def _enable_over_https(card, server, smsr, second: bytes):
    enable = server.queue(card.services.eid.hex().upper(),
                          script(host.store_data(host.dgi(0x3A03, host.ber(0x4F, second)))), host.ISDR_AID)
    address, port = server.address
    smsr.send_secured(host.ISDR_TAR, trigger("smsr.test", port, server.uri, address=address))
    return enable


def _tcp_channel_end(terminal) -> tuple[list[int], int]:
    """The proactive command types, and the index of the CLOSE CHANNEL of the (one) TCP channel."""
    commands = terminal.record.proactive
    opened = next(c for c in commands if c.type == cat.OPEN_CHANNEL and c.objects[cat.T_TRANSPORT_LEVEL][0] == 0x02)
    number = next(c.destination for c in commands[commands.index(opened):] if c.type == cat.SEND_DATA)
    closing = next(i for i, c in enumerate(commands) if c.type == cat.CLOSE_CHANNEL and c.destination == number)
    return [c.type for c in commands], closing


def test_enable_profile_session_ends_normally_before_its_refresh(card):
    """SGP.02 §3.2.1 / GP Amd B §3.2: the card POSTs EnableProfile's response, reads the SM-SR's
    204, sends its close_notify (read by the server), closes the channel, and only then REFRESHes
    (TS 102 223 §6.4.7 UICC reset) — no other command between CLOSE CHANNEL and REFRESH."""
    second = add_profile(card, 0x20, "8988100000000000011")
    server, terminal, smsr = _https_card(card)
    try:
        enable = _enable_over_https(card, server, smsr, second)
        terminal.serve(10, until=lambda: terminal.record.resets == 2)
        (session,) = server.sessions
        terminal.serve(5, until=lambda: session.card_close_notify)   # the server's thread reads it
        assert enable.status == "ok" and enable.response == bytes.fromhex("AF80230290000000")
        assert session.completed and session.card_close_notify      # 204 sent, the card's close_notify read
        assert card.services.profiles.enabled().isdp_aid == second
        types, closing = _tcp_channel_end(terminal)
        assert types[closing + 1] == cat.REFRESH and types.count(cat.REFRESH) == 1
        # on the wire: POST (response) -> RECEIVE DATA (the 204) -> close_notify -> CLOSE CHANNEL
        assert types[closing - 3:closing] == [cat.SEND_DATA, cat.RECEIVE_DATA, cat.SEND_DATA]
        stream = closed_channel_streams(terminal.record.proactive)[-1]
        assert record_types(stream)[-2:] == [APPLICATION_DATA, ALERT]
    finally:
        server.stop()
        terminal.bip.close_all()


def test_enable_profile_session_cut_after_the_script_still_refreshes(card):
    """The link drops (TS 102 223 §7.5.11) after the card POSTed EnableProfile's response, before
    the server's 204 (it lingers for another script): the session fails, its channel is closed, and
    the switch's REFRESH still comes, after that CLOSE CHANNEL."""
    second = add_profile(card, 0x20, "8988100000000000011")
    server, terminal, smsr = _https_card(card, linger=30)
    try:
        enable = _enable_over_https(card, server, smsr, second)
        terminal.serve(10, until=lambda: enable.response is not None)
        assert cat.REFRESH not in [c.type for c in terminal.record.proactive]      # held while the session runs
        (number,) = terminal.bip.channels
        terminal.bip.drop(number)
        terminal.serve(10, until=lambda: terminal.record.resets == 2)
        assert terminal.record.resets == 2 and card.services.profiles.enabled().isdp_aid == second
        (session,) = server.sessions
        assert not session.completed                                 # no 204 was sent
        types, closing = _tcp_channel_end(terminal)
        assert types[closing + 1] == cat.REFRESH and types.count(cat.REFRESH) == 1
        stream = closed_channel_streams(terminal.record.proactive)[-1]
        assert record_types(stream)[-1] == APPLICATION_DATA          # the POST; no close_notify after it
    finally:
        server.release()
        server.stop()
        terminal.bip.close_all()
