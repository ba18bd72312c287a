"""HTTP(S) transport of the SGP.02 web-services binding on loopback: a function provider (a threading
HTTP server that answers each SOAP request on the same exchange, request-response style) and a
function requester (client); with :class:`tools.m2m_services.tls.TlsFiles` both sides run mutual TLS.

SOAP 1.2 HTTP binding (SOAP 1.2 Part 2 §7): POST, ``Content-Type: application/soap+xml;
charset=utf-8; action="<wsa:Action>"``; a response envelope with HTTP 200, a SOAP Fault with 400
(sender) or 500 (receiver).  A function's own failure is not a fault: it is a response whose
FunctionExecutionStatus says Failed (SGP.02 §5.1).  A request with a non-anonymous wsa:ReplyTo is
answered asynchronously (:mod:`tools.m2m_services.async_reply`).
"""
from __future__ import annotations

import logging
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tools.m2m_services import async_reply, binding
from tools.m2m_services.binding import BindingError, BindingSettings, Envelope, Field
from tools.m2m_services.status import (
    SUCCESS,
    FunctionExecutionStatus,
    FunctionFailed,
    request_header,
    response_header,
    timestamp,
)
from tools.m2m_services.tls import TlsFiles, peer_identity
from tools.m2m_services.validity import CURRENT, Deadline

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
DEFAULT_VALIDITY = 600
"""ValidityPeriod (s) a requester asks for when not told: a setting, not from the spec."""

Handler = Callable[[Envelope], list[Field]]


@dataclass(frozen=True)
class Function:
    """One function a provider serves: its interface (ES1 ... ES7), name and handler."""

    interface: str
    name: str
    handler: Handler
    one_way: bool = False


class Provider:
    """A function provider: dispatches requests by wsa:Action to the functions registered."""

    def __init__(self, address: str, settings: BindingSettings = binding.DEFAULT,
                 reply_context: ssl.SSLContext | None = None) -> None:
        """``reply_context``: the TLS client context for POSTing asynchronous responses to an
        ``https`` ReplyTo address."""
        self.address, self.s, self.reply_context = address, settings, reply_context
        self.functions: dict[str, Function] = {}

    def register(self, interface: str, name: str, handler: Handler, one_way: bool = False) -> None:
        """``one_way``: a notification-style function (SGP.02 §5.1): no response message, HTTP 202."""
        self.functions[self.s.action(interface, name)] = Function(interface, name, handler, one_way)

    def handle(self, data: bytes, peer: str | None = None, received: float | None = None) -> tuple[int, bytes]:
        """HTTP status and response envelope for one request; ``peer``: the requester's identity
        authenticated by TLS (its certificate's CN), which FunctionRequesterIdentifier must match;
        ``received``: when the request was read (monotonic clock), where its ValidityPeriod starts."""
        try:
            request = binding.parse(data, self.s)
        except BindingError as exc:
            return (400 if exc.code != "Receiver" else 500), binding.build_fault(exc.code, str(exc), exc.subcode,
                                                                                   s=self.s)
        function = self.functions.get(request.action)
        if function is None:
            return 400, binding.build_fault("Sender", f"action not supported: {request.action}",
                                            "ActionNotSupported", request.message_id, self.s)
        if function.one_way:
            try:
                function.handler(request)
            except FunctionFailed as failed:          # a notification has no one to report to: logged
                log.warning("%s %s: %s", function.interface, function.name, failed.status)
            return 202, b""
        if request.reply_to not in (None, binding.ANONYMOUS):     # asynchronous: acknowledged now
            async_reply.send_later(request.reply_to, lambda: (self._execute(function, request, peer, received),
                                                              self.s.action(function.interface, function.name, True)),
                                   self.reply_context)
            return async_reply.ACK_STATUS, b""
        return 200, self._execute(function, request, peer, received)

    def _execute(self, function: Function, request: Envelope, peer: str | None, received: float | None) -> bytes:
        """Run a request-response function within its ValidityPeriod; its response envelope."""
        started = timestamp()
        validity = _validity(request)
        deadline = Deadline(validity) if received is None else Deadline(validity, received)
        token = CURRENT.set(deadline)
        try:
            requester = request.get("FunctionRequesterIdentifier")
            if peer is not None and requester != peer:
                raise FunctionFailed("1.1", "1.1", f"requester {requester!r} is not the authenticated {peer!r}")
            deadline.check(function.name)
            fields, status = function.handler(request), SUCCESS
        except FunctionFailed as failed:
            fields, status = [], failed.status
        except Exception:  # a provider bug must still answer the requester (logged with its traceback)
            log.exception("%s %s failed", function.interface, function.name)
            failed = FunctionFailed("1.2", "4.2", "internal error of the function provider")
            fields, status = [], failed.status
        finally:
            CURRENT.reset(token)
        response = Envelope(action=self.s.action(function.interface, function.name, response=True),
                            body_name=function.name + self.s.response_suffix,
                            fields=response_header(started, status, validity) + fields,
                            to=request.reply_to or binding.ANONYMOUS, sender=self.address,
                            relates_to=request.message_id)
        return binding.build(response, self.s)


def _validity(request: Envelope) -> int:
    text = request.get("ValidityPeriod")
    return int(text) if text and text.isdigit() else DEFAULT_VALIDITY


class _RequestHandler(BaseHTTPRequestHandler):
    provider: Provider

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):   # the TLS handshake in this thread, not the listener's
            self.request.do_handshake()
        super().setup()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= binding.MAX_MESSAGE:
            self.send_error(413 if length else 411)
            return
        data = self.rfile.read(length)
        received = time.monotonic()
        peer = peer_identity(self.connection.getpeercert()) if isinstance(self.connection, ssl.SSLSocket) else None
        status, body = self.provider.handle(data, peer, received)
        self.send_response(status)
        if body:
            self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s " + fmt, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # e.g. a refused TLS handshake
        log.warning("connection from %s failed", client_address, exc_info=True)


def serve(host: str, port: int, tls: TlsFiles | None = None) -> ThreadingHTTPServer:
    """An HTTP(S) server bound to ``host:port`` (port 0: any free one), not started; give it its
    provider with :func:`attach` (the provider's address needs the port).  With ``tls`` it speaks
    HTTPS and requires a client certificate from the same CA (mutual TLS)."""
    server = _Server((host, port), type("Handler", (_RequestHandler,), {}))
    if tls is not None:
        server.socket = tls.server_context().wrap_socket(server.socket, server_side=True,
                                                         do_handshake_on_connect=False)
    return server


def address(server: ThreadingHTTPServer, host: str) -> str:
    scheme = "https" if isinstance(server.socket, ssl.SSLSocket) else "http"
    return f"{scheme}://{host}:{server.server_address[1]}/"


def attach(server: ThreadingHTTPServer, provider: Provider) -> None:
    server.RequestHandlerClass.provider = provider  # type: ignore[attr-defined]


class RequesterError(Exception):
    """The provider could not be reached or did not answer with a valid response envelope."""


@dataclass
class Response:
    envelope: Envelope
    status: FunctionExecutionStatus

    def get(self, name: str) -> str | None:
        return self.envelope.get(name)

    def group(self, name: str) -> list[Field] | None:
        return self.envelope.group(name)


class Requester:
    """A function requester: calls the functions of one provider at ``url``."""

    def __init__(self, url: str, identifier: str, own_address: str | None = None,
                 settings: BindingSettings = binding.DEFAULT, timeout: float = 300.0,
                 tls: TlsFiles | None = None, replies: async_reply.ReplyListener | None = None) -> None:
        """``replies``: ask for asynchronous responses, delivered to this listener's address (wsa:ReplyTo)."""
        self.url, self.identifier, self.own_address, self.s, self.timeout = url, identifier, own_address, settings, timeout
        self.replies = replies
        self._context = tls.client_context() if tls is not None else None
        self._calls = 0

    def _post(self, interface: str, function: str, fields: list[Field], validity: int,
              one_way: bool) -> tuple[Envelope, int, bytes]:
        self._calls += 1
        action = self.s.action(interface, function)
        request = Envelope(action=action, body_name=function, to=self.url, sender=self.own_address,
                           reply_to=None if one_way else self.replies.address if self.replies else binding.ANONYMOUS,
                           fields=request_header(self.identifier, f"{self.identifier}-{self._calls}", validity) + fields)
        http = urllib.request.Request(self.url, data=binding.build(request, self.s), method="POST",
                                      headers={"Content-Type": f'{CONTENT_TYPE}; action="{action}"'})
        try:
            with urllib.request.urlopen(http, timeout=self.timeout, context=self._context) as answer:
                return request, answer.status, answer.read(binding.MAX_MESSAGE + 1)
        except urllib.error.HTTPError as exc:
            return request, exc.code, exc.read(binding.MAX_MESSAGE + 1)
        except OSError as exc:
            raise RequesterError(f"{interface}.{function}: {self.url} unreachable: {exc}") from exc

    def notify(self, interface: str, function: str, fields: list[Field], validity: int = DEFAULT_VALIDITY) -> None:
        """Send a notification-style message (no response message: HTTP 202 expected)."""
        _, status, data = self._post(interface, function, fields, validity, one_way=True)
        if status != 202:
            raise RequesterError(f"{interface}.{function}: HTTP {status} to a notification: {data[:200]!r}")

    def call(self, interface: str, function: str, fields: list[Field], validity: int = DEFAULT_VALIDITY) -> Response:
        """Send the request, return the response (whatever its FunctionExecutionStatus)."""
        request, http_status, data = self._post(interface, function, fields, validity, one_way=False)
        if self.replies is not None and http_status == async_reply.ACK_STATUS:
            reply = self.replies.wait(request.message_id, min(self.timeout, validity + 5.0))
            if reply is None:
                raise RequesterError(f"{interface}.{function}: no response at {self.replies.address} within "
                                     f"the validity period")
            return self._response(interface, function, request, reply)
        try:
            envelope = binding.parse(data, self.s)
        except BindingError as exc:
            raise RequesterError(f"{interface}.{function}: {exc}") from exc
        return self._response(interface, function, request, envelope)

    def _response(self, interface: str, function: str, request: Envelope, envelope: Envelope) -> Response:
        if envelope.relates_to != request.message_id:
            raise RequesterError(f"{interface}.{function}: response relates to {envelope.relates_to}, "
                                 f"not to {request.message_id}")
        try:
            status = FunctionExecutionStatus.from_fields(envelope.group("FunctionExecutionStatus"))
        except ValueError as exc:
            raise RequesterError(f"{interface}.{function}: {exc}") from exc
        return Response(envelope, status)
