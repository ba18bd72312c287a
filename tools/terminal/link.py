"""The modem's APDU link to a UICC: in-process (a transmit callable) or PC/SC (pyscard).

T=0 response handling as ETSI TS 102 221 §7.3.1.1.4 / ISO 7816-3 §10.3 say: '61xx' -> GET RESPONSE
(same CLA channel bits, Le = xx) until done; '6Cxx' -> the same command again with Le = xx.
"""
from __future__ import annotations

from collections.abc import Callable

from tools.pcsc_reader import pick_reader


class LinkError(Exception):
    """The card cannot be reached (no reader, card removed, bad reader name)."""


class CardLink:
    """Base: ``exchange`` returns (data, SW) with 61xx/6Cxx resolved."""

    def transmit(self, apdu: bytes) -> bytes:
        raise NotImplementedError

    def reset(self) -> bytes:
        """Reset the card (UICC reset, TS 102 221 §6.2) and return the ATR."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the card (a PC/SC connection); nothing to do for an in-process card."""

    def alive(self) -> bool:
        """Is the card session still the one this link started (no reset by another party)?"""
        return True

    def exchange(self, apdu: bytes) -> tuple[bytes, int]:
        rsp = self.transmit(apdu)
        data, sw = rsp[:-2], int.from_bytes(rsp[-2:], "big")
        if sw >> 8 == 0x6C and len(apdu) >= 5:
            rsp = self.transmit(apdu[:4] + bytes([sw & 0xFF]) if len(apdu) == 5 else apdu[:-1] + bytes([sw & 0xFF]))
            data, sw = rsp[:-2], int.from_bytes(rsp[-2:], "big")
        while sw >> 8 == 0x61:
            cla = apdu[0] & 0x03 if not apdu[0] & 0x40 else apdu[0] & 0x4F
            more = self.transmit(bytes([cla, 0xC0, 0x00, 0x00, sw & 0xFF]))
            data, sw = data + more[:-2], int.from_bytes(more[-2:], "big")
        return data, sw


class CallableLink(CardLink):
    """An in-process card: ``transmit`` and ``reset`` callables (e.g. ``Card.transmit``, ``Card.reset``)."""

    def __init__(self, transmit: Callable[[bytes], bytes], reset: Callable[[], bytes] | None = None) -> None:
        self._transmit, self._reset = transmit, reset

    def transmit(self, apdu: bytes) -> bytes:
        rsp = bytes(self._transmit(bytes(apdu)))
        if len(rsp) < 2:
            raise LinkError("card answered without a status word")
        return rsp

    def reset(self) -> bytes:
        return bytes(self._reset()) if self._reset is not None else b""


class PcscLink(CardLink):
    """A card in a PC/SC reader, chosen by exact name, name substring or index (pyscard)."""

    def __init__(self, reader: str | int = 0) -> None:
        try:
            from smartcard.Exceptions import CardConnectionException, NoCardException, SmartcardException
            from smartcard.pcsc.PCSCExceptions import BaseSCardException
        except ImportError as exc:
            raise LinkError(f"pyscard is not installed: {exc}") from exc
        try:
            chosen = pick_reader(reader)
        except LookupError as exc:
            raise LinkError(str(exc)) from None
        except (SmartcardException, BaseSCardException) as exc:  # e.g. pcscd not running
            raise LinkError(f"PC/SC unavailable: {exc}") from None
        self.reader = str(chosen)
        self._errors = (CardConnectionException, NoCardException)
        self.connection = chosen.createConnection()
        try:
            self.connection.connect()
        except self._errors as exc:
            raise LinkError(f"no card in {self.reader}: {exc}") from exc

    def transmit(self, apdu: bytes) -> bytes:
        try:
            data, sw1, sw2 = self.connection.transmit(list(apdu))
        except self._errors as exc:
            raise LinkError(f"card in {self.reader} stopped answering: {exc}") from exc
        return bytes(data) + bytes([sw1, sw2])

    def reset(self) -> bytes:
        from smartcard.scard import SCARD_RESET_CARD

        try:
            self.connection.reconnect(disposition=SCARD_RESET_CARD)
        except (AttributeError, TypeError):  # older pyscard without reconnect(): disconnect and connect
            self.connection.disconnect()
            self.connection.connect()
        except self._errors as exc:
            raise LinkError(f"reset of the card in {self.reader} failed: {exc}") from exc
        return bytes(self.connection.getATR())

    def alive(self) -> bool:
        """False when the card was reset or removed behind this connection, e.g. by another process
        (SCardStatus answers SCARD_W_RESET_CARD / SCARD_W_REMOVED_CARD, PC/SC Part 5 §3.1.x)."""
        from smartcard.scard import SCARD_S_SUCCESS, SCardStatus

        hcard = getattr(getattr(self.connection, "component", self.connection), "hcard", None)
        return hcard is not None and SCardStatus(hcard)[0] == SCARD_S_SUCCESS

    def close(self) -> None:
        try:
            self.connection.disconnect()
        except self._errors:
            pass
