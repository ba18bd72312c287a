"""The ISD-R's CAT_TP link, opened at the SM-SR's request (ETSI TS 102 226 §9 PUSH; TS 102 127
over a TS 102 223 BIP UDP channel; SGP.02 v4.2: ES5 over CAT_TP with SCP80).

The SM-SR sends an SCP80 script to the ISD-R TAR holding the two PUSH commands (SPEC_NOTES §3.4,
after NJIWA's BipCatTP):

- ``80 EC 01 01`` "request for BIP channel opening": the data are OPEN CHANNEL
  COMPREHENSION-TLVs (TS 102 223 §6.6.27) of a UDP client channel toward the SM-SR, parsed by
  :func:`euicc.ota.scp81.trigger.open_channel_request` (the reader of GP Amd B §3.8.1's
  connection parameters, which carry the same objects);
- ``80 EC 01 02`` "request for CAT_TP link establishment": '3C' transport level whose two last
  bytes are the SM-SR's CAT_TP port, optional '36' identification data for the card's SYN
  (absent: ``cat_tp.identification``).

Both answer '9000' without data [U: the PUSH response data were not in any source read]; a link
request without a channel request is '6985', another P1/P2 '6A86', bad objects '6A80'.  After the
command that carried the script, the toolkit hook :meth:`CatTpAgent.open_due` issues OPEN CHANNEL
(TS 102 223 §6.4.27) with a :class:`~euicc.ota.transport_catp.CatTpAdministration` on an actively
opening endpoint (source port ``cat_tp_local_port``): each SDU is a Command Packet run by the same
remote management as an SMS one.  One link at a time; a reset forgets a request.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.cat.bip_port import ChannelRequest
from euicc.cat.catp.endpoint import CatTpEndpoint
from euicc.ota.card_access import CommandAccess
from euicc.ota.errors import OtaFormatError
from euicc.ota.scp81.trigger import open_channel_request
from euicc.ota.transport_catp import CatTpAdministration
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.context import Context
    from euicc.m2m.runtime import M2mRuntime
    from euicc.ota.secured_packet import RemoteManagement

log = logging.getLogger(__name__)

INS_PUSH = 0xEC                                   # TS 102 226 §9
P1_PUSH = 0x01
P2_BIP_CHANNEL, P2_CAT_TP_LINK = 0x01, 0x02
CT_TRANSPORT, CT_CHANNEL_DATA = 0x3C, 0x36        # TS 102 223 §9.3 (CR bit masked off)


@dataclass
class LinkRequest:
    """What the PUSH commands of this power cycle asked for."""

    channel: ChannelRequest | None = None
    remote_port: int | None = None
    identification: bytes | None = None


@dataclass
class CatTpAgentState(VolatileState):
    LIFETIME = Lifetime.POWER_CYCLE

    request: LinkRequest | None = None
    link: CatTpAdministration | None = None


class CatTpAgent:
    """The PUSH commands of the ISD-R and the link they open."""

    def __init__(self, runtime: M2mRuntime, remote: RemoteManagement) -> None:
        self.runtime, self.remote = runtime, remote

    @staticmethod
    def state(ctx: Context) -> CatTpAgentState:
        return ctx.volatile.get(CatTpAgentState) or ctx.volatile.put(CatTpAgentState())

    def push(self, ctx: Context, cmd: Command) -> bytes:
        """PUSH (TS 102 226 §9), from the ISD-R's secured OTA channel (checked by ES5)."""
        if cmd.p1 != P1_PUSH or cmd.p2 not in (P2_BIP_CHANNEL, P2_CAT_TP_LINK):
            raise SwError(SW.INCORRECT_P1P2)
        state = self.state(ctx)
        try:
            if cmd.p2 == P2_BIP_CHANNEL:
                channel = open_channel_request(cmd.data, "udp", 0)
                if len(channel.address) not in (4, 16) or not channel.port:
                    raise OtaFormatError("no SM-SR address or port")
                state.request = LinkRequest(channel)
                return b""
            items = {tag & 0x7F: value for tag, value in tlv.parse(cmd.data)}
        except (OtaFormatError, tlv.TlvError):
            raise SwError(SW.INCORRECT_DATA) from None
        if state.request is None or state.request.channel is None:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        level = items.get(CT_TRANSPORT, b"")
        if len(level) != 3:
            raise SwError(SW.INCORRECT_DATA)
        state.request.remote_port = int.from_bytes(level[1:], "big")
        state.request.identification = items.get(CT_CHANNEL_DATA)
        return b""

    def open_due(self, ctx: Context) -> None:
        """After every CAT command: OPEN CHANNEL for a complete request, when the terminal has
        UDP channels (TS 102 223 §6.4.27) and no link is running."""
        state = ctx.volatile.get(CatTpAgentState)
        if state is None or state.request is None or state.request.remote_port is None:
            return
        if state.link is not None and not state.link.finished:
            return
        request, state.request = state.request, None
        bip = ctx.services.bip
        link = self._link(ctx, request)
        if not bip.available(ctx, "udp") or not bip.open(ctx, request.channel, link):
            log.info("CAT_TP link not opened: the terminal gives no UDP channel")
            return
        state.link = link

    # -- the link's timers with the terminal's (TS 102 223 §6.4.21; euicc.cat.toolkit.DeadlineKeeper) --
    def now_ms(self) -> int:
        return self.runtime.now_ms()

    def deadline(self, ctx: Context) -> int | None:
        """The endpoint's next timer (retransmission, keep-alive, end of CLOSE-WAIT, TS 102 127):
        the BIP pump after the expiration runs it, so a link ends without the terminal's polling."""
        state = ctx.volatile.get(CatTpAgentState)
        if state is None or state.link is None or state.link.finished:
            return None
        due = state.link.endpoint.next_deadline()
        return None if due is None else int(due * 1000)

    def expired(self, ctx: Context) -> None:
        """Nothing of its own: the BIP pump that follows every CAT command drives the endpoint."""

    def _link(self, ctx: Context, request: LinkRequest) -> CatTpAdministration:
        settings = self.runtime.settings
        catp = settings.cat_tp if request.identification is None else replace(
            settings.cat_tp, identification=request.identification)
        endpoint = CatTpEndpoint(self.runtime.clock, settings.cat_tp_local_port, request.remote_port, catp,
                                 initial_seq=int.from_bytes(self.runtime.random(2), "big"))
        # the packets run with the context of the command that opened the link (as the SCP81
        # agent's scripts), each in its own store transaction
        return CatTpAdministration(self.remote, CommandAccess(ctx), endpoint)
