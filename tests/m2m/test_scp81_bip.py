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
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.eis import Eis
from tools.smsr.smsr import SmSr
from tools.smsr_https.push import sgp02_psk_identity, trigger
from tools.smsr_https.server import AdminServer, script
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
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
                       and not terminal.bip.channels)
        second_session = server.sessions[1]
        (note,) = server.notifications
        assert note[0x4D] == b"\x02" and note[0x4C] == eid and note[0x2F] == second
        assert second_session.completed and second_session.exchanges[0].status == "ok"
        assert card.store.get("m2m/notifications") == ()
        types = [c.type for c in terminal.record.proactive]
        assert types.count(cat.OPEN_CHANNEL) == 2 and cat.REFRESH in types
        assert types.count(cat.SEND_SHORT_MESSAGE) == 1 and smsr.notifications == []   # the trigger's PoR only
    finally:
        server.stop()
        terminal.bip.close_all()
