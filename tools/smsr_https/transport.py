"""ES5 over HTTPS for the test SM-SR (GP Amd B; SGP.02 §2.4.4): each script the SM-SR runs is
queued in the HTTPS server for the card's EID, the administration session trigger is pushed in
an SCP80 packet to the ISD-R TAR (the SM-SR's SMS path), and the terminal is served (BIP channels
over loopback, TS 102 223 §6.4.27) until the card has answered the script: one session per
script.  With ``linger`` (the command line's default :data:`LINGER`) a session whose script was
answered waits that long for the SM-SR's next one, which then goes in the same session without a
new trigger (e.g. the ES3 relay of an SM-DP's profile download); the transport ends waiting
sessions when it stops.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tools.ber_tlv import encode as ber
from tools.smsr.mo import MoError, Notification, parse_notification
from tools.smsr.settings import aid_for_tar
from tools.smsr.smsr import OtaFailure, SmSr, parse_response_script
from tools.smsr_https.push import sgp02_psk_identity, trigger
from tools.smsr_https.server import ISDR_AID, AdminServer, Exchange
from tools.terminal.link import LinkError

log = logging.getLogger(__name__)

SERVER_NAME = "smsr.test"      # the Host header the card is asked to send [U: any name]
LINGER = 2.0                   # seconds a session waits for the next script (no source gives one)


@dataclass
class HttpsTransport:
    """The :class:`tools.smsr.smsr.ScriptTransport` of an SM-SR over an :class:`AdminServer`."""

    smsr: SmSr
    server: AdminServer
    kvn: int = 0x40
    key_id: int = 0x01
    timeout: float = 30.0
    dns: tuple[str, int] | None = None     # (server, UDP port): the card resolves the name there
    dns_name: str | None = None             # the SM-SR given by this name (``dns`` alone: SERVER_NAME)
    dns_port: int | None = None             # the DNS UDP port without ``dns`` (the terminal's servers)
    recorded: dict[int, Exchange] = field(default_factory=dict)   # answered notification exchanges the EIS took

    @classmethod
    def start(cls, smsr: SmSr, psk: bytes, kvn: int = 0x40, port: int = 0, timeout: float = 30.0,
              linger: float = 0.0) -> "HttpsTransport":
        """A server on loopback knowing the card's PSK under SGP.02's identity; attached to ``smsr``."""
        identity = sgp02_psk_identity(smsr.eis.eid, ISDR_AID, kvn, 0x01)
        transport = cls(smsr, AdminServer({identity: psk}, port=port, linger=linger).start(), kvn, timeout=timeout)
        smsr.https = transport
        return transport

    def stop(self) -> None:
        """End the sessions still open (the card closes its channel), stop serving."""
        try:
            self.end_sessions()
        except LinkError as exc:                 # the card is gone: nothing left to end
            log.warning("HTTPS sessions not ended: %s", exc)
        finally:
            self.server.stop()
            self.smsr.https = None

    def end_sessions(self) -> None:
        """``204`` to every session waiting for a script; the terminal is served until the card has
        closed its channels, then the server's sessions are waited for (each at most :attr:`timeout`)."""
        terminal = self.smsr.terminal
        self.server.release()
        if terminal is not None:
            terminal.serve(self.timeout, until=lambda: not terminal.bip.channels)
        self.server.wait_ended(self.timeout)

    def run_script(self, tar: bytes, items: list[bytes], chaining: int | None) -> bytes:
        """One 'AE 80 ... 00 00' script (TS 102 226 §5.2.1) in one session; its response script."""
        head = ber(0x83, bytes([chaining])) if chaining is not None else b""
        body = b"\xAE\x80" + head + b"".join(items) + b"\x00\x00"
        target = ISDR_AID if tar == self.smsr.s.isd_r_tar else aid_for_tar(tar)
        before = len(self.server.sessions)
        exchange = self.server.queue(self.smsr.eis.eid.hex(), body, target)
        if not exchange.joined:
            self.push()
        terminal = self.smsr.terminal
        assert terminal is not None

        def over() -> bool:
            sessions = self.server.sessions[before:] + ([exchange.session] if exchange.session else [])
            return exchange.response is not None or (bool(sessions) and all(s.ended for s in sessions)
                                                     and not terminal.bip.channels)
        terminal.serve(self.timeout, until=over)
        if exchange.response is None:
            errors = [s.error for s in self.server.sessions if s.error]
            raise OtaFailure(f"no answer over HTTPS within {self.timeout:.0f} s" + (f": {errors[-1]}" if errors else ""))
        if exchange.status != "ok":
            raise OtaFailure(f"X-Admin-Script-Status: {exchange.status}")
        return exchange.response

    def push(self) -> None:
        """The administration session trigger (GP Amd B §3.8) by SCP80 SMS-PP to the ISD-R; with
        :attr:`dns_name` or :attr:`dns`, the SM-SR is given by its name only ('B3'), with the DNS
        server to ask when :attr:`dns` names one (else the card asks the terminal's)."""
        address, port = self.server.address
        name = self.dns_name or (SERVER_NAME if self.dns is not None else None)
        server, dns_port = self.dns if self.dns is not None else (None, self.dns_port)
        self.smsr.send_secured(self.smsr.s.isd_r_tar, trigger(
            name or SERVER_NAME, port, self.server.uri, address=None if name else address, kvn=self.kvn,
            key_id=self.key_id, dns_name=name, dns_servers=(server,) if server else (), dns_port=dns_port))

    def serve_notifications(self, seconds: float) -> list[Notification]:
        """Serve the terminal while notification sessions come in, each confirmed in its session
        (SGP.02 §3.15, ES5.HandleNotificationConfirmation §4.1.1.12); the confirmed ones, which the
        EIS takes as by SMS (:meth:`SmSr.apply_notification`, :meth:`SmSr.confirmed`).  One whose
        confirmation the card has not answered is not confirmed (the card sends it again); one it
        refused raises :class:`OtaFailure` or :class:`CommandFailed`."""
        terminal = self.smsr.terminal
        assert terminal is not None
        before = len(self.server.notifications)
        terminal.serve(seconds, until=lambda: len(self.server.notifications) > before
                       and all(s.completed or s.error for s in self.server.sessions) and not terminal.bip.channels)
        confirmed = []
        for exchange in [e for s in self.server.sessions for e in s.exchanges
                         if e.notification and e.response is not None and id(e) not in self.recorded]:
            self.recorded[id(exchange)] = exchange
            try:
                notification = parse_notification(exchange.notification, self.smsr.s)
            except MoError as exc:
                log.warning("refused notification over HTTPS: %s", exc)
                continue
            self.smsr.eis.log(f"notification {notification.type_name} seq {notification.sequence} over HTTPS")
            if exchange.status != "ok":
                raise OtaFailure(f"X-Admin-Script-Status: {exchange.status}")
            rapdus = parse_response_script(exchange.response).rapdus
            rapdus = self.smsr.check(rapdus, 1, "HandleNotificationConfirmation")
            self.smsr.apply_notification(notification)
            self.smsr.confirmed(notification, rapdus[0][:-2])
            confirmed.append(notification)
        return confirmed
