"""One GP Amd B administration session for a run of scripts (tools/smsr_https, ``linger``): a TS.48
download relayed over HTTPS (ES5.CreateISDP, audit, ES8 key establishment, SCP03t package) takes one
trigger, one OPEN CHANNEL and one PSK-TLS session when the server waits for the SM-SR's next script;
without waiting, every script has its own session.  Ending the transport ends the waiting session
(the card closes its channel), and the profile is installed either way (the SM-SR's audit).

In process (Card.transmit), host code only: the test SM-SR / SM-DP and the terminal simulator."""
from __future__ import annotations

import pytest

from tests.m2m_host.m2m_world import TS48
from tests.m2m_host.test_cli_https import PSK, PSK_DEK
from tools.bench.m2m_bench import DEK
from tools.smsr.cli import read_eid
from tools.smsr_https.psk_keys import put_psk_key
from tools.smsr_https.transport import LINGER, HttpsTransport
from tools.terminal import cat


@pytest.mark.parametrize("linger", [0.0, LINGER])
def test_download_sessions(world, linger):
    terminal, smsr = world.terminal, world.smsr
    smsr.execute_one(put_psk_key(0x40, bytes.fromhex(PSK), bytes.fromhex(PSK_DEK), DEK), "PUT KEY (SCP81)")
    smsr.eis.eid = read_eid(terminal)
    https = HttpsTransport.start(smsr, bytes.fromhex(PSK), timeout=10.0, linger=linger)
    sent = smsr.eis.counters[smsr.keyset.kvn]
    opened = len([c for c in terminal.record.proactive if c.type == cat.OPEN_CHANNEL])
    try:
        isdp = world.smdp.prepare_isdp()
        world.smdp.download_profile(isdp, TS48.read_bytes())
    finally:
        https.stop()
    sessions = https.server.sessions
    scripts = sum(len(s.exchanges) for s in sessions)
    channels = len([c for c in terminal.record.proactive if c.type == cat.OPEN_CHANNEL]) - opened
    triggers = smsr.eis.counters[smsr.keyset.kvn] - sent
    assert scripts > 10 and all(s.ended for s in sessions) and not terminal.bip.channels
    if linger:
        assert (len(sessions), channels, triggers) == (1, 1, 1)
        assert sessions[0].completed                   # ended with 204 when the transport stopped
    else:
        assert len(sessions) == channels == triggers == scripts
    assert {e.aid: e.state for e in smsr.audit()}[isdp] == "DISABLED"
