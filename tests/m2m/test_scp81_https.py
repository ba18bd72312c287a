"""ES5 over HTTPS (GP Amd B / SGP.02 §2.4.4): the card's administration agent against the test
SM-SR's HTTPS server (tools/smsr_https, written independently of the card's SCP81 code) over a
real loopback socket, with SGP.02 notifications delivered and confirmed in one session, and the
refusals (wrong PSK, unknown PSK identity, a TLS alert mid-session, garbage records, a truncated
HTTP chunk) each leaving the card's state as it was."""
from __future__ import annotations

import pytest

from euicc.context import Context
from euicc.m2m.admin_agent import Scp81Agent, agent_state
from euicc.m2m.keystore import PskKeys
from euicc.m2m.records import PskKeySet
from euicc.m2m.settings import M2mSettings
from euicc.ota.scp81.settings import Scp81Settings
from tests.m2m import host
from tests.m2m.conftest import KIC, KID, SMSR_DIGITS, add_profile
from tests.m2m.scp81_pump import pump
from tools.smsr_https.push import sgp02_psk_identity, trigger
from tools.smsr_https.server import AdminServer, script

PSK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
DEK81 = bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")
NORMAL = 0x00


@pytest.fixture
def settings() -> M2mSettings:
    return M2mSettings(notification_transport="https")


@pytest.fixture
def psk_card(card):
    with card.store.transaction():
        PskKeys(card.store).put(PskKeySet(0x40, PSK, DEK81))
    return card


def server_for(card, key: bytes = PSK, identity: bytes | None = None, **kw) -> AdminServer:
    identity = identity or sgp02_psk_identity(card.services.eid, host.ISDR_AID, 0x40, 0x01)
    return AdminServer({identity: key}, **kw).start()


def push(smsr, server: AdminServer, **kw) -> None:
    address, port = server.address
    packet = smsr.packet(trigger("smsr.test", port, server.uri, address=address, **kw))
    data, sw = smsr.deliver(packet)
    assert sw in (0x9000, 0x9100) or sw >> 8 == 0x91, hex(sw)


def run_sessions(card, **kw) -> list:
    ctx = Context(card.session, card.session.channels[0])
    agent = card.services.runtime(Scp81Agent)
    sessions = agent.due_sessions(ctx)
    for request, session in sessions:
        pump(request, session, **kw)
    return [session.outcome for _, session in sessions]


def enable(aid: bytes) -> bytes:
    return script(host.store_data(host.dgi(0x3A03, host.ber(0x4F, aid))))


def test_es5_enable_profile_over_https(smsr, psk_card, terminal):
    """The session pumped by hand (the BIP path is tests/m2m/test_scp81_bip.py); this terminal's
    profile declares no BIP, so the notification of the switch falls back to SMS."""
    card = psk_card
    card.store.put("m2m/declared", True)
    second = add_profile(card, 0x20, "8988100000000000011")
    eid = card.services.eid.hex().upper()
    server = server_for(card)
    try:
        server.queue(eid, enable(second), host.ISDR_AID)
        push(smsr, server)
        (outcome,) = run_sessions(card, split=100)
        assert outcome.ok and outcome.scripts == 1, outcome
        (session,) = server.sessions
        assert session.completed and session.eid == eid and session.cipher in (
            "TLS-PSK-WITH-AES-128-GCM-SHA256", "TLS-PSK-WITH-AES-128-CBC-SHA256")
        (exchange,) = session.exchanges
        assert exchange.status == "ok" and exchange.response == bytes.fromhex("AF80" "23029000" "0000")
        assert card.services.profiles.enabled().isdp_aid == second
        assert terminal.location_status(NORMAL) == 0x9000
        assert run_sessions(card) == [] and len(terminal.take(0x13)) == 1        # SEND SHORT MESSAGE
    finally:
        server.stop()


@pytest.mark.parametrize("fault", ["wrong-psk", "unknown-identity", "close", "garbage", "truncate", "fatal-alert"])
def test_refusals_leave_the_card_state_unchanged(smsr, psk_card, fault):
    card = psk_card
    second = add_profile(card, 0x20, "8988100000000000011")
    first = card.services.profiles.enabled().isdp_aid
    eid = card.services.eid.hex().upper()
    if fault == "wrong-psk":
        server = server_for(card, key=bytes(16))
    elif fault == "unknown-identity":
        server = server_for(card, identity=b"SOMEONE-ELSE")
    else:
        server = server_for(card, fault=fault)
    try:
        server.queue(eid, enable(second), host.ISDR_AID)
        push(smsr, server)
        before = {k: card.store.get(k) for k in card.store.keys("")}
        (outcome,) = run_sessions(card, corrupt=3 if fault == "fatal-alert" else None)   # 3: the first POST
        assert not outcome.ok and outcome.scripts == 0, outcome
        if fault == "fatal-alert":
            assert "fatal alert" in outcome.reason, outcome
        assert card.services.profiles.enabled().isdp_aid == first
        after = {k: card.store.get(k) for k in card.store.keys("")}
        assert after == before
        assert agent_state(Context(card.session, card.session.channels[0])).pending == []   # no retry asked
    finally:
        server.stop()


def test_finalise_isdr_handover_deletes_the_old_scp81_key_set_not_the_one_in_use(smsr, psk_card):
    card = psk_card
    with card.store.transaction():
        PskKeys(card.store).put(PskKeySet(0x41, bytes(range(16)), DEK81))
    server = server_for(card)
    eid = card.services.eid.hex().upper()
    try:
        server.queue(eid, script(bytes.fromhex("80E4000005F203400102")), host.ISDR_AID)   # the PSK in use
        server.queue(eid, script(bytes.fromhex("80E4000005F203410102")), host.ISDR_AID)
        push(smsr, server)
        (outcome,) = run_sessions(card)
        assert outcome.ok and outcome.scripts == 2
        first, second = server.sessions[0].exchanges
        assert first.response == bytes.fromhex("AF80" "23026985" "0000")
        assert second.response == bytes.fromhex("AF80" "23029000" "0000")
        assert PskKeys(card.store).kvns() == [0x40]
    finally:
        server.stop()


def test_psk_key_set_created_over_sms_then_replaced_over_https(smsr, card):
    """ES5 PUT KEY (GP CS §11.8, Amd B key type '85'): the SM-SR creates KVN '40' through SCP80
    (ciphered with the SCP80 key set's DEK), then replaces its PSK inside an HTTPS session
    (ciphered with the SCP81 DEK); the next session needs the new PSK."""
    from tools.smsr_https.psk_keys import kcv, put_psk_key
    from tests.m2m.conftest import DEK
    data, sw = smsr.one(put_psk_key(0x40, PSK, DEK81, DEK))
    assert sw == 0x9000 and data == b"\x40" + kcv(PSK) + kcv(DEK81)
    assert smsr.one(put_psk_key(0x40, PSK, DEK81, DEK))[1] == 0x6A80          # adding over an existing set
    assert smsr.one(put_psk_key(0x30, PSK, DEK81, DEK))[1] == 0x6A80          # not an SCP81 KVN
    bad = bytearray(put_psk_key(0x41, PSK, None, DEK))
    bad[-1] ^= 1
    assert smsr.one(bytes(bad))[1] == 0x9485                                  # KCV
    new_psk = bytes(range(0x30, 0x40))
    eid = card.services.eid.hex().upper()
    server = server_for(card)
    try:
        server.queue(eid, script(put_psk_key(0x40, new_psk, None, DEK81, replace_kvn=0x40)), host.ISDR_AID)
        push(smsr, server)
        (outcome,) = run_sessions(card)
        assert outcome.ok
        assert server.sessions[0].exchanges[0].response == (b"\xAF\x80\x23\x06\x40" + kcv(new_psk) + b"\x90\x00\x00\x00")
    finally:
        server.stop()
    old = server_for(card)                                                     # still the old PSK: refused
    try:
        push(smsr, old)
        (outcome,) = run_sessions(card)
        assert not outcome.ok
    finally:
        old.stop()
    new = server_for(card, key=new_psk)
    try:
        push(smsr, new)
        (outcome,) = run_sessions(card)
        assert outcome.ok
    finally:
        new.stop()


def test_put_key_from_the_terminal_still_needs_an_scp03_session(terminal):
    from tools.smsr_https.psk_keys import put_psk_key
    assert terminal.send(bytes.fromhex("00A4040010A0000005591010FFFFFFFF8900000100"))[1] == 0x9000
    assert terminal.send(put_psk_key(0x40, PSK, DEK81, DEK81))[1] == 0x6982


def test_retry_policy_retries_after_the_delay(smsr, psk_card, clock):
    """Amd B §3.8.3: a failed session is tried again ``counter`` times, ``delay`` apart; one that
    failed before any HTTP request starts afresh (no ``X-Admin-Resume``)."""
    card = psk_card
    second = add_profile(card, 0x20, "8988100000000000011")
    server = server_for(card, key=bytes(16))                     # the first attempt fails (wrong PSK)
    try:
        server.queue(card.services.eid.hex().upper(), enable(second), host.ISDR_AID)
        push(smsr, server, retries=1, delay=30)
        (outcome,) = run_sessions(card)
        assert not outcome.ok and not server.sessions[0].resume
        assert run_sessions(card) == []                           # not before the delay
        clock.now += 30
        server.keys = {sgp02_psk_identity(card.services.eid, host.ISDR_AID, 0x40, 0x01): PSK}
        (outcome,) = run_sessions(card)
        assert outcome.ok and not server.sessions[1].resume
        assert card.services.profiles.enabled().isdp_aid == second
        clock.now += 60
        assert run_sessions(card) == []                           # done: nothing left to retry
    finally:
        server.stop()


def test_interrupted_session_resumes_at_the_last_navigated_uri(smsr, psk_card, clock):
    """A session cut in the middle of a response (truncated chunk) is retried at the URI it last
    POSTed to with ``X-Admin-Resume: true``; the server sends the lost script again."""
    card = psk_card
    second = add_profile(card, 0x20, "8988100000000000011")
    server = server_for(card, fault="truncate")
    try:
        server.queue(card.services.eid.hex().upper(), enable(second), host.ISDR_AID)
        push(smsr, server, retries=2, delay=10)
        (outcome,) = run_sessions(card)
        assert not outcome.ok and outcome.scripts == 0 and outcome.last_uri == server.uri
        assert card.services.profiles.enabled().isdp_aid != second
        clock.now += 10
        (outcome,) = run_sessions(card)
        assert outcome.ok and outcome.scripts == 1 and server.sessions[1].resume
        assert server.sessions[1].exchanges[0].response == bytes.fromhex("AF80" "23029000" "0000")
        assert card.services.profiles.enabled().isdp_aid == second
    finally:
        server.stop()


def test_a_last_script_without_next_uri_runs_and_ends_the_session(smsr, psk_card):
    """Amd B: a 200 without X-Admin-Next-URI ends the session; its script runs, its result is not
    returned."""
    card = psk_card
    second = add_profile(card, 0x20, "8988100000000000011")
    server = server_for(card)
    try:
        exchange = server.queue(card.services.eid.hex().upper(), enable(second), host.ISDR_AID, last=True)
        push(smsr, server)
        (outcome,) = run_sessions(card)
        assert outcome.ok and outcome.scripts == 1 and "no X-Admin-Next-URI" in outcome.reason
        assert exchange.response is None and card.services.profiles.enabled().isdp_aid == second
    finally:
        server.stop()


def test_unknown_targeted_application(smsr, psk_card):
    card = psk_card
    server = server_for(card)
    try:
        server.queue(card.services.eid.hex().upper(), script(bytes.fromhex("80CA00E000")), host.isdp_aid(0x55))
        push(smsr, server)
        (outcome,) = run_sessions(card)
        assert outcome.ok
        exchange = server.sessions[0].exchanges[0]
        assert (exchange.status, exchange.response) == ("unknown-application", b"")
    finally:
        server.stop()


def test_ts48_profile_download_over_https(smsr, psk_card, pki):
    """ES8 DownloadAndInstallation (SGP.02 §4.1.3.3) through the ISD-R's HTTPS session: the SCP03t
    items in scripts targeted at the ISD-P (X-Admin-Targeted-Application, SPEC_NOTES §2.5), all in
    one session."""
    from tests.m2m.test_es8 import AID, personalise_isdp, upp
    card = psk_card
    offcard, response, _ = personalise_isdp(smsr, pki)                     # key establishment by SMS
    _, (enc, mac, _dek) = offcard.keys(response)
    sd = host.Scp03tHost(enc, mac)
    eid = card.services.eid.hex().upper()
    server = server_for(card)

    def items(exchange) -> list[tuple[int, bytes]]:
        assert exchange.status == "ok" and exchange.response[:2] == b"\xAF\x80" and exchange.response[-2:] == b"\0\0"
        return host.parse_tlvs(exchange.response[2:-2])

    try:
        opening = server.queue(eid, b"\xAE\x80" + sd.initialize_update() + b"\x00\x00", AID)
        push(smsr, server)
        (outcome,) = run_sessions(card)
        assert outcome.ok
        (tag, value), = items(opening)
        assert tag == 0x84
        package = upp()
        chunks = [package[i:i + 1000] for i in range(0, len(package), 1000)]
        first = server.queue(eid, b"\xAE\x80" + sd.external_authenticate(host.ber(tag, value), AID) + b"\x00\x00", AID)
        rest = [server.queue(eid, b"\xAE\x80" + b"".join(sd.data(c) for c in chunks[i:i + 16]) + b"\x00\x00", AID)
                for i in range(0, len(chunks), 16)]
        push(smsr, server)
        (outcome,) = run_sessions(card)
        assert outcome.ok and outcome.scripts == 1 + len(rest), outcome
        assert items(first) == [(0x85, b"")]
        assert all(items(e) == [(0x86, b"")] * len(host.parse_tlvs(e.script[2:-2])) for e in rest)
        record = card.services.profiles.get(AID)
        assert record.state == 0 and card.services.registry.get(AID).lifecycle == 0x1F
    finally:
        server.stop()


REPORT = bytes.fromhex("8703A1B2C3")      # the retry policy's report failure data ('87', as NJIWA codes it)


def failing_sessions(card, smsr, clock, retries: int = 1) -> AdminServer:
    """A pushed session whose every attempt fails (the server holds another PSK), run until the
    retry policy is exhausted (``retries`` + 1 attempts, 30 s apart)."""
    server = server_for(card, key=bytes(16))
    push(smsr, server, retries=retries, delay=30, failure_report=REPORT)
    for _ in range(retries + 1):
        (outcome,) = run_sessions(card)
        assert not outcome.ok
        clock.now += 30
    assert run_sessions(card) == []
    return server


def test_exhausted_retry_policy_sends_the_failure_report(smsr, psk_card, terminal, clock):
    """GP Amd B §3.8.3: once the last retry failed, the report failure data goes to the SM-SR
    (setting ``failure_report`` = "sms", [U]) as the secured data of an ISD-R Command Packet by
    SEND SHORT MESSAGE, decoded here by the host side; nothing was sent before."""
    card = psk_card
    card.store.put("m2m/declared", True)
    server = server_for(card, key=bytes(16))
    try:
        push(smsr, server, retries=1, delay=30, failure_report=REPORT)
        (outcome,) = run_sessions(card)
        assert not outcome.ok
        terminal.send(bytes.fromhex("00A40004023F00"))               # any command: the card's '91xx' served
        assert terminal.mo_packets(KIC, KID) == []                   # a retry is still due
        clock.now += 30
        (outcome,) = run_sessions(card)
        assert not outcome.ok
        terminal.send(bytes.fromhex("00A40004023F00"))
        assert terminal.mo_packets(KIC, KID) == [(SMSR_DIGITS, REPORT)]
        clock.now += 60
        assert run_sessions(card) == [] and agent_state(Context(card.session, card.session.channels[0])).pending == []
    finally:
        server.stop()


@pytest.mark.parametrize("settings", [M2mSettings(scp81=Scp81Settings(failure_report="none"))], ids=["none"])
def test_failure_report_setting_none_sends_nothing(smsr, psk_card, terminal, clock):
    card = psk_card
    card.store.put("m2m/declared", True)
    assert card.services.runtime(Scp81Agent).settings.failure_report == "none"
    server = failing_sessions(card, smsr, clock)
    server.stop()
    terminal.send(bytes.fromhex("00A40004023F00"))
    assert terminal.mo_packets(KIC, KID) == []


def test_failure_report_setting_is_checked():
    with pytest.raises(ValueError):
        Scp81Settings(failure_report="carrier-pigeon")
