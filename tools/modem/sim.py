"""The modem's (MT's) side of the UICC: what 3GPP TS 27.007 leaves to the MT, done over a
:class:`tools.terminal.link.CardLink` (an in-process card or a PC/SC reader).

* +CRSM (§8.18) -> SELECT of the file, then READ BINARY / READ RECORD / UPDATE BINARY / UPDATE
  RECORD / STATUS, or the file's FCP for GET RESPONSE (ETSI TS 102 221 §11.1).  With ``<pathid>``
  the file is selected by path from the MF (P1 ``08``, §8.18: "select by path from MF"); ``7FFF``
  at the head of a path stands for the current application (TS 102 221 §8.4.2), selected here by
  its AID and followed by a select by path from the current DF (P1 ``09``).  Without ``<pathid>``
  the MT chooses the parent itself (NOTE 1 of §8.18): files ``2Fxx`` and DFs ``7Fxx`` under the
  MF, every other file under ADF.USIM (or DF.GSM ``7F20`` for a card without a USIM).
* +CCHO / +CCHC / +CGLA (§8.45-8.47) -> MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2) and SELECT by DF
  name on the channel; the CLA of a +CGLA command gets the session's channel number (§8.45 NOTE).
* +CIMI (§5.6) -> EF.IMSI of ADF.USIM (TS 31.102 §4.2.2), +CCID -> EF.ICCID (TS 102 221 §13.2),
  +CPIN (§8.3) -> VERIFY / UNBLOCK PIN of PIN1, key reference ``01`` (TS 102 221 §11.1.9, §11.1.13,
  PIN coding §9.5.2).

The ADF.USIM AID comes from EF.DIR (TS 102 221 §13.1: the record whose AID starts with the 3GPP
RID and the USIM application code ``A0000000871002``, TS 31.102 Annex A).
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.terminal.link import CardLink

USIM_AID_PREFIX = bytes.fromhex("A0000000871002")
MF, CURRENT_ADF, DF_GSM = 0x3F00, 0x7FFF, 0x7F20
EF_DIR, EF_ICCID, EF_IMSI = 0x2F00, 0x2FE2, 0x6F07
SW_OK = 0x9000

# +CRSM <command> (27.007 §8.18) -> TS 102 221 instruction
READ_BINARY, READ_RECORD, GET_RESPONSE, UPDATE_BINARY, UPDATE_RECORD, STATUS = 176, 178, 192, 214, 220, 242
CRSM_INS = {READ_BINARY: 0xB0, READ_RECORD: 0xB2, UPDATE_BINARY: 0xD6, UPDATE_RECORD: 0xDC, STATUS: 0xF2}
# <command> values of §8.18 that this MT does not pass on (RETRIEVE DATA, SET DATA)
CRSM_UNSUPPORTED = (203, 219)


class SimError(Exception):
    """The MT could not do what the command asked; `cme` is the 27.007 §9.2 error code."""

    def __init__(self, cme: int, detail: str = "") -> None:
        super().__init__(detail or f"CME {cme}")
        self.cme = cme


# 27.007 §9.2.1 codes used by the modem
CME_OPERATION_NOT_ALLOWED = 3
CME_OPERATION_NOT_SUPPORTED = 4
CME_SIM_NOT_INSERTED = 10
CME_SIM_PIN_REQUIRED = 11
CME_SIM_PUK_REQUIRED = 12
CME_SIM_FAILURE = 13
CME_INCORRECT_PASSWORD = 16
CME_MEMORY_FULL = 20
CME_NOT_FOUND = 22
CME_INCORRECT_PARAMETERS = 50


def on_channel(cla: int, channel: int) -> int:
    """`cla` with its logical channel set to `channel`, keeping b8 (proprietary class) and the
    secure-messaging indication (ISO/IEC 7816-4 §5.4.1: channels 0-3 in b2-b1 with SM in b4-b3,
    channels 4-19 as b4-b1 + 4 with b7 set and SM in b6)."""
    if cla & 0x40:
        sm_first, sm_further = (0x08 if cla & 0x20 else 0), cla & 0x20
    else:
        sm_first, sm_further = cla & 0x0C, (0x20 if cla & 0x0C else 0)
    if channel <= 3:
        return (cla & 0x80) | sm_first | channel
    return (cla & 0x80) | 0x40 | sm_further | (channel - 4)


def decode_imsi(ef: bytes) -> str:
    """EF.IMSI (TS 31.102 §4.2.2): length byte, then digit 1 in the high nibble of byte 2 (its low
    nibble is the type and parity), then two digits a byte, low nibble first; 'F' pads."""
    if len(ef) < 2 or not 1 <= ef[0] <= len(ef) - 1:
        raise SimError(CME_SIM_FAILURE, f"bad EF.IMSI {ef.hex()}")
    body = ef[1:1 + ef[0]]
    digits = [body[0] >> 4] + [d for b in body[1:] for d in (b & 0x0F, b >> 4)]
    return "".join(str(d) for d in digits if d <= 9)


def decode_iccid(ef: bytes) -> str:
    """EF.ICCID (TS 102 221 §13.2): BCD, low nibble first, 'F' pads."""
    return "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in ef).rstrip("F")


def pin_block(pin: str) -> bytes:
    """A PIN as TS 102 221 §9.5.2 codes it: ASCII digits padded with 'FF' to 8 bytes."""
    if not (4 <= len(pin) <= 8 and pin.isdigit()):
        raise SimError(CME_INCORRECT_PARAMETERS, "a PIN has 4 to 8 digits")
    return pin.encode().ljust(8, b"\xFF")


@dataclass
class Channel:
    """An open +CCHO session: its logical channel and the application selected on it."""

    number: int
    aid: bytes


class SimAccess:
    """The MT's card session: power, file selection, logical channels (see the module docstring)."""

    def __init__(self, link: CardLink) -> None:
        self.link = link
        self.active = False
        self.atr = b""
        self.usim_aid: bytes | None = None
        self.channels: dict[int, Channel] = {}

    # -- power --------------------------------------------------------------------------------
    def power_on(self) -> None:
        """Reset the card (TS 102 221 §6.2), forget channels, find ADF.USIM in EF.DIR."""
        self.atr = self.link.reset()
        self.active = True
        self.channels.clear()
        self.usim_aid = self._find_usim()

    def power_off(self) -> None:
        self.active = False
        self.channels.clear()

    def _find_usim(self) -> bytes | None:
        if self._select_path([EF_DIR], fcp=False) != SW_OK:
            return None
        for record in range(1, 255):
            data, sw = self.exchange(bytes([0x00, 0xB2, record, 0x04, 0x00]))
            if sw != SW_OK:
                return None
            # application template 61 { 4F AID ... } (TS 102 221 §13.1)
            aid = data[4:4 + data[3]] if len(data) > 4 and data[0] == 0x61 and data[2] == 0x4F else b""
            if aid.startswith(USIM_AID_PREFIX):
                return bytes(aid)
        return None

    # -- raw access -----------------------------------------------------------------------------
    def transmit(self, apdu: bytes) -> bytes:
        """One APDU as it is (+CSIM, +CGLA): the card's response with its status word."""
        self._require_card()
        return self.link.transmit(apdu)

    def exchange(self, apdu: bytes) -> tuple[bytes, int]:
        """One APDU with the T=0 response procedure done by the MT (61xx / 6Cxx)."""
        self._require_card()
        return self.link.exchange(apdu)

    def _require_card(self) -> None:
        if not self.active:
            raise SimError(CME_SIM_NOT_INSERTED, "the SIM is powered off (+CFUN=0)")

    # -- +CRSM ---------------------------------------------------------------------------------
    def restricted(self, command: int, fileid: int | None, p1: int | None, p2: int | None, p3: int | None,
                   data: bytes = b"", pathid: bytes | None = None) -> tuple[int, bytes]:
        """+CRSM: select the file, run `command`; returns (SW, response data)."""
        if command in CRSM_UNSUPPORTED:
            raise SimError(CME_OPERATION_NOT_SUPPORTED, f"+CRSM command {command} not supported")
        if command not in CRSM_INS and command != GET_RESPONSE:
            raise SimError(CME_INCORRECT_PARAMETERS, f"+CRSM command {command} is reserved")
        if command == STATUS:  # needs no file: on the current DF
            p1, p2, p3 = p1 or 0, p2 or 0, p3 or 0
            return self._run(bytes([0x80, 0xF2, p1, p2, p3]))
        if fileid is None:
            raise SimError(CME_INCORRECT_PARAMETERS, "<fileid> is mandatory except for STATUS")
        path = self._path(fileid, pathid)
        if command == GET_RESPONSE:
            return self._select(path, fcp=True)
        if p1 is None or p2 is None or p3 is None:
            raise SimError(CME_INCORRECT_PARAMETERS, "<P1>,<P2>,<P3> are mandatory for this command")
        writes = command in (UPDATE_BINARY, UPDATE_RECORD)
        if writes and len(data) != p3:
            raise SimError(CME_INCORRECT_PARAMETERS, f"<P3> {p3} but {len(data)} bytes of <data>")
        sw, _ = self._select(path, fcp=False)
        if sw != SW_OK:
            return sw, b""
        return self._run(bytes([0x00, CRSM_INS[command], p1, p2, p3]) + (data if writes else b""))

    def _run(self, apdu: bytes) -> tuple[int, bytes]:
        data, sw = self.exchange(apdu)
        return sw, data

    def _path(self, fileid: int, pathid: bytes | None) -> list[int]:
        """The file's path from the MF, as 2-byte ids (MF itself excluded)."""
        if pathid is not None:
            if len(pathid) % 2:
                raise SimError(CME_INCORRECT_PARAMETERS, "<pathid> is a whole number of file ids")
            ids = [int.from_bytes(pathid[i:i + 2], "big") for i in range(0, len(pathid), 2)]
            return (ids[1:] if ids[:1] == [MF] else ids) + [fileid]
        if fileid == MF:
            return []
        if fileid >> 8 in (0x2F, 0x7F):
            return [fileid]
        return [CURRENT_ADF if self.usim_aid else DF_GSM, fileid]

    def _select(self, path: list[int], fcp: bool) -> tuple[int, bytes]:
        """SELECT `path` (P2 ``04``: return the FCP, else ``0C``); returns (SW, FCP)."""
        if path[:1] == [CURRENT_ADF]:
            if self.usim_aid is None:
                return 0x6A82, b""
            aid_select = bytes([0x00, 0xA4, 0x04, 0x04 if fcp and len(path) == 1 else 0x0C, len(self.usim_aid)])
            data, sw = self.exchange(aid_select + self.usim_aid)
            if sw != SW_OK or len(path) == 1:
                return sw, data
            return self._select_from(0x09, path[1:], fcp)
        return self._select_from(0x08, path, fcp)

    def _select_from(self, p1: int, path: list[int], fcp: bool) -> tuple[int, bytes]:
        if not path:  # the MF itself, by its file id
            body, p1 = MF.to_bytes(2, "big"), 0x00
        else:
            body = b"".join(i.to_bytes(2, "big") for i in path)
        data, sw = self.exchange(bytes([0x00, 0xA4, p1, 0x04 if fcp else 0x0C, len(body)]) + body)
        return sw, data

    def _select_path(self, path: list[int], fcp: bool) -> int:
        return self._select(path, fcp)[0]

    # -- identities and PIN ---------------------------------------------------------------------
    def read_transparent(self, path: list[int], length: int) -> bytes:
        """SELECT and READ BINARY `length` bytes; SimError with the §9.2 meaning of a failure."""
        sw = self._select_path(path, fcp=False)
        if sw == SW_OK:
            data, sw = self.exchange(bytes([0x00, 0xB0, 0x00, 0x00, length]))
            if sw == SW_OK:
                return data
        if sw == 0x6982:  # security status not satisfied: PIN1 not verified
            raise SimError(CME_SIM_PIN_REQUIRED)
        raise SimError(CME_SIM_FAILURE, f"reading {path} failed: SW {sw:04X}")

    def imsi(self) -> str:
        return decode_imsi(self.read_transparent(self._path(EF_IMSI, None), 9))

    def iccid(self) -> str:
        return decode_iccid(self.read_transparent([EF_ICCID], 10))

    def pin_state(self) -> str:
        """+CPIN? <code> (27.007 §8.3) from VERIFY PIN1 without data (TS 102 221 §11.1.9)."""
        self._select_usim()
        _, sw = self.exchange(bytes([0x00, 0x20, 0x00, 0x01]))
        if sw == SW_OK:
            return "READY"
        if sw == 0x6983 or sw == 0x63C0:
            return "SIM PUK"
        if sw & 0xFFF0 == 0x63C0:
            return "SIM PIN"
        raise SimError(CME_SIM_FAILURE, f"VERIFY status: SW {sw:04X}")

    def enter_pin(self, pin: str, new_pin: str | None = None) -> None:
        """+CPIN=<pin>[,<newpin>]: VERIFY PIN1, or with <newpin> UNBLOCK PIN1 with <pin> as the PUK."""
        self._select_usim()
        if new_pin is None:
            _, sw = self.exchange(bytes([0x00, 0x20, 0x00, 0x01, 0x08]) + pin_block(pin))
        else:
            _, sw = self.exchange(bytes([0x00, 0x2C, 0x00, 0x01, 0x10]) + pin_block(pin) + pin_block(new_pin))
        if sw == SW_OK:
            return
        if sw == 0x6983 or sw == 0x63C0:
            raise SimError(CME_SIM_PUK_REQUIRED)
        if sw & 0xFFF0 == 0x63C0:
            raise SimError(CME_INCORRECT_PASSWORD)
        raise SimError(CME_OPERATION_NOT_ALLOWED, f"PIN command: SW {sw:04X}")

    def _select_usim(self) -> None:
        if self.usim_aid is not None:
            self._select_path([CURRENT_ADF], fcp=False)

    # -- logical channels (+CCHO / +CCHC / +CGLA) -----------------------------------------------
    def open_channel(self, aid: bytes) -> int:
        """MANAGE CHANNEL open, then SELECT `aid` on the new channel; returns the channel number."""
        data, sw = self.exchange(bytes.fromhex("0070000001"))
        if sw != SW_OK or len(data) != 1:
            raise SimError(CME_MEMORY_FULL, f"MANAGE CHANNEL open: SW {sw:04X}")
        number = data[0]
        _, sw = self.exchange(bytes([on_channel(0x00, number), 0xA4, 0x04, 0x00, len(aid)]) + aid + b"\x00")
        if sw != SW_OK and sw >> 8 not in (0x62, 0x63):  # warnings still select (ISO 7816-4 §5.6)
            self.exchange(bytes([0x00, 0x70, 0x80, number]))
            raise SimError(CME_NOT_FOUND if sw == 0x6A82 else CME_OPERATION_NOT_ALLOWED, f"SELECT: SW {sw:04X}")
        self.channels[number] = Channel(number, aid)
        return number

    def close_channel(self, number: int) -> None:
        if number not in self.channels:
            raise SimError(CME_INCORRECT_PARAMETERS, f"no session {number}")
        del self.channels[number]
        _, sw = self.exchange(bytes([0x00, 0x70, 0x80, number]))
        if sw != SW_OK:
            raise SimError(CME_OPERATION_NOT_ALLOWED, f"MANAGE CHANNEL close: SW {sw:04X}")

    def channel_apdu(self, number: int, apdu: bytes) -> bytes:
        """`apdu` with the CLA of session `number` (§8.45 NOTE: the MT manages the channel bits)."""
        if number not in self.channels:
            raise SimError(CME_INCORRECT_PARAMETERS, f"no session {number}")
        return bytes([on_channel(apdu[0], number)]) + apdu[1:]
