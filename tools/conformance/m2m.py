"""M2M (SGP.02) cases: ES5 to the ISD-R over SCP80 in SMS-PP (SGP.02 v4.2 §5.4, §2.4.3; ETSI
TS 102 225 §5, TS 102 226 §5.2 expanded scripts, TS 31.115 SMS-PP, TS 102 223 §7.1.1 ENVELOPE),
the runner acting as the SM-SR with the SCP80 key set of the card description.

The PoR is asked for in the ENVELOPE response (SPI '16 19': counter higher, CC, ciphered; PoR
with CC, ciphered, by SMS-DELIVER-REPORT).  SGP.11 case identifiers cannot be read here; the
names ``TC_eUICC_ES5.<function>#<sequence>`` / ``TC_SCP80.<check>#<sequence>`` are our labels.
"""
from __future__ import annotations

from tools import ber_tlv as tlv
from tools.conformance.mutation import command, flip, mutation, replace
from tools.conformance.model import Fail, case
from tools.conformance.session import Response, Session
from tools.ota.packet import AES, POR_UDH, OtaKeyset, ResponsePacket, build_command_packet, decode_response_packet
from tools.ota.transport import decode_expanded_response, envelope_apdu, sms_deliver_tpdus

SPI = bytes.fromhex("1619")
ISD_R_TAR = bytes.fromhex("000001")                    # SGP.02 Annex H
AID_PREFIX = bytes.fromhex("A0000005591010FFFFFFFF89")  # SGP.02 Annex H: prefix || TAR || '00'
TEST_TAR = bytes.fromhex("00FFF0")                     # an ISD-P TAR in 000010-00FFFF the runner creates
TERMINAL_PROFILE = bytes.fromhex("FFFFFFFF7F0300DF7F03020000000000000000")
POR_OK, POR_CC_FAILED, POR_CNTR_LOW, POR_TAR_UNKNOWN = 0x00, 0x01, 0x02, 0x09
LCS_ENABLED = 0x3F
ENVELOPE = command(0xC2)


def keyset(s: Session) -> OtaKeyset:
    keys = s.card.scp80
    s.require(keys is not None and s.card.m2m, "the card description has no SCP80 key set (not an M2M card)")
    s.require(keys.algorithm == "aes", "only AES SCP80 key sets are described here")  # type: ignore[union-attr]
    return OtaKeyset(keys.kvn, AES, keys.kic, AES, keys.kid)  # type: ignore[union-attr]


def start(s: Session) -> None:
    """TERMINAL PROFILE, then (as a terminal does) FETCH and answer what the card asks at once:
    SET UP EVENT LIST (TS 102 223 §6.4.16), so that the location status events are registered."""
    s.step("TERMINAL PROFILE (TS 102 221 §14.7.1)")
    response = s.send(bytes([0x80, 0x10, 0x00, 0x00, len(TERMINAL_PROFILE)]) + TERMINAL_PROFILE)
    s.check(response.sw == 0x9000 or response.sw >> 8 == 0x91, f"TERMINAL PROFILE answered {response.sw:04X}")
    s.fetch_all(response)


def send_packet(s: Session, apdus: list[bytes], tar: bytes = ISD_R_TAR, keys: OtaKeyset | None = None,
                counter: int | None = None) -> tuple[ResponsePacket, int]:
    """One SCP80 command packet with an expanded script of C-APDUs; the decoded PoR and its counter."""
    return send_script(s, [tlv.encode(0x22, a) for a in apdus], ", ".join(a[:4].hex().upper() for a in apdus),
                       tar, keys, counter)


def send_script(s: Session, items: list[bytes], label: str, tar: bytes = ISD_R_TAR, keys: OtaKeyset | None = None,
                counter: int | None = None, chaining: int | None = None) -> tuple[ResponsePacket, int]:
    """One SCP80 command packet with the expanded script 'AA' {['83' chaining] command TLVs} (TS 102 226
    §5.2.1: '22' C-APDUs, or SGP.02 SCP03t '84'/'85'/'86'); the decoded PoR and its counter.  A
    packet longer than one SMS goes in several ENVELOPEs (TS 31.115 concatenation); the card may
    answer any of them '91xx', whose proactive commands are fetched and answered before the next
    part, as a terminal does."""
    good = keyset(s)
    counter = s.env.next_scp80_counter() if counter is None else counter
    body = (tlv.encode(0x83, bytes([chaining])) if chaining is not None else b"") + b"".join(items)
    packet = build_command_packet(keys or good, SPI, tar, tlv.encode(0xAA, body), counter)
    s.step(f"ENVELOPE SMS-PP, SCP80 to TAR {tar.hex().upper()}: {label}"
           + (f" (script chaining {chaining:02X})" if chaining is not None else ""))
    tpdus = sms_deliver_tpdus(packet)
    response = None
    for number, tpdu in enumerate(tpdus, 1):     # each part's '91xx' fetched and answered (TS 102 221 §7.4.2.2)
        response = s.answered(s.send(envelope_apdu(tpdu)), what=f"ENVELOPE (SMS part {number}/{len(tpdus)})")
    assert response is not None
    s.check(response.data[:3] == POR_UDH, f"no PoR in the ENVELOPE response ({response.data[:8].hex().upper()})")
    try:
        por = decode_response_packet(good, SPI, response.data)
    except (ValueError, IndexError) as exc:
        raise Fail(f"unreadable PoR: {exc}") from None
    s.note(f"PoR status {por.status:02X}, counter {por.counter}, checksum {por.checksum_valid}")
    return por, counter


def verified(s: Session, por: ResponsePacket, tar: bytes) -> bytes:
    """The response script of a PoR that reports success, verifies and names ``tar``."""
    s.check(por.status == POR_OK, f"PoR status {por.status:02X}")
    s.check(por.checksum_valid is True, "the PoR's CC does not verify")
    s.check(por.tar == tar, f"PoR for TAR {por.tar.hex()}")
    return por.data


def script(s: Session, apdus: list[bytes], tar: bytes = ISD_R_TAR) -> list[bytes]:
    """Run C-APDUs as one ES5 script; the R-APDUs (data || SW) of a verified PoR."""
    por, _ = send_packet(s, apdus, tar)
    try:
        result = decode_expanded_response(verified(s, por, tar))
    except (ValueError, IndexError) as exc:
        raise Fail(f"the PoR holds no expanded response script: {exc}") from None
    return result.responses


def tlv_script(s: Session, items: list[bytes], label: str, tar: bytes, chaining: int | None = None) -> list[tuple[int, bytes]]:
    """Run command TLVs as one script; the response TLVs ('AB' {['80' count] TLV*}, TS 102 226 §5.2.2)
    of a verified PoR, the count left out."""
    por, _ = send_script(s, items, label, tar, chaining=chaining)
    data = verified(s, por, tar)
    try:
        body = data[2:-2] if data[:2] == b"\xAF\x80" and data[-2:] == b"\x00\x00" else tlv.unwrap(data, 0xAB)
        return [(t, v) for t, v in tlv.split(body) if t != 0x80]
    except tlv.TlvError as exc:
        raise Fail(f"the PoR holds no expanded response script: {exc}") from None


def sw_of(rapdu: bytes) -> int:
    return int.from_bytes(rapdu[-2:], "big")


def get_status(s: Session) -> list[tuple[bytes, int]]:
    """GET STATUS of the ISD-Ps (GP CS §11.4, P1 40 P2 02): (AID, life cycle state) each."""
    rapdus = script(s, [bytes.fromhex("80F24002024F0000")])
    s.check(len(rapdus) == 1 and sw_of(rapdus[0]) in (0x9000, 0x6310), f"GET STATUS answered {rapdus}")
    out = []
    for tag, entry in tlv.split(rapdus[0][:-2]):
        s.check(tag == 0xE3, f"GET STATUS entry tagged {tag:X}, not E3")
        lcs = tlv.find(entry, 0x9F70)
        out.append((tlv.find(entry, 0x4F) or b"", lcs[0] if lcs else -1))
    return out


def isdp(tar: bytes) -> bytes:
    return AID_PREFIX + tar + b"\x00"


def create_isdp_apdu(aid: bytes) -> bytes:
    """CreateISDP: INSTALL [for install and make selectable] of the SGP.02 Annex H ISD-P ELF
    ('00000D') and module ('00000E'), privileges '80C000', 'C9' parameters (SGP.02 §4.1.1.1, GP CS §11.5)."""
    elf, module = isdp(bytes.fromhex("00000D")), isdp(bytes.fromhex("00000E"))
    params = bytes.fromhex("C90481020370")
    body = b"".join(bytes([len(x)]) + x for x in (elf, module, aid, bytes.fromhex("80C000"), params)) + b"\x00"
    return bytes([0x80, 0xE6, 0x0C, 0x00, len(body)]) + body + b"\x00"


def delete_apdu(aid: bytes) -> bytes:
    """DeleteProfile: DELETE '80 E4 00 40' {4F AID} (SGP.02 §4.1.1.4, GP CS §11.2)."""
    return bytes.fromhex("80E4004012") + tlv.encode(0x4F, aid) + b"\x00"


@case("TC_eUICC_ES5.Audit#01", suite="m2m", group="ES5", title="GET STATUS over SCP80: a verified PoR, one enabled ISD-P",
      clause="SGP.02 §5.4.7 (AuditEIS), GP CS §11.4, TS 102 225 §5.2",
      mutation=mutation("the PoR's CC loses a bit", ENVELOPE, flip(-1)))
def audit(s: Session) -> None:
    start(s)
    # P1 '40' lists every application and security domain but the ISD-R (GP CS §11.4.2.1): the
    # ISD-Ps are those with the SGP.02 Annex H AID prefix; the ECASD and applets (ARA-M) are not
    entries = [(aid, lcs) for aid, lcs in get_status(s) if aid.startswith(AID_PREFIX)]
    s.check(bool(entries), "no ISD-P (SGP.02 Annex H AID) in the GET STATUS answer")
    s.check(sum(lcs == LCS_ENABLED for _, lcs in entries) == 1, f"life cycle states {[hex(l) for _, l in entries]}")
    s.summary = f"{len(entries)} ISD-P(s)"


@case("TC_eUICC_ES5.GetData_CardResources#01", suite="m2m", group="ES5", title="GET DATA FF21 over SCP80: 81/82/83 resources",
      clause="SGP.02 §5.4.7, ETSI TS 102 226 §8.2.1.7.2",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def card_resources(s: Session) -> None:
    start(s)
    rapdus = script(s, [bytes.fromhex("80CAFF2100")])
    s.check(sw_of(rapdus[0]) == 0x9000, f"GET DATA FF21 answered {sw_of(rapdus[0]):04X}")
    body = tlv.unwrap(rapdus[0][:-2], 0xFF21)
    s.check({0x81, 0x82, 0x83} <= {t for t, _ in tlv.split(body)}, "FF21 lacks 81/82/83")


@case("TC_SCP80.Counter#E01", suite="m2m", group="SCP80", title="a replayed counter: PoR status 02 (counter low)",
      clause="TS 102 225 §5.1.1 (SPI counter higher), §5.2 (status 02)",
      mutation=mutation("a bit of every PoR flips (its CC fails)", ENVELOPE, flip(-5, 0x02)))
def counter_replay(s: Session) -> None:
    start(s)
    first, counter = send_packet(s, [bytes.fromhex("80CAFF2100")])
    s.check(first.status == POR_OK, f"first packet: PoR status {first.status:02X}")
    again, _ = send_packet(s, [bytes.fromhex("80CAFF2100")], counter=counter)
    s.check(again.status == POR_CNTR_LOW, f"replayed counter: PoR status {again.status:02X}, expected 02")


@case("TC_SCP80.Checksum#E01", suite="m2m", group="SCP80", title="a wrong KID: PoR status 01, the script not run",
      clause="TS 102 225 §5.1.1 (CC), §5.2 (status 01)",
      mutation=mutation("the ENVELOPE answers 9000 without a PoR", ENVELOPE, replace(b"", 0x9000)))
def wrong_kid(s: Session) -> None:
    good = keyset(s)
    start(s)
    bad = OtaKeyset(good.kvn, good.kic_algorithm, good.kic, good.kid_algorithm, bytes(b ^ 0xFF for b in good.kid))
    por, _ = send_packet(s, [bytes.fromhex("80CAFF2100")], keys=bad)
    s.check(por.status == POR_CC_FAILED, f"PoR status {por.status:02X}, expected 01")
    s.check(not por.data, "a script ran although its CC was wrong")


@case("TC_SCP80.TAR#E01", suite="m2m", group="SCP80", title="an unknown TAR: PoR status 09",
      clause="TS 102 225 §5.2 (status 09 TAR unknown), SGP.02 Annex H",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def unknown_tar(s: Session) -> None:
    start(s)
    por, _ = send_packet(s, [bytes.fromhex("80CAFF2100")], tar=bytes.fromhex("00FFFE"))
    s.check(por.status == POR_TAR_UNKNOWN, f"PoR status {por.status:02X}, expected 09")


@case("TC_eUICC_ES5.CreateISDP#01", suite="m2m", group="ES5", title="CreateISDP, listed not enabled; DeleteProfile removes it",
      clause="SGP.02 §5.4.1 / §4.1.1.1 (INSTALL for install and make selectable), §5.4.6 (DeleteProfile), GP CS §11.5, §11.2",
      restores="deletes the ISD-P it created",
      mutation=mutation("a bit of every PoR flips (its CC fails)", ENVELOPE, flip(-3)))
def create_and_delete(s: Session) -> None:
    start(s)
    aid = isdp(TEST_TAR)
    s.require(all(a != aid for a, _ in get_status(s)), f"ISD-P {aid.hex().upper()} already exists")
    rapdus = script(s, [create_isdp_apdu(aid)])
    s.on_exit("DELETE the ISD-P", lambda: script(s, [delete_apdu(aid)]))
    s.check(sw_of(rapdus[-1]) == 0x9000, f"INSTALL answered {sw_of(rapdus[-1]):04X}")
    state = dict(get_status(s)).get(aid)
    s.check(state is not None and state != LCS_ENABLED, f"the new ISD-P is listed with state {state}")
    deleted = script(s, [delete_apdu(aid)])
    s.check(sw_of(deleted[-1]) == 0x9000, f"DELETE answered {sw_of(deleted[-1]):04X}")
    s.check(aid not in dict(get_status(s)), "the deleted ISD-P is still listed")


def enabled_isdp(s: Session) -> bytes:
    enabled = [a for a, lcs in get_status(s) if lcs == LCS_ENABLED]
    s.require(len(enabled) == 1, "no enabled ISD-P")
    return enabled[0]


@case("TC_eUICC_ES5.DeleteProfile#E01", suite="m2m", group="ES5", title="DELETE of the enabled ISD-P is refused",
      clause="SGP.02 §5.4.6, §3.5 (only a disabled profile is deleted), GP CS §11.2",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def delete_enabled(s: Session) -> None:
    start(s)
    aid = enabled_isdp(s)
    rapdus = script(s, [delete_apdu(aid)])
    s.check(sw_of(rapdus[-1]) in (0x6985, 0x6A88), f"DELETE of the enabled ISD-P answered {sw_of(rapdus[-1]):04X}")
    s.check(aid in dict(get_status(s)), "the enabled ISD-P is gone")


def dgi_apdu(dgi: int, aid: bytes) -> bytes:
    """STORE DATA P1 88 (last block, DGI format) DGI {4F AID} (SGP.02 §4.1.1.2-§4.1.1.3)."""
    body = dgi.to_bytes(2, "big") + bytes([len(aid) + 2]) + tlv.encode(0x4F, aid)
    return bytes([0x80, 0xE2, 0x88, 0x00, len(body)]) + body + b"\x00"


def refused_for_unknown_isdp(s: Session, dgi: int, function: str) -> None:
    """The ES5 function `dgi` naming an ISD-P the card does not hold: '6A88' (or '6A80')."""
    start(s)
    rapdus = script(s, [dgi_apdu(dgi, isdp(bytes.fromhex("00FFFD")))])
    s.check(sw_of(rapdus[-1]) in (0x6A88, 0x6A80), f"{function} of an unknown ISD-P answered {sw_of(rapdus[-1]):04X}")


@case("TC_eUICC_ES5.EnableProfile#E01", suite="m2m", group="ES5", title="EnableProfile of an unknown ISD-P is refused",
      clause="SGP.02 §5.4.2, §4.1.1.2 (DGI 3A03)",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def enable_unknown(s: Session) -> None:
    refused_for_unknown_isdp(s, 0x3A03, "EnableProfile")


@case("TC_eUICC_ES5.DisableProfile#E01", suite="m2m", group="ES5", title="DisableProfile of an unknown ISD-P is refused",
      clause="SGP.02 §5.4.3, §4.1.1.3 (DGI 3A04)",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def disable_unknown(s: Session) -> None:
    refused_for_unknown_isdp(s, 0x3A04, "DisableProfile")


@case("TC_eUICC_ES5.SetFallBackAttribute#E01", suite="m2m", group="ES5", title="SetFallBackAttribute of an unknown ISD-P is refused",
      clause="SGP.02 §5.4.8, §4.1.1.7 (DGI 3A05)",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def fallback_unknown(s: Session) -> None:
    refused_for_unknown_isdp(s, 0x3A05, "SetFallBackAttribute")
    s.check(sum(lcs == LCS_ENABLED for _, lcs in get_status(s)) == 1, "the refused command changed the enabled profile")
