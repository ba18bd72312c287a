"""TERMINAL PROFILE: what the terminal says it can do (ETSI TS 102 223 §5.2, TS 102 221 §11.2.1).

Byte n, bit b of the profile (both counted from 1, bit 1 the least significant) is one facility;
a profile shorter than byte n means "not supported" (§5.2: the terminal sends the bytes up to its
last supported facility).  Only the facilities the card uses are named here:

- byte 1 b6 timer expiration (ENVELOPE 'D7', §7.4); byte 3 b8 REFRESH; byte 4 b2 SEND SHORT MESSAGE;
  byte 4 b7 PROVIDE LOCAL INFORMATION (MCC, MNC, LAC, cell id and IMEI);
- byte 5 b1 SET UP EVENT LIST and the events: b5 location status; byte 6 b3 data available,
  b4 channel status (§7.5.10 / §7.5.11);
- byte 8 b1 TIMER MANAGEMENT (start, stop), b2 (get current value), b3 PROVIDE LOCAL INFORMATION
  (date, time and time zone);
- byte 12 (class "e", BIP) b1 OPEN CHANNEL, b2 CLOSE CHANNEL, b3 RECEIVE DATA, b4 SEND DATA,
  b5 GET CHANNEL STATUS; byte 13 b6-b8 number of channels;
- byte 17 transport interfaces: b1 TCP UICC in client mode (remote), b2 UDP UICC in client mode
  (remote), b3 TCP UICC in server mode;
- byte 33 b1 DNS server address request for OPEN CHANNEL related to packet data service bearer
  (the OPEN CHANNEL qualifier b4, TS 102 223 §8.6; byte and bit as Wireshark's gsm_sim dissector
  and the TS 102 223 decoders read here name it).
"""
from __future__ import annotations

from dataclasses import dataclass

# TS 102 223 §9.4 type of command
REFRESH, SET_UP_EVENT_LIST, SEND_SHORT_MESSAGE = 0x01, 0x05, 0x13
PROVIDE_LOCAL_INFORMATION, TIMER_MANAGEMENT = 0x26, 0x27
OPEN_CHANNEL, CLOSE_CHANNEL, RECEIVE_DATA, SEND_DATA, GET_CHANNEL_STATUS = 0x40, 0x41, 0x42, 0x43, 0x44
# TS 102 223 §8.25 event list
EVENT_LOCATION_STATUS, EVENT_DATA_AVAILABLE, EVENT_CHANNEL_STATUS = 0x03, 0x09, 0x0A
# TS 102 223 §8.59 transport protocol types
UDP_CLIENT_REMOTE, TCP_CLIENT_REMOTE, TCP_SERVER = 0x01, 0x02, 0x03

# (byte, bit) of each facility, TS 102 223 §5.2
_COMMANDS = {
    REFRESH: (3, 8), SET_UP_EVENT_LIST: (5, 1), SEND_SHORT_MESSAGE: (4, 2),
    PROVIDE_LOCAL_INFORMATION: (4, 7), TIMER_MANAGEMENT: (8, 1),
    OPEN_CHANNEL: (12, 1), CLOSE_CHANNEL: (12, 2), RECEIVE_DATA: (12, 3), SEND_DATA: (12, 4),
    GET_CHANNEL_STATUS: (12, 5),
}
_EVENTS = {EVENT_LOCATION_STATUS: (5, 5), EVENT_DATA_AVAILABLE: (6, 3), EVENT_CHANNEL_STATUS: (6, 4)}
_TRANSPORTS = {TCP_CLIENT_REMOTE: (17, 1), UDP_CLIENT_REMOTE: (17, 2), TCP_SERVER: (17, 3)}
_TIMER_EXPIRATION = (1, 6)
_TIMER_CURRENT_VALUE = (8, 2)
_PLI_DATE_TIME = (8, 3)
_DNS_SERVER_REQUEST = (33, 1)
BIP_COMMANDS = (OPEN_CHANNEL, CLOSE_CHANNEL, RECEIVE_DATA, SEND_DATA, GET_CHANNEL_STATUS)


@dataclass(frozen=True)
class TerminalProfile:
    """The terminal's profile bytes, asked bit by bit (TS 102 223 §5.2)."""

    data: bytes = b""

    def bit(self, byte: int, bit: int) -> bool:
        return len(self.data) >= byte and bool(self.data[byte - 1] >> (bit - 1) & 1)

    def command(self, kind: int) -> bool:
        """The terminal declared proactive command `kind` (unknown commands: not declared)."""
        where = _COMMANDS.get(kind)
        return where is not None and self.bit(*where)

    def event(self, event: int) -> bool:
        """The terminal can report `event` once SET UP EVENT LIST asks for it."""
        where = _EVENTS.get(event)
        return where is not None and self.command(SET_UP_EVENT_LIST) and self.bit(*where)

    @property
    def timers(self) -> bool:
        """TIMER MANAGEMENT (start, stop) and the timer expiration envelope both declared."""
        return self.command(TIMER_MANAGEMENT) and self.bit(*_TIMER_EXPIRATION)

    @property
    def timer_current_value(self) -> bool:
        return self.bit(*_TIMER_CURRENT_VALUE)

    @property
    def local_date_time(self) -> bool:
        return self.bit(*_PLI_DATE_TIME)

    @property
    def bip(self) -> bool:
        """Every BIP command of class "e" the card uses (TS 102 223 §6.4.27-§6.4.31)."""
        return all(self.command(k) for k in BIP_COMMANDS)

    @property
    def channels(self) -> int:
        """Number of channels the terminal supports (byte 13 bits 6-8)."""
        return self.data[12] >> 5 if len(self.data) >= 13 else 0

    @property
    def dns_server_request(self) -> bool:
        """The terminal gives its DNS server addresses when OPEN CHANNEL asks for them."""
        return self.bit(*_DNS_SERVER_REQUEST)

    def transport(self, protocol: int) -> bool:
        where = _TRANSPORTS.get(protocol)
        return where is not None and self.bit(*where)
