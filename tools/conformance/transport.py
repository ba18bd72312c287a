"""How the runner reaches a card: :class:`Transport` (one command APDU in, response data + SW
out; a reset), :class:`PcscTransport` in production (pyscard, T=0 or T=1 as the card offers).

The runner never talks to the card another way; the mutation check wraps a transport
(:mod:`tools.conformance.mutation`).
"""
from __future__ import annotations

from typing import Protocol


class TransportError(Exception):
    """The reader or the card went away (not an answer of the card)."""


class Transport(Protocol):
    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; the response data followed by SW1 SW2."""

    def reset(self) -> bytes:
        """Cold-reset the card (power off/on, ISO/IEC 7816-3 §6.2.2); its ATR."""

    def close(self) -> None:
        """Release the reader."""


class PcscTransport:
    """A PC/SC reader through pyscard, connected with T=0 or T=1 (whichever the card's ATR offers;
    an LPA or a modem does the same)."""

    def __init__(self, reader: str) -> None:
        from smartcard.CardConnection import CardConnection
        from smartcard.Exceptions import CardConnectionException, NoCardException
        from smartcard.System import readers

        names = {str(r): r for r in readers()}
        if reader not in names:
            raise TransportError(f"no PC/SC reader {reader!r} (readers: {', '.join(names) or 'none'})")
        self._errors = (CardConnectionException, NoCardException)
        self._protocol = CardConnection.T0_protocol | CardConnection.T1_protocol
        self.connection = names[reader].createConnection()
        try:
            self.connection.connect(self._protocol)
        except self._errors as exc:
            raise TransportError(f"{reader}: {exc}") from None

    @property
    def atr(self) -> bytes:
        return bytes(self.connection.getATR())

    def transmit(self, apdu: bytes) -> bytes:
        try:
            data, sw1, sw2 = self.connection.transmit(list(apdu))
        except self._errors as exc:
            raise TransportError(str(exc)) from None
        return bytes(data) + bytes([sw1, sw2])

    def reset(self) -> bytes:
        from smartcard.scard import SCARD_UNPOWER_CARD

        try:
            self.connection.reconnect(protocol=self._protocol, disposition=SCARD_UNPOWER_CARD)
        except self._errors as exc:
            raise TransportError(f"reset: {exc}") from None
        return self.atr

    def close(self) -> None:
        try:
            self.connection.disconnect()
        except self._errors:
            pass
