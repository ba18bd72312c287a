"""ES5 over HTTPS for the SM-SR service (SGP.02 v4.2 §2.4.4: SCP81, GP Amd B administration
sessions over PSK-TLS through the card's BIP channels), ``smsr-service serve --transport https``.

Every script the service sends to the card goes through :class:`tools.smsr_https.HttpsTransport`
with the SCP81 key set the service's EIS holds for that card (the lowest KVN of
``eis.psk_keysets``: ``smsr put-psk`` or the SM-SR change establishes one).  No key set: the
function fails with subject 8.1 (eUICC), reason 3.7 (Unavailable) before anything reaches the card.
The service's sessions do not linger (:data:`LINGER`): a function's scripts each get a trigger and
a session, so no session stays open between functions.  The card's notifications delivered in its
own HTTPS sessions (§3.15, ``msg=``) are confirmed in them and taken into the EIS as the SMS ones
(:meth:`HttpsTransport.serve_notifications`: ``SmSr.apply_notification`` / ``SmSr.confirmed``).
"""
from __future__ import annotations

import logging

from tools.m2m_services.status import FunctionFailed
from tools.smsr.eis import PskKeyset
from tools.smsr.eis_file import EisDocument
from tools.smsr.mo import Notification
from tools.smsr.smsr import SmSr
from tools.smsr_https.transport import HttpsTransport

log = logging.getLogger(__name__)
TRANSPORTS = ("sms", "https")
LINGER = 0.0
"""Seconds a service session waits for a next script: none (a setting; see the module text)."""
NOTIFICATION_WAIT = 5.0
"""Seconds the terminal is served for the card's notification sessions after a switch when no
notification came by SMS (a setting: no source gives one)."""
NO_PSK = ("8.1", "3.7")
"""FunctionExecutionStatus subject / reason when the EIS holds no SCP81 key set of the card:
eUICC - Unavailable (SGP.02 §5.1 codes, :mod:`tools.m2m_services.status`)."""


def psk_keyset(doc: EisDocument) -> PskKeyset:
    """The card's SCP81 key set in its EIS (the lowest KVN), or Failed 8.1 3.7."""
    if not doc.eis.psk_keysets:
        raise FunctionFailed(*NO_PSK, "ES5 over HTTPS: the EIS holds no SCP81 (PSK-TLS) key set of this eUICC")
    return doc.eis.psk_keysets[min(doc.eis.psk_keysets)]


class HttpsPath:
    """The service's HTTPS server for the card it is attached to; restarted (on the same port, where
    the card's notification sessions go) when the card or its key set changes."""

    def __init__(self, port: int = 0, timeout: float = 30.0) -> None:
        self.port, self.timeout = port, timeout
        self.transport: HttpsTransport | None = None
        self._key: tuple[bytes, int, bytes] | None = None

    def check(self, doc: EisDocument) -> None:
        """Refuse (Failed 8.1 3.7) before the card is touched when there is no key set."""
        psk_keyset(doc)

    def attach(self, smsr: SmSr, doc: EisDocument) -> None:
        """``smsr``'s scripts go over HTTPS with ``doc``'s key set."""
        keyset = psk_keyset(doc)
        key = (doc.eis.eid, keyset.kvn, keyset.psk)
        if self.transport is not None and self.transport.smsr is smsr and self._key == key:
            smsr.https = self.transport
            return
        self.stop()
        self.transport = HttpsTransport.start(smsr, keyset.psk, keyset.kvn, self.port, self.timeout, linger=LINGER)
        self.port, self._key = self.transport.server.address[1], key

    def end_sessions(self) -> None:
        """End the session that ran the switch (``204``, the card's close_notify and CLOSE CHANNEL):
        the card performs the switch's REFRESH only then (:mod:`euicc.m2m.admin_agent`), before the
        network is reported to it."""
        if self.transport is not None:
            self.transport.end_sessions()

    def notifications(self, smsr: SmSr) -> list[Notification]:
        """After a switch: when nothing came by SMS, serve the card's notification sessions; the
        notifications confirmed in them (the EIS has taken them)."""
        if self.transport is None or smsr.notifications:
            return []
        return self.transport.serve_notifications(NOTIFICATION_WAIT)

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.stop()
        self.transport, self._key = None, None
