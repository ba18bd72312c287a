"""Where remote APDUs come from: the transport context a Command Packet arrived in and the origin
of the script being executed (ETSI TS 102 225 §5.1, TS 102 226 §5).

The origin lives in the card session's volatile state while its script runs, so that an applet
(e.g. SGP.02's ISD-R) can tell a command of a secured packet from one of the terminal; a reset
forgets it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from euicc.crypto.scp80 import RESPONSE_UDH
from euicc.ota.sms import Address

if TYPE_CHECKING:
    from euicc.session import CardSession, Context

ORIGIN_KEY = "ota.origin"
TRANSPORT_SMS_PP = "sms-pp"


@dataclass(frozen=True)
class TransportContext:
    """What the secured-packet layer needs to know of the transport that delivered a packet.

    ``name`` names the transport ('sms-pp' today; CAT_TP and HTTPS next); ``originator`` is the
    sender's address when the transport has one (SMS: TP-OA, TS 23.040 §9.2.3.7);
    ``response_prefix`` is what precedes the Response Packet and is covered by its checksum
    (SMS: the UDH '02 71 00', TS 31.115 §6.2).
    """

    name: str
    originator: Address | None = None
    response_prefix: bytes = RESPONSE_UDH


@dataclass(frozen=True)
class OtaOrigin:
    """The packet whose remote APDUs are being executed (TS 102 226 §5, TS 102 225 §5.1).

    ``owner`` is the key-set owner that secured the packet (e.g. 'isdr' or an AID in hex),
    ``kvn`` the key set (0: no cryptographic checksum, so no key proven, §5.1.3), ``target`` the
    AID the TAR selected (b'' for the file system).
    """

    tar: bytes
    owner: str
    kvn: int
    target: bytes
    transport: TransportContext

    @property
    def originator(self) -> Address | None:
        return self.transport.originator


def current_origin(ctx: Context) -> OtaOrigin | None:
    """The origin of the remote APDU being processed, None for a command of the terminal."""
    return ctx.session.volatile.get(ORIGIN_KEY)


def set_origin(session: CardSession, origin: OtaOrigin | None) -> None:
    if origin is None:
        session.volatile.pop(ORIGIN_KEY, None)
    else:
        session.volatile[ORIGIN_KEY] = origin
