"""The ISD-R's SCP81 administration agent (GP Amd B; SGP.02 v4.2 §2.4.4, ES5 and ES8 over HTTPS):
the card's side of :mod:`euicc.ota.scp81` with SGP.02's keys, identities and routes.

- A push from the SM-SR (the Amd B §3.8 administration session trigger '81' as the secured data of
  an SCP80 packet with a cryptographic checksum to the ISD-R TAR, SPEC_NOTES §3.2) queues a
  session; its parameters are kept (``SMSR_HTTPS``) as the SM-SR's HTTPS address, which the
  card uses to open sessions itself to deliver notifications (SGP.02 §3.15, ``msg=`` query).
- PSK: the SCP81 key set the trigger names (KVN '40'-'4F', key ID), else the lowest one; PSK
  identity: the trigger's, else SGP.02's (:func:`psk_identity`).
- Scripts: ``X-Admin-Targeted-Application`` (absent: the ISD-R) is routed like a TAR (SGP.02
  Annex H: the TAR is bytes 13-15 of the AID) with the same route table as SMS; a route secured
  by other keys than the ISD-R's is ``security-error``; each script runs through the same remote
  management as an SMS packet, with the origin ``OTA over HTTPS`` and the PSK's KVN as key set,
  in its own store transaction.
- The SM-SR's address as a name (no '3E' in the connection parameters): before its channel, a
  session resolves the trigger's 'B3' FQDN (else the admin host) with
  :class:`euicc.cat.dns_resolver.Resolution`, one BIP UDP channel per DNS server in turn: those
  of 'B3' first, then those the terminal gave for OPEN CHANNEL (TS 102 223 §6.4.27 DNS server
  address request, asked only of a terminal that declared it; on the 'B3' UDP port, else 53)
  (SGP.02 v4 DNS resolution; answers cached for their TTL); an unresolvable name fails that
  attempt (retry policy).
- Opening: after every CAT command :meth:`Scp81Agent.open_due` asks the BIP layer
  (``ctx.services.bip``, TS 102 223 §6.4.27) for a channel for each session whose time has come
  (:meth:`Scp81Agent.due_sessions`: the channel and its
  :class:`~euicc.ota.scp81.session.AdminSession`); a failed session is retried by its retry
  policy (Amd B §3.8.3) when the terminal's timer (§6.4.21) for the agent expires.
- REFRESH (TS 102 223 §6.4.7) of a profile switch a script made: from the session's first script
  to its end the agent holds REFRESH back (:meth:`~euicc.cat.proactive.ProactiveSession.hold_refresh`),
  so the session ends as the SM-SR expects (the response POSTed, ``204``, close_notify, CLOSE
  CHANNEL) before the reset (SGP.02 §3.2.1: the eUICC answers the SM-SR, then REFRESHes [R]); a
  session that fails after its script releases it as well, so the switch's REFRESH always comes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.aids import ISD_R_AID as ISDR_AID
from euicc.cat.bip_port import ChannelRequest
from euicc.cat.dns_resolver import DnsCache, DnsExchange, DnsSettings, Resolution, TerminalDnsQuery
from euicc.context import Origin
from euicc.m2m import mo_packet
from euicc.m2m.keystore import PskKeys
from euicc.m2m.records import SMSR_HTTPS
from euicc.m2m.settings import ISDR_TAR
from euicc.ota.card_access import CommandAccess
from euicc.ota.errors import OtaFormatError
from euicc.ota.origin import OtaOrigin, TransportContext
from euicc.ota.scp81.admin_http import ScriptStatus
from euicc.ota.scp81.session import AdminSession, PskCredentials, RetrySchedule, ScriptRun, SessionOutcome
from euicc.ota.scp81.settings import Scp81Settings
from euicc.ota.scp81.trigger import TAG_TRIGGER, AdminSessionRequest, parse_trigger
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.cat.proactive import ProactiveSession
    from euicc.context import Context
    from euicc.m2m.runtime import M2mRuntime
    from euicc.ota.secured_packet import RemoteManagement

log = logging.getLogger(__name__)
HTTPS = TransportContext(Origin.OTA_HTTPS, None, b"")
AID_TAR_OFFSET = 12                 # SGP.02 Annex H


def psk_identity(eid: bytes, isdr_aid: bytes, kvn: int, key_id: int) -> bytes:
    """SGP.02's PSK identity (SPEC_NOTES §3.2 after NJIWA-B ``makePskId``, "Table 4 of SGP.02
    v4.1"): the upper-case hex string of '80 01 02' '81 10' EID '4F 10' ISD-R AID '82 01' key ID
    '83 01' KVN."""
    body = (tlv.tlv(0x80, b"\x02") + tlv.tlv(0x81, eid) + tlv.tlv(0x4F, isdr_aid)
            + tlv.tlv(0x82, bytes((key_id,))) + tlv.tlv(0x83, bytes((kvn,))))
    return body.hex().upper().encode("ascii")


def agent_id(eid: bytes, isdr_aid: bytes) -> str:
    """``X-Admin-From`` of the ISD-R's agent (Amd B §3.4.2; SPEC_NOTES §3.2)."""
    return f"//se-id/eid/{eid.hex().upper()};//aa-id/aid/{isdr_aid[:5].hex().upper()}/{isdr_aid[5:].hex().upper()}"


@dataclass
class PendingSession:
    """A requested session with its retry schedule; ``notification``: the sequence number of the
    notification it delivers (None: a session the SM-SR asked for)."""

    request: AdminSessionRequest
    schedule: RetrySchedule
    notification: int | None = None
    open: bool = False
    resume_uri: str | None = None       # the URI an interrupted attempt navigated last
    resolution: Resolution | None = None    # the SM-SR's name being resolved (DNS)
    exchange: DnsExchange | TerminalDnsQuery | None = None     # its channel now
    refresh_hold: ProactiveSession | None = None   # this attempt ran a script: REFRESH waits for its end

    @property
    def unresolved(self) -> bool:
        return not self.request.channel.address


@dataclass
class AgentState(VolatileState):
    """The power cycle's requested sessions (a reset forgets them; the SM-SR pushes again, and
    notifications are queued persistently by :mod:`euicc.m2m.notifications`)."""

    LIFETIME = Lifetime.POWER_CYCLE

    pending: list[PendingSession] = field(default_factory=list)


def agent_state(ctx: Context) -> AgentState:
    return ctx.volatile.get(AgentState) or ctx.volatile.put(AgentState())


class Scp81Agent:
    """SGP.02's administration agent on the ISD-R, over the card's remote management."""

    def __init__(self, runtime: M2mRuntime) -> None:
        self.runtime = runtime
        self._remote: RemoteManagement | None = None
        self.dns_cache = DnsCache(runtime.clock)

    def bind(self, remote: RemoteManagement) -> None:
        """The remote management whose routes and hooks the scripts run through."""
        self._remote = remote

    @property
    def remote(self) -> RemoteManagement:
        if self._remote is None:
            raise RuntimeError("the administration agent is not bound to a remote management")
        return self._remote

    @property
    def settings(self) -> Scp81Settings:
        return self.runtime.settings.scp81

    # -- requests ----------------------------------------------------------------------------
    def trigger(self, ctx: Context, data: bytes, origin: OtaOrigin) -> bytes:
        """The '81' push to the ISD-R (a :class:`euicc.ota.routing.PushHandler`): queue the
        session; a malformed trigger queues nothing.  No response data (Amd B §3.8)."""
        try:
            value = tlv.unwrap(data, TAG_TRIGGER)
            request = parse_trigger(value, self.settings)
        except (OtaFormatError, tlv.TlvError) as e:
            log.info("administration session trigger refused: %s", e)
            return b""
        ctx.store.put(SMSR_HTTPS, value)
        self._queue(ctx, request)
        return b""

    def request_notification(self, ctx: Context, message: bytes, seq: int) -> bool:
        """Queue a session delivering notification ``message`` (SGP.02 §3.15 over HTTPS, query
        ``msg=<hex>``, SPEC_NOTES §2.8); False (the caller sends it by SMS) when the SM-SR's HTTPS
        address is unknown or the terminal offers no TCP channel (TS 102 223 §6.4.27)."""
        value = ctx.store.get(SMSR_HTTPS)
        if value is None or not ctx.services.bip.available(ctx, "tcp"):
            return False
        state = agent_state(ctx)
        if any(p.notification == seq for p in state.pending):
            return True
        try:
            request = parse_trigger(value, self.settings)
        except OtaFormatError:
            return False
        request = AdminSessionRequest(request.channel, request.security, request.retry, request.http,
                                      f"msg={message.hex().upper()}", request.dns, request.extended_security)
        self._queue(ctx, request, seq)
        return True

    def _queue(self, ctx: Context, request: AdminSessionRequest, notification: int | None = None) -> None:
        agent_state(ctx).pending.append(PendingSession(request, RetrySchedule(request.retry), notification))

    # -- opening -----------------------------------------------------------------------------
    def due_sessions(self, ctx: Context) -> list[tuple[ChannelRequest, AdminSession]]:
        """The channel and engine of the next session due now, one session at a time (the BIP
        layer opens the channel) [R: Amd B runs one administration session at a time]."""
        now, out = self.runtime.clock(), []
        state = agent_state(ctx)
        if any(p.open for p in state.pending):
            return []
        for pending in list(state.pending):
            if out or pending.unresolved or not pending.schedule.due(now):
                continue
            credentials = self.credentials(ctx, pending.request)
            if credentials is None:
                log.info("administration session not opened: no SCP81 key set")
                state.pending.remove(pending)
                continue
            pending.open = True
            session = AdminSession(pending.request, credentials[0], agent_id(ctx.services.eid, ISDR_AID),
                                   CommandAccess(ctx), self._scripts(pending, credentials[1]), self.settings,
                                   pending.resume_uri if pending.schedule.resume else None,
                                   on_end=lambda outcome, p=pending: self._ended(ctx, p, outcome))
            out.append((pending.request.channel, session))
        return out

    def open_due(self, ctx: Context) -> None:
        """After every CAT command (a toolkit hook): OPEN CHANNEL (TS 102 223 §6.4.27) for each
        session due; a session the terminal refuses a channel for fails that attempt (retry
        policy).  Without BIP in the terminal's profile sessions wait (the SM-SR's push came by
        SMS anyway; notifications then go by SMS), and none opens while a REFRESH is on its way
        (TS 102 223 §6.4.7: the reset would cut it; a profile change's notification goes after
        the attachment with the new profile, SGP.02 §3.15)."""
        bip = ctx.services.bip
        if not bip.available(ctx, "tcp") or ctx.cat.refresh_pending or self._resolving(ctx):
            return
        for request, session in self.due_sessions(ctx):
            if not bip.open(ctx, request, session):
                session.closed("no BIP channel for the session")

    def _resolving(self, ctx: Context) -> bool:
        """Resolve the SM-SR's name of the next due session (RFC 1034 §5.3.3 over BIP UDP
        channels): True while a DNS query is under way."""
        state, now = agent_state(ctx), self.runtime.clock()
        pending = next((p for p in state.pending if p.unresolved and not p.open and p.schedule.due(now)), None)
        if pending is None:
            return False
        if pending.exchange is not None and not pending.exchange.finished:
            return True
        bip = ctx.services.bip
        if pending.resolution is None:
            dns = pending.request.dns
            settings = DnsSettings(port=dns.port) if dns.port else DnsSettings()
            pending.resolution = Resolution(dns.name or pending.request.http.host, dns.servers, self.dns_cache,
                                            self.runtime.clock, settings, ask_terminal=bip.asks_dns(ctx))
        pending.resolution.add_servers(bip.dns_servers(ctx))
        while (step := pending.resolution.next_channel()) is not None:
            channel, pending.exchange = step
            if bip.available(ctx, "udp") and bip.open(ctx, channel, pending.exchange):
                return True
            pending.exchange.closed("no BIP UDP channel")
        answer, failures = pending.resolution.answer, pending.resolution.failures
        pending.resolution = pending.exchange = None
        if answer is not None:
            pending.request = replace(pending.request, channel=replace(pending.request.channel,
                                                                         address=answer.addresses[0]))
            return False
        log.info("SM-SR address not resolved: %s", "; ".join(failures))
        self._ended(ctx, pending, SessionOutcome(False, "SM-SR address not resolved", 0))
        return False

    # -- the terminal's timer for retries (TS 102 223 §6.4.21; euicc.cat.toolkit.DeadlineKeeper) --
    def now_ms(self) -> int:
        return self.runtime.now_ms()

    def deadline(self, ctx: Context) -> int | None:
        """When the next retry of a failed session is due (Amd B §3.8.3)."""
        waiting = [p.schedule.next_at for p in agent_state(ctx).pending if not p.open and p.schedule.attempts]
        return int(min(waiting) * 1000) if waiting else None

    def expired(self, ctx: Context) -> None:
        self.open_due(ctx)

    def credentials(self, ctx: Context, request: AdminSessionRequest) -> tuple[PskCredentials, int] | None:
        """The PSK (and its KVN) of a session, as the trigger names it or the lowest key set."""
        keys, security = PskKeys(ctx.store), request.security
        kvns = [k for k in keys.kvns() if k in self.settings.psk_kvns]
        kvn = security.kvn if security.kvn else (kvns[0] if kvns else None)
        keyset = keys.get(kvn) if kvn in self.settings.psk_kvns else None
        if keyset is None:
            return None
        key_id = security.key_id or self.settings.psk_key_id
        identity = security.psk_identity or psk_identity(ctx.services.eid, ISDR_AID, keyset.kvn, key_id)
        return PskCredentials(identity, keyset.psk), keyset.kvn

    def _ended(self, ctx: Context, pending: PendingSession, outcome: SessionOutcome) -> None:
        state = agent_state(ctx)
        pending.open = False
        if pending.refresh_hold is not None:     # the channel's end (close_notify, CLOSE CHANNEL) goes
            pending.refresh_hold.release_refresh()     # first: ProactiveSession.submit queues it ahead
            pending.refresh_hold = None
        pending.resume_uri = outcome.last_uri or pending.resume_uri
        if outcome.ok or not pending.schedule.failed(self.runtime.clock()):
            if not outcome.ok:
                log.info("administration session given up after %d attempts", pending.schedule.attempts)
                self._report_failure(ctx, pending)
            if pending in state.pending:
                state.pending.remove(pending)

    def _report_failure(self, ctx: Context, pending: PendingSession) -> None:
        """The retry policy's failure report once the last retry failed (Amd B §3.8.3), for a
        session the SM-SR asked for: to the SM-SR by SMS (setting ``failure_report``, [U])."""
        report = pending.request.retry.failure_report
        if report is None or pending.notification is not None or self.settings.failure_report != "sms":
            return
        if not mo_packet.to_smsr(ctx, self.runtime.settings, report, pending.schedule.attempts & 0xFF):
            log.info("retry failure report not sent: no SM-SR SMS address, or no SMS from the terminal")

    # -- scripts -----------------------------------------------------------------------------
    def _scripts(self, pending: PendingSession, kvn: int) -> ScriptRun:
        """The scripts of a session secured by the PSK of key set ``kvn``; the first holds REFRESH
        back until the session ends (:meth:`_ended`)."""
        def run(ctx: Context, target: bytes | None, script: bytes) -> tuple[ScriptStatus, bytes]:
            if pending.refresh_hold is None:
                pending.refresh_hold = ctx.cat
                ctx.cat.hold_refresh()
            return self.run(ctx, kvn, target, script)
        return run

    def run(self, ctx: Context, kvn: int, target: bytes | None, script: bytes) -> tuple[ScriptStatus, bytes]:
        """One command script on its targeted application (Amd B §3.5.1.2, §3.7), in the session's
        card access (one store transaction); a script that cannot run raises OtaFormatError (the
        session answers ``unavailable-se``, nothing kept)."""
        aid = target or ISDR_AID
        tar = ISDR_TAR if aid == ISDR_AID else aid[AID_TAR_OFFSET:AID_TAR_OFFSET + 3]
        route = self.remote.router.route(ctx, tar) if len(aid) == 16 else None
        if route is None or route.target != aid:
            return ScriptStatus.UNKNOWN_APPLICATION, b""
        if route.owner != "isdr":
            return ScriptStatus.SECURITY_ERROR, b""
        if self.remote.prepare is not None:
            self.remote.prepare(ctx)
        data = self.remote.run_script(ctx, route, OtaOrigin(tar, route.owner, kvn, aid, HTTPS), script)
        if self.remote.settle is not None:
            self.remote.settle(ctx)
        return ScriptStatus.OK, data
