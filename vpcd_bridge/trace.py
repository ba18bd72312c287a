"""APDU trace: command/response hex with decoded instruction and status-word names.

Instruction names come from ISO/IEC 7816-4 §5.4.2 (Table 4 "interindustry commands"),
ETSI TS 102 221 §10.1.2 (Table 10.5, UICC commands: CLA ``0X``/``8X``) and GlobalPlatform Card
Specification v2.3 §11 (GP commands, CLA ``8X``).  Status words follow ISO 7816-4 §5.6 and
TS 102 221 §10.2.1.  The trace is for people: unknown codes print as ``INS xx`` / ``SW xxxx``.
"""
from __future__ import annotations

import threading
import time
from typing import TextIO

from .sink import CardEvent

# ISO 7816-4 Table 4 and ISO 7816-9, TS 102 221 Table 10.5 (interindustry CLA 0X/4X-7X).
INTERINDUSTRY_INS: dict[int, str] = {
    0x04: "DEACTIVATE FILE", 0x0E: "ERASE BINARY", 0x20: "VERIFY", 0x21: "VERIFY",
    0x22: "MANAGE SECURITY ENVIRONMENT", 0x24: "CHANGE REFERENCE DATA",
    0x26: "DISABLE VERIFICATION REQUIREMENT", 0x28: "ENABLE VERIFICATION REQUIREMENT",
    0x2A: "PERFORM SECURITY OPERATION", 0x2C: "RESET RETRY COUNTER", 0x44: "ACTIVATE FILE",
    0x46: "GENERATE ASYMMETRIC KEY PAIR", 0x70: "MANAGE CHANNEL", 0x73: "MANAGE SECURE CHANNEL",
    0x75: "TRANSACT DATA", 0x82: "EXTERNAL AUTHENTICATE", 0x84: "GET CHALLENGE",
    0x86: "GENERAL AUTHENTICATE", 0x88: "AUTHENTICATE", 0x89: "AUTHENTICATE",
    0xA2: "SEARCH RECORD", 0xA4: "SELECT", 0xB0: "READ BINARY", 0xB1: "READ BINARY",
    0xB2: "READ RECORD", 0xB3: "READ RECORD", 0xC0: "GET RESPONSE", 0xC2: "ENVELOPE",
    0xCA: "GET DATA", 0xCB: "GET DATA", 0xD0: "WRITE BINARY", 0xD2: "WRITE RECORD",
    0xD6: "UPDATE BINARY", 0xD7: "UPDATE BINARY", 0xDA: "PUT DATA", 0xDB: "PUT DATA",
    0xDC: "UPDATE RECORD", 0xDD: "UPDATE RECORD", 0xE0: "CREATE FILE", 0xE2: "APPEND RECORD",
    0xE4: "DELETE FILE", 0xE6: "TERMINATE DF", 0xE8: "TERMINATE CARD USAGE",
}

# TS 102 221 Table 10.5 (CLA 8X/CX-EX) and GlobalPlatform Card Specification §11 (CLA 8X).
PROPRIETARY_INS: dict[int, str] = {
    0x10: "TERMINAL PROFILE", 0x12: "FETCH", 0x14: "TERMINAL RESPONSE", 0x32: "INCREASE",
    0x50: "INITIALIZE UPDATE", 0x76: "SUSPEND UICC", 0x78: "GET IDENTITY",
    0x7A: "EXCHANGE CAPABILITIES", 0x82: "EXTERNAL AUTHENTICATE", 0xAA: "TERMINAL CAPABILITY",
    0xC0: "GET RESPONSE", 0xC2: "ENVELOPE", 0xCA: "GET DATA", 0xCB: "RETRIEVE DATA",
    0xD8: "PUT KEY", 0xDB: "SET DATA", 0xE2: "STORE DATA", 0xE4: "DELETE", 0xE6: "INSTALL",
    0xE8: "LOAD", 0xF0: "SET STATUS", 0xF2: "STATUS",
}

# ISO 7816-4 §5.6 Tables 5-6 and TS 102 221 §10.2.1 (fixed status words).
STATUS_WORDS: dict[int, str] = {
    0x9000: "normal ending", 0x6200: "no information given, NV memory unchanged",
    0x6281: "part of returned data may be corrupted", 0x6282: "end of file reached",
    0x6283: "selected file invalidated", 0x6581: "memory problem", 0x6700: "wrong length",
    0x6881: "logical channel not supported", 0x6882: "secure messaging not supported",
    0x6884: "command chaining not supported", 0x6900: "command not allowed",
    0x6981: "incompatible with file structure", 0x6982: "security status not satisfied",
    0x6983: "authentication method blocked", 0x6984: "reference data invalidated",
    0x6985: "conditions of use not satisfied", 0x6986: "command not allowed (no EF selected)",
    0x6A80: "incorrect data", 0x6A81: "function not supported", 0x6A82: "file not found",
    0x6A83: "record not found", 0x6A84: "not enough memory", 0x6A86: "incorrect P1-P2",
    0x6A87: "Lc inconsistent with P1-P2", 0x6A88: "referenced data not found",
    0x6A89: "file already exists", 0x6B00: "wrong P1-P2", 0x6D00: "INS not supported",
    0x6E00: "CLA not supported", 0x6F00: "technical problem",
    0x9862: "authentication error, incorrect MAC", 0x9864: "authentication error, security context not supported",
}

# SW1 values whose SW2 is a count (ISO 7816-4 §5.6, TS 102 221 §10.2.1.1).
_SW1_COUNTS: dict[int, str] = {
    0x61: "{} bytes available (GET RESPONSE)",
    0x6C: "wrong Le, exact length {}",
    0x91: "normal ending, proactive command of {} bytes pending",
    0x92: "normal ending after {} internal retries",
    0x9F: "{} bytes available (GET RESPONSE)",
}


def ins_name(cla: int, ins: int, p1: int = 0) -> str:
    """Name of the command coded by CLA/INS (and P1 where the INS is shared).

    ``80 F2`` is TS 102 221 STATUS (P1 ``00``-``02``) or GP GET STATUS (P1 ``80/40/20/10``).
    """
    proprietary = bool(cla & 0x80) and cla != 0xFF
    table = PROPRIETARY_INS if proprietary else INTERINDUSTRY_INS
    name = table.get(ins)
    if name is None:
        return f"INS {ins:02X}"
    if proprietary and ins == 0xF2 and p1 in (0x80, 0x40, 0x20, 0x10):
        return "GET STATUS"
    return name


def sw_name(sw: int) -> str:
    """Meaning of status word `sw` (ISO 7816-4 §5.6, TS 102 221 §10.2.1)."""
    if sw in STATUS_WORDS:
        return STATUS_WORDS[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 in _SW1_COUNTS:
        return _SW1_COUNTS[sw1].format(sw2 or 256)
    if sw & 0xFFF0 == 0x63C0:
        return f"verification failed, {sw & 0x0F} retries left"
    return f"SW {sw:04X}"


def describe_command(apdu: bytes) -> str:
    """One-line summary of a command APDU: its name, or why it is not one."""
    if len(apdu) < 4:
        return f"malformed ({len(apdu)} bytes)"
    cla, ins, p1 = apdu[0], apdu[1], apdu[2]
    return f"{ins_name(cla, ins, p1)} (CLA {cla:02X})"


def describe_response(rapdu: bytes) -> str:
    """One-line summary of a response APDU: its status word and meaning."""
    if len(rapdu) < 2:
        return f"malformed ({len(rapdu)} bytes)"
    sw = int.from_bytes(rapdu[-2:], "big")
    return f"{sw:04X} {sw_name(sw)}"


class ApduTrace:
    """The text trace sink (:class:`~vpcd_bridge.sink.TraceSink`): one line per command, response
    and power event to a text stream.

    Thread-safe (several slots may share one trace); each line is flushed at once so a trace
    file survives a crash.
    """

    def __init__(self, stream: TextIO, timestamps: bool = True) -> None:
        self._stream = stream
        self._timestamps = timestamps
        self._lock = threading.Lock()

    def command(self, slot: int, apdu: bytes) -> None:
        self._write(slot, ">>", apdu.hex().upper(), describe_command(apdu))

    def response(self, slot: int, apdu: bytes, rapdu: bytes) -> None:
        self._write(slot, "<<", rapdu.hex().upper(), describe_response(rapdu))

    def event(self, slot: int, event: CardEvent, atr: bytes) -> None:
        self._write(slot, "--", event.value, f"ATR {atr.hex().upper()}")

    def note(self, slot: int, text: str) -> None:
        """A line of the test instrument (an applied fault, a response mutation): ``!! text``."""
        self._write(slot, "!!", text, "instrument")

    def _write(self, slot: int, arrow: str, body: str, note: str) -> None:
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d} " if self._timestamps else ""
        line = f"{stamp}[{slot}] {arrow} {body}  ; {note}\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()
