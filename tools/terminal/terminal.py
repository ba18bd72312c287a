"""The modem's part of the eUICC conversation (ETSI TS 102 221 §7.4 / §14, TS 102 223, TS 31.111).

:class:`Terminal` sends TERMINAL PROFILE after a reset, delivers SMS-PP data download ENVELOPEs and
returns the card's answer (the PoR, TS 31.111 §7.1.1.1), runs the proactive session whenever the card
answers '91xx' (FETCH, execute, TERMINAL RESPONSE), hands SEND SHORT MESSAGE TPDUs to the network
(an ``sms_sink`` callback, e.g. the SM-SR), performs REFRESH, keeps the card's timers (TIMER
MANAGEMENT, TS 102 223 §6.4.21; TIMER EXPIRATION when one runs out, §7.4), answers PROVIDE LOCAL
INFORMATION (§6.4.15), carries the card's BIP channels over real sockets (tools.terminal.bip) and
reports only the events the card registered with SET UP EVENT LIST (§6.4.16): location status,
data available, channel status.  Its TERMINAL PROFILE is configurable (``profile``).
REFRESH qualifiers that ask for a UICC reset (TS 102 223 §6.4.7: '04' UICC reset, '09' eUICC
profile state change [R]) are done by resetting the card and sending TERMINAL PROFILE again, without
a TERMINAL RESPONSE; other qualifiers are acknowledged.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.ota.transport import envelope_apdu as sms_pp_envelope
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.link import CardLink

log = logging.getLogger(__name__)

SmsSink = Callable[[bytes, bytes], bool]
"""(SMS-SUBMIT TPDU, destination address TLV value) -> True when the network took the message."""
RESET_REFRESH_QUALIFIERS = (0x04, 0x09)
MAX_PROACTIVE = 1024    # commands in one proactive session (a BIP transfer issues many)


@dataclass
class TerminalLog:
    """What the terminal saw: proactive commands, SMS sent, resets (for tests and the CLI)."""

    proactive: list[cat.ProactiveCommand] = field(default_factory=list)
    sms_sent: list[bytes] = field(default_factory=list)
    resets: int = 0
    events_sent: list[int] = field(default_factory=list)


class Terminal:
    """A terminal (modem) driving one UICC over a :class:`CardLink`."""

    def __init__(self, link: CardLink, sms_sink: SmsSink | None = None,
                 profile: bytes = cat.MODEM_PROFILE,
                 smsc: str = "0123", location: bytes = bytes.fromhex("00F11000010001"),
                 clock: Callable[[], float] = time.monotonic, bip: BipTerminal | None = None,
                 imei: bytes = bytes.fromhex("3310325476981000")) -> None:
        self.link, self.sms_sink, self.profile, self.smsc = link, sms_sink, profile, smsc
        self.location, self.clock, self.imei = location, clock, imei
        self.bip = bip or BipTerminal()
        self.event_list: set[int] = set()
        self.timers: dict[int, tuple[float, int]] = {}      # id -> (deadline, seconds armed)
        self.service = cat.NORMAL_SERVICE
        self.record = TerminalLog()
        self.sms_accepted = True

    # -- session -------------------------------------------------------------------------------
    def start(self) -> bytes:
        """Reset the card and send TERMINAL PROFILE (TS 102 221 §14.7.1 terminal profile download)."""
        atr = self.link.reset()
        self.record.resets += 1
        self.event_list.clear()
        self.timers.clear()
        self.bip.close_all()
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

    def location_status(self, status: int) -> int:
        """The network state changed: EVENT DOWNLOAD location status (TS 102 223 §7.5.4) when the
        card asked for it with SET UP EVENT LIST (nothing is sent otherwise)."""
        self.service = status
        return self._event(cat.EVENT_LOCATION_STATUS, cat.location_status_event(status, self.location))

    def _event(self, event: int, apdu: bytes) -> int:
        if event not in self.event_list:
            return 0x9000
        self.record.events_sent.append(event)
        return self.send(apdu)[1]

    def poll(self, timeout: float = 0.0) -> int:
        """What a modem does by itself: expire the card's timers (TIMER EXPIRATION, §7.4) and
        report what its channels received or lost (§7.5.10 / §7.5.11); how many envelopes it sent."""
        sent = 0
        for timer, (deadline, seconds) in sorted(self.timers.items()):
            if self.clock() >= deadline:
                del self.timers[timer]
                self.send(cat.timer_expiration(timer, cat.timer_value(seconds)))
                sent += 1
        for event, apdu in self.bip.poll(timeout):
            sent += 1
            self._event(event, apdu)
        return sent

    def serve(self, seconds: float, step: float = 0.05, until: Callable[[], bool] | None = None) -> None:
        """:meth:`poll` for `seconds` of wall time (or until `until()` is true)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            self.poll(step)

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
        handler = self._handlers().get(command.type)
        if handler is None or not cat.declares(self.profile, command.type):
            result, extra, objects = cat.RESULT_BEYOND_CAPABILITIES, b"", b""
        else:
            result, extra, objects = handler(command)
        return self.link.exchange(cat.terminal_response_apdu(command, result, extra, objects))[1]

    def _handlers(self) -> dict[int, Callable[[cat.ProactiveCommand], tuple[int, bytes, bytes]]]:
        bip = {cat.OPEN_CHANNEL: self._open_channel, cat.CLOSE_CHANNEL: self.bip.close_channel,
               cat.SEND_DATA: self.bip.send_data, cat.RECEIVE_DATA: self.bip.receive_data,
               cat.GET_CHANNEL_STATUS: self.bip.get_channel_status}
        handlers = {kind: _bip_answer(method) for kind, method in bip.items()}
        handlers.update({cat.SEND_SHORT_MESSAGE: self._send_sms, cat.SET_UP_EVENT_LIST: self._event_list,
                         cat.REFRESH: lambda c: (cat.RESULT_OK, b"", b""), cat.TIMER_MANAGEMENT: self._timer,
                         cat.PROVIDE_LOCAL_INFORMATION: self._local_information})
        return handlers

    def _open_channel(self, command: cat.ProactiveCommand) -> tuple[int, bytes]:
        """OPEN CHANNEL (§6.4.27): DNS server addresses only if the profile declares giving them."""
        return self.bip.open_channel(command, cat.has_bit(self.profile, *cat.DNS_SERVER_REQUEST))

    def _event_list(self, command: cat.ProactiveCommand) -> tuple[int, bytes, bytes]:
        """SET UP EVENT LIST (§6.4.16): the new list replaces the current one."""
        self.event_list = set(command.objects.get(cat.T_EVENT_LIST, b""))
        return cat.RESULT_OK, b"", b""

    def _timer(self, command: cat.ProactiveCommand) -> tuple[int, bytes, bytes]:
        """TIMER MANAGEMENT (§6.4.21): start, deactivate, get current value."""
        ident = command.objects.get(cat.T_TIMER_ID, b"")
        if len(ident) != 1 or not 1 <= ident[0] <= 8:
            return cat.RESULT_NOT_UNDERSTOOD, b"", b""
        timer, action = ident[0], command.qualifier & 0x03
        answer = cat.ctlv(cat.T_TIMER_ID, ident)
        if action == 0x00:
            try:
                seconds = cat.timer_seconds(command.objects.get(cat.T_TIMER_VALUE, b""))
            except cat.CatFormatError:
                return cat.RESULT_NOT_UNDERSTOOD, b"", b""
            self.timers[timer] = (self.clock() + seconds, seconds)
            return cat.RESULT_OK, b"", answer
        if timer not in self.timers:
            return 0x24, b"", b""             # §8.12: action in contradiction with the current timer state
        deadline, _ = self.timers[timer] if action == 0x02 else self.timers.pop(timer)
        return cat.RESULT_OK, b"", answer + cat.ctlv(cat.T_TIMER_VALUE, cat.timer_value(deadline - self.clock()))

    def _local_information(self, command: cat.ProactiveCommand) -> tuple[int, bytes, bytes]:
        """PROVIDE LOCAL INFORMATION (§6.4.15): location information, IMEI, date/time and zone."""
        if command.qualifier == 0x00:
            if self.service != cat.NORMAL_SERVICE:
                return cat.RESULT_TERMINAL_UNABLE, bytes([cat.NO_SERVICE_INFO]), b""
            return cat.RESULT_OK, b"", cat.ctlv(cat.T_LOCATION_INFORMATION, self.location)
        if command.qualifier == 0x01:
            return cat.RESULT_OK, b"", cat.ctlv(cat.T_IMEI, self.imei)
        if command.qualifier == 0x03:
            return cat.RESULT_OK, b"", cat.ctlv(cat.T_DATE_TIME, cat.date_time(time.gmtime()))
        return cat.RESULT_BEYOND_CAPABILITIES, b"", b""

    def _send_sms(self, command: cat.ProactiveCommand) -> tuple[int, bytes, bytes]:
        tpdu = command.objects.get(cat.T_SMS_TPDU)
        if not tpdu:
            return cat.RESULT_NOT_UNDERSTOOD, b"", b""
        self.record.sms_sent.append(tpdu)
        accepted = self.sms_accepted and (self.sms_sink is None or self.sms_sink(tpdu, command.objects.get(cat.T_ADDRESS, b"")))
        return (cat.RESULT_OK, b"", b"") if accepted else (cat.RESULT_NETWORK_UNABLE, b"\x00", b"")


def _bip_answer(method: Callable[[cat.ProactiveCommand], tuple[int, bytes]]):
    """A BIP handler's (result, objects): a BIP error's first object byte is its additional info."""
    def run(command: cat.ProactiveCommand) -> tuple[int, bytes, bytes]:
        result, objects = method(command)
        if result == cat.RESULT_BIP_ERROR:
            return result, objects, b""
        return result, b"", objects
    return run
