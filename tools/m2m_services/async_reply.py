"""Asynchronous responses (SGP.02 v4.2 §5.1 function requester / provider over the web-services
binding; WS-Addressing 1.0 Core §3.4 and SOAP Binding §5.2.1): a request whose wsa:ReplyTo is not
the anonymous address is acknowledged on its own HTTP exchange at once, and the response message
is sent later in a new HTTP request to the ReplyTo address, with wsa:RelatesTo = the request's
MessageID.

- The acknowledgement is HTTP :data:`ACK_STATUS` with an empty body (SOAP 1.2 Part 2 §7.5.2.2
  one-way / WS-Addressing SOAP Binding: "202 Accepted" when the reply goes elsewhere).  The
  readable SGP.02 text does not give the code: a setting.
- The provider side is :func:`send_later` (used by :class:`tools.m2m_services.transport.Provider`);
  the requester side is :class:`ReplyListener`, an HTTP endpoint that takes the responses (answering
  each with :data:`ACK_STATUS` too) and hands each to the call waiting for its RelatesTo.
"""
from __future__ import annotations

import logging
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

from tools.m2m_services import binding
from tools.m2m_services.binding import BindingError, BindingSettings, Envelope

log = logging.getLogger(__name__)
ACK_STATUS = 202
"""HTTP status of the acknowledgement of a request answered asynchronously (and of a delivered
response): a setting, see the module docstring."""
CONTENT_TYPE = "application/soap+xml; charset=utf-8"


def post(url: str, data: bytes, action: str, context: ssl.SSLContext | None, timeout: float) -> int:
    """POST one SOAP message; the HTTP status (OSError when the endpoint cannot be reached)."""
    http = urllib.request.Request(url, data=data, method="POST",
                                  headers={"Content-Type": f'{CONTENT_TYPE}; action="{action}"'})
    try:
        with urllib.request.urlopen(http, timeout=timeout, context=context) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def send_later(reply_to: str, respond: Callable[[], tuple[bytes, str]], context: ssl.SSLContext | None = None,
               timeout: float = 30.0) -> threading.Thread:
    """Run ``respond`` (the function; returns the response envelope and its action) in a thread
    and POST its result to ``reply_to``; a failed delivery is logged (nobody else to tell)."""
    def run() -> None:
        data, action = respond()
        try:
            status = post(reply_to, data, action, context, timeout)
            if status != ACK_STATUS:
                log.warning("response to %s answered HTTP %d", reply_to, status)
        except OSError as exc:
            log.warning("response not delivered to %s: %s", reply_to, exc)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class ReplyListener:
    """The requester's endpoint for asynchronous responses: attach it to a server from
    :func:`tools.m2m_services.transport.serve` (it has a provider's ``handle``)."""

    def __init__(self, address: str, settings: BindingSettings = binding.DEFAULT) -> None:
        self.address, self.s = address, settings
        self._replies: dict[str, Envelope] = {}
        self._arrived = threading.Condition()

    def handle(self, data: bytes, peer: str | None = None, received: float | None = None) -> tuple[int, bytes]:
        try:
            envelope = binding.parse(data, self.s)
        except BindingError as exc:
            return 400, binding.build_fault(exc.code, str(exc), exc.subcode, s=self.s)
        if envelope.relates_to is None:
            return 400, binding.build_fault("Sender", "a response needs wsa:RelatesTo", "MessageAddressingHeaderRequired",
                                            envelope.message_id, self.s)
        with self._arrived:
            self._replies[envelope.relates_to] = envelope
            self._arrived.notify_all()
        return ACK_STATUS, b""

    def wait(self, message_id: str, timeout: float) -> Envelope | None:
        """The response relating to ``message_id``, or None after ``timeout`` seconds."""
        with self._arrived:
            self._arrived.wait_for(lambda: message_id in self._replies, timeout)
            return self._replies.pop(message_id, None)
