"""SMS-PP transport of secured packets: ENVELOPE (SMS-PP DATA DOWNLOAD, ETSI TS 102 223 §7.1.1)
-> SMS-DELIVER (3GPP TS 23.040 §9.2.2.1, TP-PID '7F', concatenated parts reassembled in volatile
state) -> Command Packet (TS 31.115 §4, UDH IEI '70') -> :class:`RemoteManagement` -> PoR in the
ENVELOPE response, or by SMS-SUBMIT with SEND SHORT MESSAGE when SPI byte 2 b6 asks (TS 31.115
§4.2, §6.2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError
from euicc.cat.proactive import DEV_NETWORK, SEND_SHORT_MESSAGE, ProactiveCommand, ResultCallback
from euicc.ota.envelope import TAG_SMS_PP_DOWNLOAD, parse_sms_pp_download
from euicc.ota.errors import OtaFormatError
from euicc.context import Origin
from euicc.ota.origin import TransportContext
from euicc.ota.secured_packet import RemoteManagement
from euicc.ota.sms import (IEI_COMMAND_PACKET, IEI_RESPONSE_PACKET, PID_SIM_DATA_DOWNLOAD, Address, InformationElement,
                           Reassembler, SmsDeliver, build_sms_submit, segment_user_data)
from euicc.tlv import tlv
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.context import Context

TAG_SMS_TPDU = 0x8B         # TS 102 223 §8.13, comprehension required


class SmsPpDataDownload:
    """The 'D1' ENVELOPE handler (TS 102 223 §7.1.1) in front of a :class:`RemoteManagement`."""

    def __init__(self, remote: RemoteManagement) -> None:
        self.remote = remote

    def __call__(self, ctx: Context, tag: int, value: bytes) -> bytes:
        download = parse_sms_pp_download(tlv(TAG_SMS_PP_DOWNLOAD, value))
        sms = SmsDeliver.parse(download.tpdu)
        if sms.pid != PID_SIM_DATA_DOWNLOAD:
            raise OtaFormatError("not a (U)SIM data download short message")
        message = _reassembly(ctx).reassembler.add(sms)
        if message is None:
            return b""
        if message.element(IEI_COMMAND_PACKET) is None:
            raise OtaFormatError("no Command Packet IE '70'")
        por = self.remote.secured_packet(ctx, message.payload, TransportContext(Origin.OTA_SMS, sms.originator))
        if not por.separate:
            return por.data
        self._por_by_sms(ctx, sms, por.data)
        return b""

    @staticmethod
    def _por_by_sms(ctx: Context, sms: SmsDeliver, por: bytes) -> None:
        """TS 31.115 §4.2 / §6.2: the Response Packet (UDH '71') in SMS-SUBMITs to the sender."""
        header = (InformationElement(IEI_RESPONSE_PACKET),)
        for command in send_short_messages(sms.originator, header, por[3:], sms.scts[-1]):
            if not ctx.cat.submit(command):
                raise SwError(SW.CONDITIONS_NOT_SATISFIED)


@dataclass
class SmsReassembly(VolatileState):
    """The power cycle's reassembly of concatenated SMS (TS 23.040 §9.2.3.24.1; a reset forgets
    partial messages)."""

    LIFETIME = Lifetime.POWER_CYCLE

    reassembler: Reassembler = field(default_factory=Reassembler)


def _reassembly(ctx: Context) -> SmsReassembly:
    return ctx.volatile.get(SmsReassembly) or ctx.volatile.put(SmsReassembly())


def send_short_messages(destination: Address, header: tuple[InformationElement, ...], payload: bytes,
                        reference: int, on_result: ResultCallback | None = None) -> list[ProactiveCommand]:
    """SEND SHORT MESSAGE commands (TS 102 223 §6.6.9: '8B' SMS TPDU, to the network) for one
    message, concatenated when longer than one SMS (TS 23.040 §9.2.3.24.1)."""
    commands = []
    for number, (ies, chunk) in enumerate(segment_user_data(header, payload, reference)):
        tpdu = build_sms_submit(destination, chunk, ies, message_reference=(reference + number) & 0xFF)
        commands.append(ProactiveCommand(SEND_SHORT_MESSAGE, 0x00, DEV_NETWORK, tlv(TAG_SMS_TPDU, tpdu), on_result))
    return commands
