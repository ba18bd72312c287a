"""The modem's part of the eUICC conversation (ETSI TS 102 221 §7.4 / §14, TS 102 223, TS 31.111).

:class:`Terminal` sends TERMINAL PROFILE after a reset, delivers SMS-PP data download ENVELOPEs and
returns the card's answer (the PoR, TS 31.111 §7.1.1.1), runs the proactive session whenever the card
answers '91xx' (FETCH, execute, TERMINAL RESPONSE), hands SEND SHORT MESSAGE TPDUs to the network
(an ``sms_sink`` callback, e.g. the SM-SR), raises location status events, and performs REFRESH.
REFRESH qualifiers that ask for a UICC reset (TS 102 223 §6.4.7: '04' UICC reset, '09' eUICC
profile state change [R]) are done by resetting the card and sending TERMINAL PROFILE again, without
a TERMINAL RESPONSE; other qualifiers are acknowledged.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.ota.transport import envelope_apdu as sms_pp_envelope
from tools.terminal import cat
from tools.terminal.link import CardLink

log = logging.getLogger(__name__)

SmsSink = Callable[[bytes, bytes], bool]
"""(SMS-SUBMIT TPDU, destination address TLV value) -> True when the network took the message."""
RESET_REFRESH_QUALIFIERS = (0x04, 0x09)
MAX_PROACTIVE = 64


@dataclass
class TerminalLog:
    """What the terminal saw: proactive commands, SMS sent, resets (for tests and the CLI)."""

    proactive: list[cat.ProactiveCommand] = field(default_factory=list)
    sms_sent: list[bytes] = field(default_factory=list)
    resets: int = 0


class Terminal:
    """A terminal (modem) driving one UICC over a :class:`CardLink`."""

    def __init__(self, link: CardLink, sms_sink: SmsSink | None = None,
                 profile: bytes = bytes.fromhex("FFFFFFFF7F0300DF7F03020000000000000000"),
                 smsc: str = "0123", location: bytes = bytes.fromhex("00F11000010001")) -> None:
        self.link, self.sms_sink, self.profile, self.smsc = link, sms_sink, profile, smsc
        self.location = location
        self.event_list: set[int] = set()
        self.record = TerminalLog()
        self.sms_accepted = True

    # -- session -------------------------------------------------------------------------------
    def start(self) -> bytes:
        """Reset the card and send TERMINAL PROFILE (TS 102 221 §14.7.1 terminal profile download)."""
        atr = self.link.reset()
        self.record.resets += 1
        self.event_list.clear()
        _, sw = self.link.exchange(cat.terminal_profile_apdu(self.profile))
        self.run_proactive(sw)
        return atr

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        """Any APDU; a pending proactive command ('91xx') is served before returning."""
        data, sw = self.link.exchange(apdu)
        return data, self.run_proactive(sw)

    def sms_pp_download(self, tpdus: list[bytes]) -> tuple[bytes, int]:
        """Deliver the parts of one SMS-DELIVER message (TS 31.111 §7.1.1); return the last answer."""
        data, sw = b"", 0x9000
        for tpdu in tpdus:
            data, sw = self.send(sms_pp_envelope(tpdu, self.smsc))
        return data, sw

    def location_status(self, status: int, force: bool = False) -> int:
        """EVENT DOWNLOAD location status (TS 102 223 §7.5.4); sent when the card asked for it
        with SET UP EVENT LIST, or always with ``force``."""
        if not force and cat.EVENT_LOCATION_STATUS not in self.event_list:
            return 0x9000
        return self.send(cat.location_status_event(status, self.location))[1]

    # -- proactive session -------------------------------------------------------------------------
    def run_proactive(self, sw: int) -> int:
        """While the card says '91xx': FETCH, execute, TERMINAL RESPONSE (TS 102 221 §14.7.2)."""
        for _ in range(MAX_PROACTIVE):
            if sw >> 8 != 0x91:
                return sw
            data, fsw = self.link.exchange(cat.fetch_apdu(sw & 0xFF))
            if fsw != 0x9000:
                return fsw
            try:
                command = cat.parse_proactive_command(data)
            except cat.CatFormatError:
                log.warning("unparsable proactive command %s", data.hex())
                return fsw
            self.record.proactive.append(command)
            sw = self._execute(command)
        raise RuntimeError("the card keeps issuing proactive commands")

    def _execute(self, command: cat.ProactiveCommand) -> int:
        if command.type == cat.REFRESH and command.qualifier in RESET_REFRESH_QUALIFIERS:
            self.start()
            return 0x9000
        if command.type == cat.SEND_SHORT_MESSAGE:
            result, extra = self._send_sms(command)
        elif command.type == cat.SET_UP_EVENT_LIST:
            self.event_list = set(command.objects.get(cat.T_EVENT_LIST, b""))
            result, extra = cat.RESULT_OK, b""
        elif command.type == cat.REFRESH:
            result, extra = cat.RESULT_OK, b""
        else:
            result, extra = cat.RESULT_BEYOND_CAPABILITIES, b""
        return self.link.exchange(cat.terminal_response_apdu(command, result, extra))[1]

    def _send_sms(self, command: cat.ProactiveCommand) -> tuple[int, bytes]:
        tpdu = command.objects.get(cat.T_SMS_TPDU)
        if not tpdu:
            return 0x32, b""  # command data not understood by terminal (TS 102 223 §8.12)
        self.record.sms_sent.append(tpdu)
        accepted = self.sms_accepted and (self.sms_sink is None or self.sms_sink(tpdu, command.objects.get(cat.T_ADDRESS, b"")))
        return (cat.RESULT_OK, b"") if accepted else (cat.RESULT_NETWORK_UNABLE, b"\x00")
