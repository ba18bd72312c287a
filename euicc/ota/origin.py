"""Where remote APDUs come from: the transport context a Command Packet arrived in and the origin
of the script being executed (ETSI TS 102 225 §5.1, TS 102 226 §5).

Two levels, one origin: every command carries the kernel's :class:`euicc.context.Origin`
(``ctx.origin``: the terminal, or an OTA script over SMS-PP or HTTPS, which the transport names in
its :class:`TransportContext`); while a script runs, the packet it came in (:class:`OtaOrigin`:
TAR, key set, target) is a typed volatile record of the power cycle (euicc.volatile), so that an
applet (e.g. SGP.02's ISD-R) can check which key set secured it; a reset forgets it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from euicc.context import Origin
from euicc.crypto.scp80 import RESPONSE_UDH
from euicc.ota.sms import Address
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.context import Context


@dataclass(frozen=True)
class TransportContext:
    """What the secured-packet layer needs to know of the transport that delivered a packet.

    ``origin`` names the transport (:attr:`Origin.OTA_SMS`, :attr:`Origin.OTA_CAT_TP`; HTTPS next); ``originator`` is the
    sender's address when the transport has one (SMS: TP-OA, TS 23.040 §9.2.3.7);
    ``response_prefix`` is what precedes the Response Packet and is covered by its checksum
    (SMS: the UDH '02 71 00', TS 31.115 §6.2).
    """

    origin: Origin
    originator: Address | None = None
    response_prefix: bytes = RESPONSE_UDH


@dataclass(frozen=True)
class OtaOrigin(VolatileState):
    """The packet whose remote APDUs are being executed (TS 102 226 §5, TS 102 225 §5.1).

    ``owner`` is the key-set owner that secured the packet (e.g. 'isdr' or an AID in hex),
    ``kvn`` the key set (0: no cryptographic checksum, so no key proven, §5.1.3), ``target`` the
    AID the TAR selected (b'' for the file system).
    """

    LIFETIME = Lifetime.POWER_CYCLE

    tar: bytes
    owner: str
    kvn: int
    target: bytes
    transport: TransportContext

    @property
    def originator(self) -> Address | None:
        return self.transport.originator


def current_origin(ctx: Context) -> OtaOrigin | None:
    """The packet of the remote APDU being processed, None for a command of the terminal."""
    return ctx.volatile.get(OtaOrigin)


def script_origin(ctx: Context) -> Origin:
    """The kernel's origin of the commands of the script being run: its transport's."""
    origin = current_origin(ctx)
    return origin.transport.origin if origin is not None else ctx.origin


def set_origin(ctx: Context, origin: OtaOrigin | None) -> None:
    """Enter (`origin`) or leave (None) the script of a secured packet."""
    if origin is None:
        ctx.volatile.pop(OtaOrigin)
    else:
        ctx.volatile.put(origin)
