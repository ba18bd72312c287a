"""The card's side of the HTTP/1.1 administration protocol (GP Amd B §3.2-§3.7), over h11.

The card (the administration agent) POSTs to the administration server; each response carries
the next command script or ends the session:

- request (§3.4): ``POST <uri> HTTP/1.1``, ``Host``, ``X-Admin-Protocol:
  globalplatform-remote-admin/1.0``, ``X-Admin-From: <agent ID>``, chunked transfer coding; after
  the first POST the body is the response script of the previous command script, with
  ``Content-Type: application/vnd.globalplatform.card-content-mgt-response;version=1.0`` and
  ``X-Admin-Script-Status`` (§3.7); ``X-Admin-Resume: true`` when a retried session starts again
  (§3.6.3);
- response (§3.5): ``200`` with ``Content-Type:
  application/vnd.globalplatform.card-content-mgt;version=1.0``, ``X-Admin-Next-URI`` (where to
  POST the result; absent: the session ends once this last script ran, its result not returned),
  optional ``X-Admin-Targeted-Application: //aid/<RID>/<PIX>`` (the Security Domain targeted when it
  is not the one holding the PSK) and the command script (TS 102 226 §5.2 expanded format);
  ``204 No Content`` ends the session.

Anything else — a protocol error (e.g. a truncated or malformed chunk), another status, a body
over ``max_body`` — raises :class:`AdminProtocolError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import h11

ADMIN_PROTOCOL = "globalplatform-remote-admin/1.0"
CONTENT_TYPE_SCRIPT = "application/vnd.globalplatform.card-content-mgt;version=1.0"
CONTENT_TYPE_RESPONSE = "application/vnd.globalplatform.card-content-mgt-response;version=1.0"


class ScriptStatus(Enum):
    """``X-Admin-Script-Status`` values (Amd B §3.7 / SPEC_NOTES §3.2)."""

    OK = "ok"
    UNKNOWN_APPLICATION = "unknown-application"
    NOT_A_SECURITY_DOMAIN = "not-a-security-domain"
    SECURITY_ERROR = "security-error"
    UNAVAILABLE_SE = "unavailable-se"


class AdminProtocolError(Exception):
    """The server's answer breaks the administration protocol."""


@dataclass(frozen=True)
class CommandScript:
    """A ``200`` response: the script, its target (AID; None: the agent's own security domain)
    and where to POST the result (None: nowhere, the session ends after the script)."""

    script: bytes
    target: bytes | None
    next_uri: str | None


@dataclass(frozen=True)
class EndOfSession:
    """A ``204 No Content`` response (§3.5.2)."""


AdminResponse = CommandScript | EndOfSession


def parse_aid_uri(value: str) -> bytes:
    """``//aid/<RID>/<PIX>`` (Amd B §3.5.1.2, hex digits) -> the AID."""
    parts = value.split("/")
    if len(parts) != 5 or parts[:3] != ["", "", "aid"] or len(parts[3]) != 10:
        raise AdminProtocolError(f"bad X-Admin-Targeted-Application {value!r}")
    try:
        aid = bytes.fromhex(parts[3] + parts[4])
    except ValueError:
        raise AdminProtocolError(f"bad X-Admin-Targeted-Application {value!r}") from None
    if not 5 <= len(aid) <= 16:
        raise AdminProtocolError("targeted AID length outside 5-16")
    return aid


class AdminHttpClient:
    """The agent's HTTP connection: builds POSTs, assembles the server's responses."""

    def __init__(self, host: str, agent_id: str, max_body: int) -> None:
        self.host, self.agent_id, self.max_body = host, agent_id, max_body
        self._conn = h11.Connection(h11.CLIENT)
        self._status: int | None = None
        self._headers: dict[str, str] = {}
        self._body = bytearray()

    def post(self, uri: str, body: bytes = b"", status: ScriptStatus | None = None, resume: bool = False) -> bytes:
        """The bytes of one POST (§3.4); ``status`` marks a response script (§3.7)."""
        headers = [("Host", self.host), ("X-Admin-Protocol", ADMIN_PROTOCOL), ("X-Admin-From", self.agent_id),
                   ("Transfer-Encoding", "chunked")]
        if status is not None:
            headers += [("Content-Type", CONTENT_TYPE_RESPONSE), ("X-Admin-Script-Status", status.value)]
        if resume:
            headers.append(("X-Admin-Resume", "true"))
        try:
            out = self._conn.send(h11.Request(method="POST", target=uri, headers=headers)) or b""
            if body:
                out += self._conn.send(h11.Data(data=body)) or b""
            return out + (self._conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError as e:
            raise AdminProtocolError(f"cannot send: {e}") from None

    def received(self, data: bytes) -> AdminResponse | None:
        """Feed bytes of the server; the response once it is complete."""
        try:
            self._conn.receive_data(data)
            return self._events()
        except h11.RemoteProtocolError as e:
            raise AdminProtocolError(str(e)) from None

    def eof(self) -> None:
        """The server closed the connection: a response cut short is an error."""
        if self._status is not None or self._conn.their_state is h11.SEND_BODY:
            raise AdminProtocolError("connection closed in the middle of a response")

    def _events(self) -> AdminResponse | None:
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return None
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                self._status = event.status_code
                self._headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > self.max_body:
                    raise AdminProtocolError("administration response larger than the agent accepts")
            elif isinstance(event, h11.EndOfMessage):
                return self._complete()
            elif isinstance(event, h11.ConnectionClosed):
                raise AdminProtocolError("connection closed")

    def _complete(self) -> AdminResponse:
        status, headers, body = self._status, self._headers, bytes(self._body)
        self._status, self._headers, self._body = None, {}, bytearray()
        if self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE:
            self._conn.start_next_cycle()
        if headers.get("x-admin-protocol") != ADMIN_PROTOCOL:
            raise AdminProtocolError("response without X-Admin-Protocol globalplatform-remote-admin/1.0")
        if status == 204:
            return EndOfSession()
        if status != 200:
            raise AdminProtocolError(f"HTTP status {status}")
        next_uri = headers.get("x-admin-next-uri") or None
        target = headers.get("x-admin-targeted-application")
        return CommandScript(body, parse_aid_uri(target) if target else None, next_uri)
