"""The SM-SR service's side of the SMS network (:mod:`tools.terminal.sms_network` describes the wire):
its SMSC endpoint, where the card's MO messages arrive (PoRs, SGP.02 §4.1.1.11 notifications), and
:class:`RemoteTerminal`, through which its MT messages (ES5 command packets) reach the terminal
simulator in front of the card.

Why an HTTP endpoint of its own (``smsr-service serve --mo-port``) and not a function of the SOAP
port: the SMSC is a network element, not an SGP.02 party (no FunctionRequesterIdentifier, no
certificate of the SGP.02 PKI, no wsa:Action), and one TPDU per POST keeps it as plain as SMSC
gateways are.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from tools.smsr.mo import MoError
from tools.terminal.link import LinkError
from tools.terminal.sms_network import MO_ACCEPTED, MT_CONTENT_TYPE, TIMEOUT, HttpEndpoint, answer, read_body

log = logging.getLogger(__name__)


class RemoteTerminal:
    """What :class:`tools.smsr.smsr.SmSr` needs of a terminal, at the terminal simulator's MT
    endpoint ``url``: SMS-PP delivery of one message; the card's answer to its last ENVELOPE back."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url, self.timeout = url, timeout
        self.sms_sink = None                     # MO comes back through the SMSC endpoint, not here
        self.link = self                         # the session is the terminal's: never "reset behind us"

    def sms_pp_download(self, tpdus: list[bytes]) -> tuple[bytes, int]:
        body = json.dumps({"tpdus": [t.hex() for t in tpdus]}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": MT_CONTENT_TYPE})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                result = json.loads(reply.read())
            return bytes.fromhex(result["data"]), int(result["sw"], 16)
        except urllib.error.HTTPError as exc:
            raise LinkError(f"terminal {self.url}: HTTP {exc.code} {exc.read()[:200]!r}") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LinkError(f"terminal {self.url}: {exc}") from exc

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release: the terminal simulator keeps the card."""


class MoEndpoint(HttpEndpoint):
    """The SMSC endpoint on ``host:port`` (port 0: any free one): each POSTed SMS-SUBMIT TPDU goes
    to ``receive`` (``202``; ``400`` when it is not a TPDU the SM-SR can read)."""

    def __init__(self, receive: Callable[[bytes], None], host: str = "127.0.0.1", port: int = 0) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = read_body(self)
                if body is None:
                    return
                try:
                    receive(body)
                except MoError as exc:
                    log.warning("MO message refused: %s", exc)
                    answer(self, 400, str(exc).encode(), "text/plain")
                    return
                answer(self, MO_ACCEPTED)

            def log_message(self, fmt: str, *args) -> None:
                log.debug("MO %s " + fmt, self.address_string(), *args)

        super().__init__(Handler, host, port)
