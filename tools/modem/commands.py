"""The 3GPP TS 27.007 SIM commands of the virtual modem, and the quirks of real modems.

=============  ========  ===============================================================
command        27.007    what the MT does (:mod:`tools.modem.sim`)
=============  ========  ===============================================================
+CSIM          §8.17     the APDU as it is; the response as it is (a 61xx goes to the TE)
+CRSM          §8.18     selects the file, then the command; ``+CRSM: <sw1>,<sw2>[,<response>]``
+CCHO          §8.45     MANAGE CHANNEL + SELECT by DF name; answers ``<sessionid>``
+CCHC          §8.46     MANAGE CHANNEL close
+CGLA          §8.47     the APDU on the session's channel, as it is
+CIMI          §5.6      the IMSI of EF.IMSI
+CPIN          §8.3      ``+CPIN: READY|SIM PIN|SIM PUK``; ``+CPIN=<pin>[,<newpin>]``
+CFUN          §8.2      ``0``: the SIM is powered off; ``1``-``4``: on; ``<rst>`` 1 resets it
+CCID, +ICCID  (vendor)  not in 27.007: modules answer ``+CCID: <ICCID>`` / ``+ICCID: <ICCID>``
=============  ========  ===============================================================

Hex responses are in double quotes; ``<length>`` counts hexadecimal characters (§8.17: "two
times the actual length").  :class:`Quirks` changes that the way some modems do.  Errors: a
malformed or out-of-range parameter is ``+CME ERROR: 50`` (incorrect parameters), a session
that is not open too, no free channel ``20`` (memory full), an application not on the card
``22`` (not found), the SIM off ``10`` (SIM not inserted), a card that stopped answering ``13``.
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.modem.at import AtError, AtInterpreter, Command, Handler
from tools.modem.sim import (
    CME_INCORRECT_PARAMETERS, CME_SIM_FAILURE, SimAccess, SimError,
)
from tools.terminal.link import LinkError

SHORT_APDU_MAX = 261  # ISO/IEC 7816-4 §5.1: 4 header bytes, Lc, 255 data bytes, Le


@dataclass(frozen=True)
class Quirks:
    """Behaviours of real modems that differ from 27.007 or that 27.007 leaves open."""

    lower_hex: bool = False            # responses in lower-case hex
    logical_channels: bool = True      # False: +CCHO/+CCHC/+CGLA answer ERROR
    max_apdu: int = SHORT_APDU_MAX     # longest command APDU taken by +CSIM/+CGLA (bytes)
    length_in_bytes: bool = False      # +CSIM/+CGLA <length> in bytes instead of hex characters
    fetch_response: bool = False       # +CSIM/+CGLA do GET RESPONSE (61xx) and repeat (6Cxx) themselves
    ccho_prefix: bool = False          # +CCHO answers "+CCHO: <sessionid>" instead of "<sessionid>"


def _int(value: str | None, low: int, high: int, what: str) -> int:
    """A decimal numeric constant (V.250 §5.4.2.1) in low..high."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise SimError(CME_INCORRECT_PARAMETERS, f"{what} must be {low}..{high}, got {value!r}")
    return int(text)


def _opt_int(args: tuple[str | None, ...], index: int, low: int, high: int, what: str) -> int | None:
    return _int(args[index], low, high, what) if index < len(args) and args[index] is not None else None


def _hex(value: str | None, what: str) -> bytes:
    """A string of hexadecimal characters, two a byte (27.007 "hexadecimal character format")."""
    if value and len(value) % 2 == 0:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    raise SimError(CME_INCORRECT_PARAMETERS, f"{what} is not hex: {value!r}")


class SimCommands:
    """The handlers of the table above, on one :class:`SimAccess`."""

    def __init__(self, sim: SimAccess, quirks: Quirks = Quirks()) -> None:
        self.sim = sim
        self.quirks = quirks
        self.fun = 1 if sim.active else 0

    def handlers(self) -> dict[str, Handler]:
        table = {"+CSIM": self.csim, "+CRSM": self.crsm, "+CIMI": self.cimi, "+CPIN": self.cpin,
                 "+CFUN": self.cfun, "+CCID": self.ccid("+CCID"), "+ICCID": self.ccid("+ICCID")}
        if self.quirks.logical_channels:
            table.update({"+CCHO": self.ccho, "+CCHC": self.cchc, "+CGLA": self.cgla})
        return {name: self._guarded(handler) for name, handler in table.items()}

    @staticmethod
    def _guarded(handler: Handler) -> Handler:
        """A card that stops answering is a SIM failure (§9.2.1 code 13), not a crash."""
        def run(command: Command) -> list[str]:
            try:
                return handler(command)
            except LinkError as exc:
                raise SimError(CME_SIM_FAILURE, str(exc)) from exc
        return run

    # -- helpers ----------------------------------------------------------------------------------
    def _hexstr(self, data: bytes) -> str:
        text = data.hex()
        return text if self.quirks.lower_hex else text.upper()

    def _length(self, data: bytes) -> int:
        return len(data) if self.quirks.length_in_bytes else 2 * len(data)

    def _apdu(self, length_arg: str | None, command_arg: str | None) -> bytes:
        """<length>,<command> of +CSIM / +CGLA, checked against each other and the quirks."""
        apdu = _hex(command_arg, "<command>")
        length = _int(length_arg, 0, 2 * 65544, "<length>")
        if length != self._length(apdu):
            raise SimError(CME_INCORRECT_PARAMETERS, f"<length> {length} does not match the command")
        if not 4 <= len(apdu) <= self.quirks.max_apdu:
            raise SimError(CME_INCORRECT_PARAMETERS, f"an APDU of {len(apdu)} bytes (4..{self.quirks.max_apdu})")
        return apdu

    def _send(self, apdu: bytes) -> bytes:
        if self.quirks.fetch_response:
            data, sw = self.sim.exchange(apdu)
            return data + sw.to_bytes(2, "big")
        return self.sim.transmit(apdu)

    @staticmethod
    def _only_set(command: Command, count: tuple[int, int]) -> tuple[str | None, ...]:
        if command.form != "set" or not count[0] <= len(command.args) <= count[1]:
            raise AtError(f"{command.name}: wrong form or number of parameters")
        return command.args

    # -- commands -----------------------------------------------------------------------------
    def csim(self, command: Command) -> list[str]:
        """+CSIM=<length>,<command> (§8.17)."""
        if command.form == "test":
            return []
        length, text = self._only_set(command, (2, 2))
        response = self._send(self._apdu(length, text))
        return [f'+CSIM: {self._length(response)},"{self._hexstr(response)}"']

    def crsm(self, command: Command) -> list[str]:
        """+CRSM=<command>[,<fileid>[,<P1>,<P2>,<P3>[,<data>[,<pathid>]]]] (§8.18)."""
        if command.form == "test":
            return []
        args = self._only_set(command, (1, 7))
        sw, data = self.sim.restricted(
            _int(args[0], 0, 255, "<command>"), _opt_int(args, 1, 0, 0xFFFF, "<fileid>"),
            _opt_int(args, 2, 0, 255, "<P1>"), _opt_int(args, 3, 0, 255, "<P2>"), _opt_int(args, 4, 0, 255, "<P3>"),
            _hex(args[5], "<data>") if len(args) > 5 and args[5] else b"",        # omitted or ""
            _hex(args[6], "<pathid>") if len(args) > 6 and args[6] else None)
        line = f"+CRSM: {sw >> 8},{sw & 0xFF}"
        return [line + (f',"{self._hexstr(data)}"' if data else "")]

    def ccho(self, command: Command) -> list[str]:
        """+CCHO=<dfname> (§8.45): a DF name of 1 to 16 bytes."""
        if command.form == "test":
            return []
        (dfname,) = self._only_set(command, (1, 1))
        aid = _hex(dfname, "<dfname>")
        if not 1 <= len(aid) <= 16:
            raise SimError(CME_INCORRECT_PARAMETERS, "<dfname> has 1 to 16 bytes")
        session = self.sim.open_channel(aid)
        return [f"+CCHO: {session}" if self.quirks.ccho_prefix else str(session)]

    def cchc(self, command: Command) -> list[str]:
        """+CCHC=<sessionid> (§8.46): only the final result code.  Rel-18 Table 106 also lists a bare
        "+CCHC" response line; module manuals (e.g. Telit LE910) show OK alone, which is what we send."""
        if command.form == "test":
            return []
        (session,) = self._only_set(command, (1, 1))
        self.sim.close_channel(_int(session, 0, 255, "<sessionid>"))
        return []

    def cgla(self, command: Command) -> list[str]:
        """+CGLA=<sessionid>,<length>,<command> (§8.47)."""
        if command.form == "test":
            return []
        session, length, text = self._only_set(command, (3, 3))
        apdu = self.sim.channel_apdu(_int(session, 0, 255, "<sessionid>"), self._apdu(length, text))
        response = self._send(apdu)
        return [f'+CGLA: {self._length(response)},"{self._hexstr(response)}"']

    def cimi(self, command: Command) -> list[str]:
        """+CIMI (§5.6): the IMSI alone on its line."""
        if command.form == "test":
            return []
        if command.form != "action":
            raise AtError("+CIMI has no parameters")
        return [self.sim.imsi()]

    def ccid(self, name: str) -> Handler:
        """+CCID / +ICCID (vendor commands, not 27.007): ``<name>: <ICCID>``."""
        def handler(command: Command) -> list[str]:
            if command.form == "test":
                return []
            if command.form not in ("action", "read"):
                raise AtError(f"{name} has no parameters")
            return [f"{name}: {self.sim.iccid()}"]
        return handler

    def cpin(self, command: Command) -> list[str]:
        """+CPIN? / +CPIN=<pin>[,<newpin>] (§8.3) on PIN1."""
        if command.form == "read":
            return [f"+CPIN: {self.sim.pin_state()}"]
        if command.form == "test":
            return []
        pin, *new_pin = self._only_set(command, (1, 2))
        self.sim.enter_pin(pin or "", new_pin[0] if new_pin else None)
        return []

    def cfun(self, command: Command) -> list[str]:
        """+CFUN? / +CFUN=<fun>[,<rst>] (§8.2): 0 minimum functionality (SIM off), 1 full, 2-4 RF off."""
        if command.form == "read":
            return [f"+CFUN: {self.fun}"]
        if command.form == "test":
            return ["+CFUN: (0-4),(0-1)"]
        args = self._only_set(command, (1, 2))
        fun = _int(args[0], 0, 4, "<fun>")
        reset = _opt_int(args, 1, 0, 1, "<rst>") or 0
        if fun == 0:
            self.sim.power_off()
        elif reset or not self.sim.active:
            self.sim.power_on()
        self.fun = fun
        return []


def make_modem(sim: SimAccess, quirks: Quirks = Quirks()) -> AtInterpreter:
    """An AT interpreter with the SIM commands on `sim`, the card powered on (+CFUN: 1)."""
    if not sim.active:
        sim.power_on()
    commands = SimCommands(sim, quirks)
    return AtInterpreter(commands.handlers())
