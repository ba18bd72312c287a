"""The terminal's DNS server through pcscd + ifd-vpcd + `euicc-emu run` (TS 102 223 §6.4.27): the
trigger names the SM-SR without a DNS server; the card (its own process) asks the terminal
simulator, whose TERMINAL PROFILE declares the DNS server address request (byte 33 b1), with
OPEN CHANNEL qualifier '09', resolves the name at the server it gave, then runs ES5 over HTTPS."""
from __future__ import annotations

import pytest

from tests.m2m_host.test_cli_https import DEFAULT_DEK, PSK, PSK_DEK
from tests.m2m_host.test_transports_pcsc import isdps, smsr  # noqa: F401 (the fixture)
from tools.smsr_https.psk_keys import put_psk_key
from tools.smsr_https.transport import SERVER_NAME, HttpsTransport
from tools.terminal import cat
from tools.terminal.dns_server import DnsServer, Record

pytestmark = pytest.mark.pcsc


def test_es5_over_https_with_the_terminals_dns_server(smsr):  # noqa: F811
    smsr.execute_one(put_psk_key(0x40, bytes.fromhex(PSK), bytes.fromhex(PSK_DEK), bytes.fromhex(DEFAULT_DEK)),
                     "PUT KEY (SCP81)")
    dns = DnsServer({SERVER_NAME: Record("127.0.0.1", ttl=1)}).start()
    smsr.terminal.bip.dns_servers = ("127.0.0.1",)
    https = HttpsTransport.start(smsr, bytes.fromhex(PSK), timeout=20.0)
    https.dns_name, https.dns_port = SERVER_NAME, dns.port
    try:
        created = smsr.create_isdp()
        assert created in isdps(smsr)
    finally:
        https.stop()
        dns.stop()
    assert dns.queries and set(dns.queries) == {SERVER_NAME + "."}
    opens = [(c.qualifier, c.objects[cat.T_TRANSPORT_LEVEL], c.objects[cat.T_OTHER_ADDRESS])
             for c in smsr.terminal.record.proactive if c.type == cat.OPEN_CHANNEL]
    udp = b"\x01" + dns.port.to_bytes(2, "big")
    # first a channel only asking the terminal (to 0.0.0.0), then the query to the server it gave
    assert opens[:2] == [(0x09, udp, bytes.fromhex("2100000000")), (0x09, udp, bytes.fromhex("217F000001"))]
    assert [o[1][0] for o in opens].count(0x02) >= 2                  # a TCP channel per script
    assert bytes.fromhex("2100000000") not in [o[2] for o in opens[1:]]   # the terminal asked alone once
