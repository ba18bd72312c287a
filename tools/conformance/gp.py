"""ISD-R / ECASD / GlobalPlatform and ISO basics (SGP.23 §4.2.1 "ATR and ISD-R Selection";
GP Card Specification v2.3.1 §11; GP Amd D (SCP03); ETSI TS 102 221 §10, §11).

SGP.23 names the first case ``TC_eUICC_ATR_And_ISDR_Selection``; the other identifiers here are
our labels in the same ``TC_eUICC_<interface>.<function>#<sequence>`` pattern (the GSMA text
is not available here), each named after the function and clause it exercises.
"""
from __future__ import annotations

from tools import ber_tlv as tlv
from tools.conformance.mutation import command, flip, flip_value_of, mutation, replace, status
from tools.conformance.model import Fail, case
from tools.conformance.session import SW_OK, Session, cla
from tools.scp.scp03_host import HostKeySet, Scp03Host, Scp03HostError

GP_RID_OID = bytes.fromhex("2A864886FC6B01")    # {1 2 840 114283 1}: GP card recognition data (GP CS §H.2)
SW_WRONG_LENGTH, SW_SECURITY, SW_CONDITIONS = 0x6700, 0x6982, 0x6985
SW_NOT_FOUND, SW_DATA_NOT_FOUND, SW_INS, SW_CLA = 0x6A82, 0x6A88, 0x6D00, 0x6E00
SW_CHANNEL_NOT_SUPPORTED, SW_AUTH_FAILED = 0x6881, 0x6300


def ok(s: Session, apdu: str | bytes, what: str) -> bytes:
    return s.expect_sw(s.send(apdu), SW_OK, what=what).data


def parse(data: bytes, what: str) -> list[tuple[int, bytes]]:
    try:
        return tlv.split(data)
    except tlv.TlvError as exc:
        raise Fail(f"{what} is not BER-TLV: {exc}") from None


@case("TC_eUICC_ATR_And_ISDR_Selection#01", group="GP", title="ATR offers T=0; SELECT ISD-R on the basic channel",
      clause="SGP.22 §2.2.3, TS 102 221 §6.3, ISO/IEC 7816-3 §8.2",
      mutation=mutation("SELECT ISD-R answers 6A82", command(0xA4, 0x04), status(SW_NOT_FOUND)))
def atr_and_isdr(s: Session) -> None:
    atr = s.reset()
    s.check(len(atr) >= 2 and atr[0] in (0x3B, 0x3F), f"ATR TS byte {atr[:1].hex()} is neither 3B nor 3F")
    s.check(0 in offered_protocols(atr), "the ATR does not offer T=0 (TS 102 221 §6.3: a UICC supports T=0)")
    s.step("SELECT ISD-R by AID")
    ok(s, bytes([0x00, 0xA4, 0x04, 0x00, 16]) + s.card.isd_r_aid + b"\x00", "SELECT ISD-R")


def offered_protocols(atr: bytes) -> set[int]:
    """Protocols T the ATR offers (ISO/IEC 7816-3 §8.2.3: each TDi low nibble; none = T=0 only)."""
    offered, i, y = set(), 1, atr[1] >> 4 if len(atr) > 1 else 0
    while True:
        i += 1 + bin(y & 0x7).count("1")      # skip TAi, TBi, TCi
        if not y & 0x8 or i >= len(atr):
            return offered or {0}
        offered.add(atr[i] & 0x0F)
        y = atr[i] >> 4


@case("TC_eUICC_ATR_And_ISDR_Selection#02", group="GP", title="SELECT ISD-R on a logical channel returns its FCI",
      clause="SGP.22 §2.2.3, ISO/IEC 7816-4 §11.1.2, GP CS §11.9.3",
      mutation=mutation("the FCI's AID (84) loses a bit", command(0xA4, 0x04), flip_value_of(0x84, 3)))
def isdr_fci(s: Session) -> None:
    s.step("MANAGE CHANNEL open")
    channel = s.open_channel()
    s.step(f"SELECT ISD-R on channel {channel}")
    fci = ok(s, bytes([cla(channel), 0xA4, 0x04, 0x00, 16]) + s.card.isd_r_aid + b"\x00", "SELECT ISD-R")
    body = dict(parse(tlv.unwrap(fci, 0x6F) if fci[:1] == b"\x6f" else b"", "FCI"))
    s.check(fci[:1] == b"\x6f", f"FCI does not start with 6F: {fci[:4].hex().upper()}")
    s.check(body.get(0x84) == s.card.isd_r_aid, f"FCI 84 is {body.get(0x84, b'').hex().upper()}, not the ISD-R AID")
    s.step("MANAGE CHANNEL close")
    ok(s, bytes([0x00, 0x70, 0x80, channel]), "MANAGE CHANNEL close")


@case("TC_UICC_ManageChannel#01", group="GP", title="open three channels; each number distinct; close them",
      clause="ISO/IEC 7816-4 §11.1.2, TS 102 221 §11.1.17",
      mutation=mutation("MANAGE CHANNEL open answers 6A81", command(0x70, 0x00), status(0x6A81)))
def channels(s: Session) -> None:
    opened = []
    for n in range(3):
        s.step(f"MANAGE CHANNEL open #{n + 1}")
        opened.append(s.open_channel())
    s.check(len(set(opened)) == 3, f"channel numbers repeat: {opened}")
    for channel in opened:
        s.step(f"MANAGE CHANNEL close {channel}")
        ok(s, bytes([0x00, 0x70, 0x80, channel]), "MANAGE CHANNEL close")


@case("TC_UICC_ManageChannel#02", group="GP", title="a command on a closed channel is refused",
      clause="TS 102 221 §10.2.1.3 (6881), ISO/IEC 7816-4 §5.1.1",
      mutation=mutation("the closed channel answers 9000", command(0xA4, 0x04), replace(b"", SW_OK)))
def closed_channel(s: Session) -> None:
    channel = s.open_channel()
    ok(s, bytes([0x00, 0x70, 0x80, channel]), "MANAGE CHANNEL close")
    s.step(f"SELECT ISD-R on closed channel {channel}")
    s.expect_sw(s.select_aid(s.card.isd_r_aid, channel), SW_CHANNEL_NOT_SUPPORTED, what="command on a closed channel")


@case("TC_eUICC_ECASD_Selection#01", group="GP", title="SELECT ECASD by its AID",
      clause="SGP.22 §2.2.2 (ECASD AID), GP CS §11.9",
      mutation=mutation("SELECT ECASD answers 6A82", command(0xA4, 0x04, data=bytes.fromhex("A0000005591010FFFFFFFF8900000200")),
                        status(SW_NOT_FOUND)))
def ecasd(s: Session) -> None:
    channel = s.open_channel()
    s.step("SELECT ECASD")
    ok(s, bytes([cla(channel), 0xA4, 0x04, 0x00, len(s.card.ecasd_aid)]) + s.card.ecasd_aid + b"\x00", "SELECT ECASD")


def _isdr_basic(s: Session) -> None:
    s.step("SELECT ISD-R")
    ok(s, bytes([0x00, 0xA4, 0x04, 0x00, 16]) + s.card.isd_r_aid + b"\x00", "SELECT ISD-R")


@case("TC_GP_GetData_CardData#01", group="GP", title="GET DATA 66: card recognition data with the GP OID",
      clause="GP CS §H.2, §11.3",
      mutation=mutation("the GP OID loses a bit", command(0xCA, 0x00, 0x66), flip_value_of(0x06, 5)))
def card_data(s: Session) -> None:
    _isdr_basic(s)
    s.step("GET DATA 66")
    data = ok(s, "80CA006600", "GET DATA 66")
    inner = tlv.find(tlv.unwrap(data, 0x66), 0x73) if data[:1] == b"\x66" else None
    s.check(inner is not None, "66 does not hold a 73 card recognition data template")
    s.check(tlv.find(inner, 0x06) == GP_RID_OID, "73 does not start with OID 1.2.840.114283.1")


@case("TC_GP_GetData_KeyInformation#01", group="GP", title="GET DATA E0: the described SCP03 key set is listed",
      clause="GP CS §11.3.3.1 (key information template), GP Amd D §4",
      mutation=mutation("the first key's KVN changes", command(0xCA, 0x00, 0xE0), flip_value_of(0xC0, 1, 0x0F)))
def key_information(s: Session) -> None:
    kvn = s.card.scp03.get("kvn")
    s.require(isinstance(kvn, int), "the card description has no SCP03 key version")
    _isdr_basic(s)
    s.step("GET DATA E0")
    data = ok(s, "80CA00E000", "GET DATA E0")
    entries = [v for t, v in parse(tlv.unwrap(data, 0xE0) if data[:1] == b"\xe0" else b"\x00", "E0") if t == 0xC0]
    mine = [e for e in entries if len(e) >= 4 and e[1] == kvn]
    s.check(sorted(e[0] for e in mine) == [1, 2, 3], f"KVN {kvn:02X} key ids {[e[0] for e in mine]}, expected 1, 2, 3")
    s.check(all(e[2] == 0x88 and e[3] == len(s.card.scp03["enc"]) for e in mine),  # type: ignore[arg-type]
            "SCP03 keys are not listed as AES (88) of the described length")


@case("TC_GP_GetData_EID#01", group="GP", title="GET DATA 5A on the ISD-R: the EID as ES10c.GetEID gives it",
      clause="GP CS §11.3, SGP.22 §5.7.20",
      mutation=mutation("the EID's last byte changes", command(0xCA, 0x00, 0x5A), flip(-1)))
def eid_by_get_data(s: Session) -> None:
    from tools.conformance.es10c import read_eid
    eid = read_eid(s)
    s.reset()
    _isdr_basic(s)
    s.step("GET DATA 5A")
    data = ok(s, "80CA005A00", "GET DATA 5A")
    s.check(data == tlv.encode(0x5A, bytes.fromhex(eid)), f"GET DATA 5A {data.hex().upper()} differs from EID {eid}")


@case("TC_GP_GetData_Unknown#01", group="GP", title="GET DATA of an unknown tag answers 6A88",
      clause="GP CS §11.3.3 (6A88 referenced data not found)",
      mutation=mutation("the unknown tag answers 9000", command(0xCA, 0x00, 0xFE), replace(b"", SW_OK)))
def get_data_unknown(s: Session) -> None:
    _isdr_basic(s)
    s.step("GET DATA 00FE")
    s.expect_sw(s.send("80CA00FE00"), SW_DATA_NOT_FOUND, what="GET DATA FE")


@case("TC_GP_GetStatus_ISD#01", group="GP", title="GET STATUS of the issuer security domain names the ISD-R",
      clause="GP CS §11.4 (P1 80, P2 02 tagged format)",
      mutation=mutation("the listed AID changes", command(0xF2, 0x80), flip_value_of(0x4F, 15)))
def get_status_isd(s: Session) -> None:
    _isdr_basic(s)
    s.step("GET STATUS P1 80 P2 02")
    data = ok(s, "80F28002024F0000", "GET STATUS")
    entry = tlv.unwrap(data, 0xE3) if data[:1] == b"\xe3" else b""
    s.check(tlv.find(entry, 0x4F) == s.card.isd_r_aid, f"GET STATUS lists {data[:24].hex().upper()}, not the ISD-R")


@case("TC_GP_GetStatus_WrongP1#01", group="GP", title="GET STATUS with an undefined P1 is refused",
      clause="GP CS §11.4.2.1 (P1 subsets), §11.1.3 (6A86 incorrect P1 P2); TS 102 221 §11.1.2 (STATUS: 6B00)",
      mutation=mutation("P1 08 answers 9000", command(0xF2, 0x08), replace(b"", SW_OK)))
def get_status_bad_p1(s: Session) -> None:
    _isdr_basic(s)
    s.step("GET STATUS P1 08 (neither a GP GET STATUS nor a TS 102 221 STATUS P1)")
    s.expect_sw(s.send("80F20802024F0000"), 0x6A86, 0x6B00, what="GET STATUS P1 08")


@case("TC_UICC_UnknownInstruction#01", group="GP", title="an unknown INS answers 6D00",
      clause="TS 102 221 §10.2.1.4, ISO/IEC 7816-4 §5.6",
      mutation=mutation("INS 02 answers 9000", command(0x02), replace(b"", SW_OK)))
def unknown_ins(s: Session) -> None:
    s.step("INS 02")
    s.expect_sw(s.send("0002000000"), SW_INS, what="INS 02")


@case("TC_UICC_UnknownClass#01", group="GP", title="the GSM class A0 is refused by a UICC (6E00)",
      clause="TS 102 221 §10.1.1 (CLA coding), §10.2.1.4",
      mutation=mutation("CLA A0 answers 9000", lambda apdu: apdu[:1] == b"\xa0", replace(b"", SW_OK)))
def unknown_cla(s: Session) -> None:
    s.step("SELECT with CLA A0")
    s.expect_sw(s.send("A0A40000023F00"), SW_CLA, what="CLA A0")


def _scp03(s: Session, level: int = 0x01) -> Scp03Host:
    keys = s.card.scp03
    s.require(all(k in keys for k in ("kvn", "enc", "mac", "dek")), "the card description has no SCP03 keys")
    host = Scp03Host(HostKeySet(keys["kvn"], keys["enc"], keys["mac"], keys["dek"]), level)  # type: ignore[arg-type]
    _isdr_basic(s)
    s.step(f"INITIALIZE UPDATE KVN {keys['kvn']:02X}")
    response = ok(s, host.initialize_update(), "INITIALIZE UPDATE")
    try:
        host.process_initialize_update(response, s.card.isd_r_aid)
    except Scp03HostError as exc:
        raise Fail(f"INITIALIZE UPDATE: {exc}") from None
    return host


@case("TC_GP_SCP03_InitializeUpdate#01", group="GP", title="INITIALIZE UPDATE: card cryptogram verifies with the described keys",
      clause="GP Amd D §7.1.2, §6.2.2.2",
      mutation=mutation("the card cryptogram loses a bit", command(0x50), flip(22)))
def scp03_initialize_update(s: Session) -> None:
    host = _scp03(s)
    s.note(f"i = {host.i_parameter:02X}, sequence counter {host.sequence_counter}")


@case("TC_GP_SCP03_ExternalAuthenticate#01", group="GP", title="EXTERNAL AUTHENTICATE (C-MAC) then GET STATUS in the session",
      clause="GP Amd D §7.2, §6.2.4",
      mutation=mutation("EXTERNAL AUTHENTICATE answers 6300", command(0x82), status(SW_AUTH_FAILED)))
def scp03_session(s: Session) -> None:
    host = _scp03(s, 0x01)
    s.step("EXTERNAL AUTHENTICATE level 01")
    ok(s, host.external_authenticate(), "EXTERNAL AUTHENTICATE")
    s.step("GET STATUS, C-MAC")
    data = ok(s, host.wrap(bytes.fromhex("80F28002024F0000")), "GET STATUS in the SCP03 session")
    s.check(tlv.find(tlv.unwrap(data, 0xE3), 0x4F) == s.card.isd_r_aid if data[:1] == b"\xe3" else False,
            "GET STATUS in the session does not list the ISD-R")


@case("TC_GP_SCP03_ExternalAuthenticate#02", group="GP", title="a wrong host cryptogram is refused with 6300",
      clause="GP Amd D §7.2.2",
      mutation=mutation("EXTERNAL AUTHENTICATE answers 9000", command(0x82), replace(b"", SW_OK)))
def scp03_bad_cryptogram(s: Session) -> None:
    host = _scp03(s)
    s.step("EXTERNAL AUTHENTICATE with a wrong host cryptogram")
    apdu = bytearray(host.external_authenticate())
    apdu[5] ^= 0x01
    s.expect_sw(s.send(bytes(apdu)), SW_AUTH_FAILED, SW_SECURITY, what="EXTERNAL AUTHENTICATE")


@case("TC_GP_SCP03_InitializeUpdate#02", group="GP", title="INITIALIZE UPDATE of an unknown key version answers 6A88",
      clause="GP Amd D §7.1.3 (6A88 referenced data not found)",
      mutation=mutation("KVN 3F answers 9000", command(0x50, 0x3F), replace(bytes(32), SW_OK)))
def scp03_unknown_kvn(s: Session) -> None:
    s.require(s.card.scp03.get("kvn") != 0x3F, "the described key version is 3F")
    _isdr_basic(s)
    s.step("INITIALIZE UPDATE KVN 3F")
    s.expect_sw(s.send("80503F00080001020304050607" + "00"), SW_DATA_NOT_FOUND, what="INITIALIZE UPDATE KVN 3F")


@case("TC_GP_SCP03_ExternalAuthenticate#03", group="GP", title="EXTERNAL AUTHENTICATE without INITIALIZE UPDATE answers 6985",
      clause="GP Amd D §7.2.2 (conditions of use not satisfied)",
      mutation=mutation("EXTERNAL AUTHENTICATE answers 9000", command(0x82), replace(b"", SW_OK)))
def scp03_no_init(s: Session) -> None:
    _isdr_basic(s)
    s.step("EXTERNAL AUTHENTICATE alone")
    s.expect_sw(s.send("8482010010" + "00" * 16), SW_CONDITIONS, SW_SECURITY, what="EXTERNAL AUTHENTICATE")
