"""kill -9 of `euicc-emu run` during an SGP.02 HTTPS administration session through pcscd + vpcd
(issue #12 item 7), then a restart from the state file: the card holds the old state or the new
one, never a mix, and a new session works.

The chain is the command line's (tests/m2m_host/https_chain.py: ``smsr --transport https enable``,
then ``notifications``).  A cut is deterministic: the modem's link kills the card process while
the card waits for the TERMINAL RESPONSE of the SEND DATA (TS 102 223 §6.4.28) that begins the
card's N-th HTTP message of a run (a TLS application data record, RFC 5246 §6.2.1), so the card has
done everything before that message and nothing of it has left:

- ``handshake``: EnableProfile run, message 1 (the first POST): PSK-TLS handshake done, no script
  received yet -> old state, no notification.
- ``script``: EnableProfile run, message 2 (the POST carrying the script's answer): the script ran,
  its answer never reached the SM-SR -> new state with its profile-change notification pending
  (SGP.02 §3.15), delivered and confirmed after the restart.
- ``notification``: notifications run, message 1 (the POST ``msg=`` of the notification): never
  delivered -> still pending, delivered after the restart (retry interval, §3.15).
- ``confirmation``: notifications run, message 2 (the answer to ES5.HandleNotificationConfirmation):
  the card forgot the notification -> not sent again after the restart.

A cut in the middle of one command's commit is the NVM's business, proven at every write by
tests/robustness/test_power_loss_m2m.py.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.m2m_host.https_chain import CARD_OPTIONS, TLS_APPLICATION_DATA, HttpsChain, WireLink
from tools.terminal import cat

pytestmark = pytest.mark.pcsc

RETRY_INTERVAL = 2.0      # seconds: the card's notification retry interval here (run option)
OPTIONS = [*CARD_OPTIONS, "--m2m-notification-retry-interval", str(RETRY_INTERVAL)]


@dataclass(frozen=True)
class Cut:
    run: str                # "enable" or "notifications": the command line that is cut
    message: int            # before the card's N-th HTTP message of that run leaves
    switched: bool          # the state after the restart: the profile switch done
    pending: bool           # ... and its notification still to be delivered


CUTS = {
    "handshake": Cut("enable", 1, switched=False, pending=False),
    "script": Cut("enable", 2, switched=True, pending=True),
    "notification": Cut("notifications", 1, switched=True, pending=True),
    "confirmation": Cut("notifications", 2, switched=True, pending=False),
}


def before_message(n: int) -> Callable[[WireLink, bytes], bool]:
    """True on the TERMINAL RESPONSE to the SEND DATA that starts the card's n-th HTTP message."""
    def cut(link: WireLink, apdu: bytes) -> bool:
        last = link.exchanges[-1].proactive if link.exchanges else None
        return (apdu[1] == cat.TERMINAL_RESPONSE and last is not None and last.type == cat.SEND_DATA
                and last.objects.get(cat.T_CHANNEL_DATA, b"")[:3] == TLS_APPLICATION_DATA
                and link.sent_tls_application_data() == n)
    return cut


def notification_types(chain: HttpsChain) -> list[bytes]:
    return [n.get(0x4D, b"") for n in chain.servers[-1].server.notifications]


@pytest.mark.parametrize("name", list(CUTS))
def test_kill_during_https_session(name, start_card, pcscd, tmp_path, capsys, monkeypatch):
    cut = CUTS[name]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))      # the test's SCP80 counter ledger
    state = tmp_path / "card.state"
    chain = HttpsChain(capsys, tmp_path, pcscd).install(monkeypatch)
    chain.card = start_card(state, extra=OPTIONS)
    original, isdp = chain.prepare()
    old, new = {original: "ENABLED", isdp: "DISABLED"}, {original: "DISABLED", isdp: "ENABLED"}
    if cut.run == "notifications":
        chain.ok(*chain.https, "enable", isdp)

    chain.cut = before_message(cut.message)
    status, _, err = chain.run(*chain.https, *(["enable", isdp] if cut.run == "enable" else ["notifications"]))
    link, server = chain.links[-1], chain.servers[-1].server
    assert link.cut_done and status == 1 and "error:" in err, err
    cut_at = time.time()
    (session,) = server.sessions                                   # the SM-SR's record of the cut session
    scripts_sent = 1 if cut.message == 2 else 0                    # the script the message would answer
    assert len(session.exchanges) == scripts_sent and all(e.response is None for e in session.exchanges)
    if cut.run == "notifications":                                 # POSTed (and confirmed) or not at all
        assert notification_types(chain) == ([b"\x02"] if cut.message == 2 else [])
    chain.cut = None
    chain.card.stop()

    chain.card = start_card(state, extra=OPTIONS)                  # power back: the same state file
    assert chain.audit() == (new if cut.switched else old)         # ES5 AuditEIS over SMS
    time.sleep(max(0.0, cut_at + RETRY_INTERVAL + 0.5 - time.time()))   # a notification sent before is due again
    out = chain.ok(*chain.https, "notifications")                  # a new session (or none) after the restart
    types = notification_types(chain)
    assert types.count(b"\x02") == (1 if cut.pending else 0), out
    if cut.pending:
        (change,) = [n for n in chain.servers[-1].server.notifications if n.get(0x4D) == b"\x02"]
        assert change[0x2F] == bytes.fromhex(isdp) and "confirmed over HTTPS type 02" in out
    if not cut.switched:                                           # the SM-SR's EnableProfile, once more
        assert chain.ok(*chain.https, "enable", isdp).splitlines()[0] == "ok"
        assert "confirmed over HTTPS type 02" in chain.ok(*chain.https, "notifications")
    assert chain.audit(*chain.https) == new                        # and an HTTPS session works
