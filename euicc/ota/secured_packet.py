"""Secured-packet processing, independent of the transport (ETSI TS 102 225 §5, TS 102 226 §5):
Command Packet -> SCP80 checks with the routed key sets and persisted counter -> remote APDU
script -> Response Packet (PoR).  A route may take push commands instead of a script: secured
data starting with a tag of ``Route.pushes`` (e.g. GP Amd B §3.8's '81' administration session
trigger to the ISD-R) goes to that handler when the packet carries a cryptographic checksum.

A transport (SMS-PP today, :mod:`euicc.ota.transport_sms`; CAT_TP and HTTPS next) hands the
packet bytes with a :class:`TransportContext`; it delivers the returned PoR as it may.  The
counter is persisted once the packet passed every check, whatever the commands then do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from euicc.crypto.scp80 import Checksum, PorStatus, Refused, Scp80, Scp80Settings, parse_command_packet
from euicc.ota.origin import OtaOrigin, TransportContext, set_origin
from euicc.ota.routing import NoKeys, Route, TarRouter
from euicc.ota.script import run_script

if TYPE_CHECKING:
    from euicc.context import Context

Hook = Callable[["Context"], None]


@dataclass(frozen=True)
class ResponsePacket:
    """The PoR of one Command Packet (with the transport's prefix; b'' when none is due) and
    whether SPI byte 2 b6 asks for it in a separate message (SMS-SUBMIT, TS 31.115 §4.2)."""

    data: bytes
    separate: bool = False


class RemoteManagement:
    """The card's remote management: a TAR router, the SCP80 settings, and the hooks an
    extension runs around each packet (``prepare`` before it is parsed, ``settle`` once it was
    answered, before its PoR leaves; not after a malformed script raised)."""

    def __init__(self, router: TarRouter, settings: Scp80Settings,
                 prepare: Hook | None = None, settle: Hook | None = None) -> None:
        self.router, self.settings = router, settings
        self.prepare, self.settle = prepare, settle

    def secured_packet(self, ctx: Context, packet_bytes: bytes, transport: TransportContext) -> ResponsePacket:
        """Check, run and answer one Command Packet (TS 102 225 §5.1, §5.2)."""
        if self.prepare is not None:
            self.prepare(ctx)
        response = self._process(ctx, packet_bytes, transport)
        if self.settle is not None:
            self.settle(ctx)
        return response

    def _process(self, ctx: Context, packet_bytes: bytes, transport: TransportContext) -> ResponsePacket:
        packet = parse_command_packet(packet_bytes, self.settings)
        if isinstance(packet, Refused):
            return self._refusal(packet, transport)
        route = self.router.route(ctx, packet.tar)
        if route is None:
            refused = Scp80(NoKeys(), self.settings).refuse(packet, PorStatus.TAR_UNKNOWN, "TAR unknown")
            return self._refusal(refused, transport)
        scp80 = Scp80(route.keys, self.settings, route.minimum)
        result = scp80.unwrap(packet, route.keys.counter(packet.key_set))
        if isinstance(result, Refused):
            return self._refusal(result, transport, scp80)
        route.keys.set_counter(packet.key_set, result.counter)
        # Only a cryptographic checksum proves the sender holds the key set (TS 102 225 §5.1.3);
        # a redundancy check (CRC) or ciphering alone grants no rights.
        kvn = packet.key_set if packet.spi.checksum == Checksum.CC else 0
        origin = OtaOrigin(packet.tar, route.owner, kvn, route.target, transport)
        push = route.pushes.get(result.secured_data[0]) if result.secured_data else None
        if push is not None and kvn:
            data = push(ctx, result.secured_data, origin)
        else:
            data = self.run_script(ctx, route, origin, result.secured_data)
        por = scp80.response_packet(result.por, PorStatus.POR_OK, data, transport.response_prefix)
        return ResponsePacket(por or b"", result.por.spi.por_via_submit and por is not None)

    @staticmethod
    def run_script(ctx: Context, route: Route, origin: OtaOrigin, data: bytes) -> bytes:
        """Run the remote APDUs ``data`` on ``route`` as coming from ``origin`` (TS 102 226 §5);
        the secured-packet path and SCP81's administration sessions (GP Amd B) share it."""
        set_origin(ctx, origin)
        try:
            return run_script(ctx, route.executor, data, route.items)
        finally:
            set_origin(ctx, None)

    def _refusal(self, refused: Refused, transport: TransportContext, scp80: Scp80 | None = None) -> ResponsePacket:
        if refused.por is None:
            return ResponsePacket(b"")
        scp80 = scp80 or Scp80(NoKeys(), self.settings)
        por = scp80.response_packet(refused.por, refused.status, prefix=transport.response_prefix)
        return ResponsePacket(por or b"")
