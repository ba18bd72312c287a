"""The SMS network between the terminal simulator and the SM-SR, carried over HTTP on loopback.

SGP.02 §2.x / §5.6 ES5 over SMS: the SM-SR's command packets reach the card as SMS-DELIVER (MT,
3GPP TS 23.040 §9.2.2.1), delivered by the terminal with SMS-PP data download (TS 31.111 §7.1.1);
the card's PoRs and notifications leave as SMS-SUBMIT (MO, TS 23.040 §9.2.2.2) with SEND SHORT
MESSAGE (TS 102 223 §6.4.10).  Between the terminal and the SM-SR there is an SMSC, whose
interconnect no readable source of this project defines; here it is plain HTTP (a setting of this
project, the shape commercial SMSC gateways give application servers):

- MO: ``POST`` of one SMS-SUBMIT TPDU as sent by the card (``Content-Type: MO_CONTENT_TYPE``) to the
  SM-SR's SMSC endpoint; ``202`` = the network took the message (the terminal's TERMINAL RESPONSE
  says "command performed"), anything else = not delivered ("network currently unable").
- MT: ``POST`` of the SMS-DELIVER TPDUs of one message (JSON ``{"tpdus": [hex, ...]}``) to the
  terminal's MT endpoint; the answer (JSON ``{"data": hex, "sw": "XXXX"}``) is what the card
  answered the last ENVELOPE, i.e. the user data of the SMS-DELIVER-REPORT (TS 31.111 §7.1.1.1:
  the PoR when the card gives it there).

:class:`HttpSmsc` is the terminal's ``sms_sink`` for MO; :class:`MtEndpoint` serves MT deliveries to
a :class:`~tools.terminal.terminal.Terminal` (one at a time, behind :attr:`MtEndpoint.lock`, which
whoever else drives the terminal holds too: the device's own events, its timers).
"""
from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from tools.terminal.link import LinkError
from tools.terminal.terminal import Terminal

log = logging.getLogger(__name__)
MO_CONTENT_TYPE = "application/octet-stream"
MT_CONTENT_TYPE = "application/json"
MO_ACCEPTED = 202
MAX_BODY = 64 * 1024
"""Largest HTTP body either endpoint reads (a concatenated message of 255 parts is ~45 KB of JSON)."""
TIMEOUT = 60.0
"""Seconds an MO or MT POST may take (an MT delivery runs the card's whole proactive session)."""


class HttpSmsc:
    """The terminal's SMS sink: each SMS-SUBMIT goes to the SMSC endpoint at ``url``."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url, self.timeout = url, timeout

    def __call__(self, tpdu: bytes, address: bytes = b"") -> bool:
        request = urllib.request.Request(self.url, data=bytes(tpdu), method="POST",
                                         headers={"Content-Type": MO_CONTENT_TYPE})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.status == MO_ACCEPTED
        except urllib.error.HTTPError as exc:
            log.warning("SMSC %s refused an MO message: HTTP %d", self.url, exc.code)
        except OSError as exc:
            log.warning("SMSC %s unreachable: %s", self.url, exc)
        return False


def read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request body, or None after answering 411/413 (no or too large a body)."""
    length = int(handler.headers.get("Content-Length") or 0)
    if not 0 < length <= MAX_BODY:
        handler.send_error(413 if length else 411)
        return None
    return handler.rfile.read(length)


def answer(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
           content_type: str = MT_CONTENT_TYPE) -> None:
    """Send the HTTP answer (status, optional body)."""
    handler.send_response(status)
    if body:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def parse_mt(body: bytes) -> list[bytes]:
    """The TPDUs of an MT request body (ValueError when it is not ``{"tpdus": [hex, ...]}``)."""
    tpdus = json.loads(body).get("tpdus")
    if not isinstance(tpdus, list) or not tpdus or not all(isinstance(t, str) for t in tpdus):
        raise ValueError("no tpdus")
    return [bytes.fromhex(t) for t in tpdus]


class HttpEndpoint:
    """One end of the SMS network: ``handler`` served on ``host:port`` (port 0: any free one) on a
    thread of its own from :meth:`start`, its address in :attr:`url`, until :meth:`close`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int) -> None:
        self.server = ThreadingHTTPServer((host, port), handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/"

    def start(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MtEndpoint(HttpEndpoint):
    """The terminal's MT endpoint on ``host:port`` (port 0: any free one); started by :meth:`start`."""

    def __init__(self, terminal: Terminal, host: str = "127.0.0.1", port: int = 0) -> None:
        self.terminal = terminal
        self.lock = threading.RLock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = read_body(self)
                if body is None:
                    return
                try:
                    tpdus = parse_mt(body)
                except (ValueError, AttributeError) as exc:
                    answer(self, 400, str(exc).encode(), "text/plain")
                    return
                try:
                    with endpoint.device() as device:
                        data, sw = device.sms_pp_download(tpdus)
                except LinkError as exc:
                    answer(self, 503, str(exc).encode(), "text/plain")
                    return
                answer(self, 200, json.dumps({"data": data.hex(), "sw": f"{sw:04X}"}).encode())

            def log_message(self, fmt: str, *args) -> None:
                log.debug("MT %s " + fmt, self.address_string(), *args)

        super().__init__(Handler, host, port)

    @contextmanager
    def device(self) -> Iterator[Terminal]:
        """The terminal, used by one party at a time (MT deliveries, the device's events and timers)."""
        with self.lock:
            yield self.terminal
