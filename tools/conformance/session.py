"""What a case works with: the card link with its APDU log, checks that end the case with a
verdict, and ES10 over STORE DATA (GSMA SGP.22 v2.5 §5.7.2).

T=0 response handling is done here, as a terminal does (ETSI TS 102 221 §7.3.1.1.4 / ISO/IEC
7816-3 §10.3.3: ``61xx`` -> GET RESPONSE, ``6Cxx`` -> repeat with Le = xx), and so is a pending
proactive command (``91xx``, TS 102 221 §7.4.2.2, §14.6.2): fetched and answered at once, kept for
the case to look at (:meth:`Session.fetch_all`, :meth:`Session.answered`); every exchange on the
wire is kept in the current step's log.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools import ber_tlv as tlv
from tools.conformance import asn1
from tools.conformance.description import CardDescription
from tools.conformance.model import Case, Exchange, Fail, Inconclusive, Step
from tools.conformance.transport import Transport

SW_OK = 0x9000
STORE_DATA_BLOCK = 120
TERMINAL_CAPABILITY = bytes.fromhex("80AA00000AA9088100820101830107")  # TS 102 221 §11.1.19, SGP.22 §5.7.1


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    def __str__(self) -> str:
        return f"{self.data.hex().upper()} {self.sw:04X}".strip()


@dataclass(frozen=True)
class Proactive:
    """A fetched proactive command: its type and simple-TLV objects by tag (CR bit cleared)."""

    type: int
    objects: dict[int, bytes]


def cla(channel: int, proprietary: bool = False) -> int:
    """ISO/IEC 7816-4 §5.4.1: channels 0-3 in b2-b1, 4-19 as b4-b1 + 4 with b7 set; b8 for GP."""
    if channel <= 3:
        return (0x80 if proprietary else 0x00) | channel
    return (0xC0 if proprietary else 0x40) | (channel - 4)


class Session:
    """One case's run: ``transport`` to the card, the card ``description``, the shared ``env``."""

    def __init__(self, case: Case, transport: Transport, description: CardDescription, env: Any = None) -> None:
        self.case, self.transport, self.card, self.env = case, transport, description, env
        self.steps: list[Step] = []
        self.summary = ""
        self.es10_channel: int | None = None
        self.proactive: list[Proactive] = []   # fetched after an ES5/ES10 command, not yet looked at
        self._cleanups: list = []

    # -- lifecycle -------------------------------------------------------------------------
    def begin(self) -> None:
        self.reset()

    def reset(self) -> bytes:
        """Cold reset within a case (the card forgets channels and sessions); its ATR."""
        self.step("cold reset")
        atr = self.transport.reset()
        self.es10_channel = None
        self.note(f"ATR {atr.hex().upper()}")
        return atr

    def end(self) -> None:
        """Run the restore actions the case registered (even after a FAIL), each in its own step."""
        for title, action in reversed(self._cleanups):
            self.step(f"restore: {title}")
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - a failed restore is reported, not raised
                self.note(f"restore failed: {exc}")

    def on_exit(self, title: str, action) -> None:
        """Register a restore action (state-changing cases give the card back as they found it)."""
        self._cleanups.append((title, action))

    # -- log -------------------------------------------------------------------------------
    def step(self, title: str) -> Step:
        self.steps.append(Step(title))
        return self.steps[-1]

    def note(self, text: str) -> None:
        if not self.steps:
            self.step("setup")
        self.steps[-1].notes.append(text)

    # -- verdicts --------------------------------------------------------------------------
    def check(self, condition: bool, reason: str) -> None:
        if not condition:
            raise Fail(reason)

    def require(self, condition: bool, reason: str) -> None:
        if not condition:
            raise Inconclusive(reason)

    def expect_sw(self, response: Response, *allowed: int, what: str = "") -> Response:
        if response.sw not in allowed:
            expected = " or ".join(f"{sw:04X}" for sw in allowed)
            raise Fail(f"{what or 'command'}: SW {response.sw:04X}, expected {expected}")
        return response

    def answered(self, response: Response, what: str) -> Response:
        """The answer to an ES5 / ES10 command as a terminal takes it: '9000', or '91xx' (success
        with a proactive command pending, TS 102 221 §7.4.2.2), whose commands are fetched and
        answered at once and kept in :attr:`proactive`; any other status word FAILs."""
        if response.sw >> 8 == 0x91:
            self.proactive += self.fetch_all(response)
            return Response(response.data, SW_OK)
        return self.expect_sw(response, SW_OK, what=what)

    def fetch_all(self, response: Response) -> list[Proactive]:
        """FETCH while the card answers '91xx' (TS 102 221 §14.6.2); each command answered
        'performed successfully' (TS 102 223 §6.8, result '00') as a terminal does."""
        out = []
        while response.sw >> 8 == 0x91:
            self.step("FETCH (TS 102 221 §11.2.3) and TERMINAL RESPONSE")
            fetched = self.expect_sw(self.send(bytes([0x80, 0x12, 0x00, 0x00, response.sw & 0xFF])), SW_OK,
                                     what="FETCH")
            try:
                objects = {t & 0x7F: v for t, v in tlv.split(tlv.unwrap(fetched.data, 0xD0))}
            except (tlv.TlvError, ValueError) as exc:
                raise Fail(f"the fetched proactive command does not decode: {exc}") from None
            details = objects.get(0x01, b"")
            self.check(len(details) == 3, "a proactive command without command details")
            out.append(Proactive(details[1], objects))
            self.note(f"proactive command type {details[1]:02X} qualifier {details[2]:02X}")
            answer = bytes([0x81, 3]) + details + bytes.fromhex("82028281830100")
            response = self.send(bytes([0x80, 0x14, 0x00, 0x00, len(answer)]) + answer)
            self.check(response.sw == SW_OK or response.sw >> 8 == 0x91,
                       f"TERMINAL RESPONSE answered {response.sw:04X}")
        return out

    def take_proactive(self) -> list[Proactive]:
        """The proactive commands fetched after ES5/ES10 commands since the last call."""
        out, self.proactive = self.proactive, []
        return out

    # -- APDUs -----------------------------------------------------------------------------
    def raw(self, apdu: bytes) -> Response:
        answer = self.transport.transmit(apdu)
        if not self.steps:
            self.step("setup")
        self.steps[-1].exchanges.append(Exchange(apdu, answer))
        if len(answer) < 2:
            raise Fail(f"answer of {len(answer)} bytes has no status word")
        return Response(answer[:-2], int.from_bytes(answer[-2:], "big"))

    def send(self, apdu: bytes | str) -> Response:
        """One command with T=0 response fetching; the whole response data and the final SW."""
        apdu = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
        response = self.raw(apdu)
        if response.sw >> 8 == 0x6C:
            body = apdu[:4] + bytes([response.sw & 0xFF]) if len(apdu) <= 5 else apdu[:-1] + bytes([response.sw & 0xFF])
            response = self.raw(body)
        data = response.data
        while response.sw >> 8 == 0x61:
            get_response_cla = apdu[0] & 0x03 if apdu[0] & 0x40 == 0 else 0x40 | (apdu[0] & 0x0F)
            response = self.raw(bytes([get_response_cla, 0xC0, 0x00, 0x00, response.sw & 0xFF]))
            data += response.data
        return Response(data, response.sw)

    def select_aid(self, aid: bytes, channel: int = 0, p2: int = 0x00) -> Response:
        """SELECT by DF name (ISO/IEC 7816-4 §11.2.2, P1 04)."""
        return self.send(bytes([cla(channel), 0xA4, 0x04, p2, len(aid)]) + aid + (b"\x00" if p2 != 0x0C else b""))

    def open_channel(self) -> int:
        """MANAGE CHANNEL open (ISO/IEC 7816-4 §11.1.2): the channel number the card assigns."""
        response = self.expect_sw(self.send("0070000001"), SW_OK, what="MANAGE CHANNEL open")
        self.check(len(response.data) == 1 and 1 <= response.data[0] <= 19,
                   f"MANAGE CHANNEL open returned {response.data.hex().upper()}, not one channel number 01-13")
        return response.data[0]

    # -- ES10 ------------------------------------------------------------------------------
    def open_isd_r(self) -> int:
        """TERMINAL CAPABILITY, a logical channel and SELECT ISD-R (SGP.22 §5.7.1, §5.7.2)."""
        if self.es10_channel is None:
            self.expect_sw(self.send(TERMINAL_CAPABILITY), SW_OK, what="TERMINAL CAPABILITY")
            channel = self.open_channel()
            self.expect_sw(self.select_aid(self.card.isd_r_aid, channel), SW_OK, what="SELECT ISD-R")
            self.es10_channel = channel
        return self.es10_channel

    def store_data(self, request: bytes) -> Response:
        """One ES10 request in STORE DATA blocks (GP CS §11.11: P1 11 more / 91 last, P2 block
        number); the last block's response."""
        channel = self.open_isd_r()
        blocks = [request[i:i + STORE_DATA_BLOCK] for i in range(0, len(request), STORE_DATA_BLOCK)] or [b""]
        for number, block in enumerate(blocks):
            last = number == len(blocks) - 1
            apdu = bytes([cla(channel, True), 0xE2, 0x91 if last else 0x11, number, len(block)]) + block
            response = self.send(apdu + (b"\x00" if last else b""))
            if not last:
                self.answered(response, what=f"STORE DATA block {number}")
        return response

    def es10_raw(self, request: bytes) -> bytes:
        return self.answered(self.store_data(request), what=f"ES10 {request[:2].hex().upper()}").data

    def decode(self, type_name: str, data: bytes) -> Any:
        """Decode a card answer as SGP.22 ``type_name``; an undecodable answer is a FAIL."""
        try:
            return asn1.rsp().decode(type_name, data)
        except asn1.DECODE_ERRORS as exc:
            raise Fail(f"{type_name} does not decode: {data[:24].hex().upper()}...: {exc}") from None

    def encode(self, type_name: str, value: Any) -> bytes:
        return asn1.rsp().encode(type_name, value)

    def es10(self, request_type: str, value: Any, response_type: str) -> Any:
        """Encode the request, send it, decode the response as ``response_type``."""
        return self.decode(response_type, self.es10_raw(self.encode(request_type, value)))

    # -- shared helpers ----------------------------------------------------------------------
    def profiles(self) -> list[dict]:
        """ES10c.GetProfilesInfo without filter (SGP.22 §5.7.15)."""
        kind, value = self.es10("ProfileInfoListRequest", {}, "ProfileInfoListResponse")
        self.check(kind == "profileInfoListOk", f"GetProfilesInfo answered {kind} {value}")
        return value

    def enabled_profile(self) -> dict | None:
        return next((p for p in self.profiles() if p.get("profileState") == 1), None)
