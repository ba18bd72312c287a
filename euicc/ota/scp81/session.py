"""One administration session (GP Amd B §3.2 communication flow), a
sans-I/O :class:`euicc.cat.bip_port.ChannelUser`: TCP connected -> PSK-TLS handshake (§3.3) ->
first POST (§3.4) -> for each ``200`` command script: run it, POST its response script to
``X-Admin-Next-URI`` (§3.5-§3.7) -> ``204`` ends the session (close_notify).

Each command script runs whole (the owner's :data:`ScriptRun`, through the
:class:`~euicc.ota.card_access.CardAccess` port, in one store transaction) only once its response
was received completely, so a failure of the channel, of TLS or of HTTP (a truncated chunk) between
scripts leaves the card as the last finished script left it; a script that cannot run
(OtaFormatError, NvmWriteError) keeps nothing and is answered ``unavailable-se``.
:attr:`AdminSession.outcome` says how the session ended; the retry policy (§3.8.3) is its owner's
(:class:`RetrySchedule`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from euicc.nvm import NvmWriteError
from euicc.ota.card_access import CardAccess
from euicc.ota.errors import OtaFormatError
from euicc.ota.scp81.admin_http import (AdminHttpClient, AdminProtocolError, CommandScript, EndOfSession,
                                        ScriptStatus)
from euicc.ota.scp81.psk_tls import PskTlsClient, TlsFailure
from euicc.ota.scp81.settings import Scp81Settings
from euicc.ota.scp81.trigger import AdminSessionRequest, RetryPolicy

if TYPE_CHECKING:
    from euicc.context import Context

log = logging.getLogger(__name__)

ScriptRun = Callable[["Context", "bytes | None", bytes], "tuple[ScriptStatus, bytes]"]
"""Runs one command script on its targeted application (None: the agent's security domain)."""


@dataclass(frozen=True)
class PskCredentials:
    """The PSK identity and key of the session (Amd B §3.3.2)."""

    identity: bytes
    key: bytes


@dataclass(frozen=True)
class SessionOutcome:
    """How a session ended: ``ok`` after a ``204`` (or a last script without a next URI);
    ``scripts`` command scripts were run; ``last_uri``: the URI last navigated (POSTed to), where a
    retry resumes (Amd B: "re-navigating the last navigated URI" with ``X-Admin-Resume``)."""

    ok: bool
    reason: str
    scripts: int
    last_uri: str = ""


class AdminSession:
    """The agent's side of one session over one TCP channel."""

    def __init__(self, request: AdminSessionRequest, credentials: PskCredentials, agent_id: str,
                 card: CardAccess, scripts: ScriptRun, settings: Scp81Settings, resume_uri: str | None = None,
                 on_end: Callable[[SessionOutcome], None] | None = None) -> None:
        self.request, self.credentials, self.settings = request, credentials, settings
        self.card, self.scripts = card, scripts
        self.on_end = on_end
        self.resume_uri = resume_uri
        self.last_uri = ""
        self.http = AdminHttpClient(request.http.host, request.http.agent_id or agent_id, settings.max_body)
        self.tls: PskTlsClient | None = None
        self.outcome: SessionOutcome | None = None
        self.scripts_run = 0
        self.posted = False                  # the first POST was written

    # -- ChannelUser ---------------------------------------------------------------------------
    def connected(self) -> None:
        if self.outcome is not None or self.tls is not None:
            return
        try:
            self.tls = PskTlsClient(self.credentials.identity, self.credentials.key, self.settings.cipher_suites)
            self.tls.start()
        except TlsFailure as e:
            self._end(False, f"tls: {e}")

    def received(self, data: bytes) -> None:
        if self.outcome is not None or self.tls is None:
            return                                   # nothing is expected: dropped
        try:
            self.tls.feed(data)
            for plain in self.tls.records():       # one record at a time: a 204 is answered (close_notify)
                if self.tls.established and not self.posted:   # before the server's close_notify is read
                    self._first_post()
                response = self.http.received(plain) if plain else None
                if response is not None:
                    self._answer(response)
                if self.outcome is not None:
                    return
            if self.tls.peer_closed and self.outcome is None:
                self.http.eof()
                self._end(False, "tls: the server closed the session before its end (close_notify)")
        except TlsFailure as e:
            self._end(False, f"tls: {e}")
        except AdminProtocolError as e:
            self._end(False, f"http: {e}")
            self.tls.close()

    def outgoing(self) -> bytes:
        if self.tls is None:
            return b""
        try:
            return self.tls.outgoing()
        except TlsFailure as e:
            self._end(False, f"tls: {e}")
            return b""

    def closed(self, reason: str) -> None:
        if self.outcome is None:
            self._end(False, f"channel: {reason}")

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    # -- the protocol ------------------------------------------------------------------------
    def _first_post(self) -> None:
        """The first POST once the handshake is over (Amd B §3.4; ``X-Admin-Resume`` §3.6.3)."""
        assert self.tls is not None
        self.posted = True
        query = f"?{self.request.first_query}" if self.request.first_query else ""
        self.last_uri = self.resume_uri or self.request.http.uri + query
        resume = self.resume_uri is not None and self.settings.resume_header
        self.tls.write(self.http.post(self.last_uri, resume=resume))

    def _answer(self, response: CommandScript | EndOfSession) -> None:
        assert self.tls is not None
        if isinstance(response, EndOfSession):
            self.tls.close()
            self._end(True, "204 No Content")
            return
        status, result = self._run(response)
        self.scripts_run += 1
        if response.next_uri is None:            # the last script: its result is not returned
            self.tls.close()
            self._end(True, "last script (no X-Admin-Next-URI)")
            return
        self.last_uri = response.next_uri
        body = result if status is ScriptStatus.OK else b""       # other statuses carry no body
        self.tls.write(self.http.post(response.next_uri, body, status))

    def _run(self, response: CommandScript) -> tuple[ScriptStatus, bytes]:
        try:
            return self.card(lambda ctx: self.scripts(ctx, response.target, response.script))
        except (OtaFormatError, NvmWriteError) as e:      # nothing of the script is kept
            log.info("administration script not run: %s", e)
            return ScriptStatus.UNAVAILABLE_SE, b""

    def _end(self, ok: bool, reason: str) -> None:
        if self.outcome is None:
            self.outcome = SessionOutcome(ok, reason, self.scripts_run, self.last_uri)
            log.info("administration session ended: %s", reason)
            if self.on_end is not None:
                self.on_end(self.outcome)


@dataclass
class RetrySchedule:
    """The retry policy of one requested session (Amd B §3.8.3): after a failed attempt the
    session is tried again ``counter`` more times, ``delay`` seconds apart; then the request is
    dropped and its owner sends the failure report (the ISD-R's agent: Scp81Settings.failure_report)."""

    policy: RetryPolicy
    attempts: int = 0
    next_at: float = 0.0

    def due(self, now: float) -> bool:
        return self.attempts <= self.policy.counter and now >= self.next_at

    @property
    def resume(self) -> bool:
        """Whether the next attempt retries an earlier one (``X-Admin-Resume``, §3.6.3)."""
        return self.attempts > 0

    def failed(self, now: float) -> bool:
        """Record a failed attempt; True when another one is scheduled."""
        self.attempts += 1
        if self.attempts > self.policy.counter:
            return False
        self.next_at = now + self.policy.delay
        return True
