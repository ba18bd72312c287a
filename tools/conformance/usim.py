"""USIM basics on the enabled profile: the file system (ETSI TS 102 221 §8, §11.1.1-§11.1.3),
PIN rules (§9, §11.1.9-§11.1.10) and AUTHENTICATE (3GPP TS 31.102 §7.1.2) with the published
3GPP TS 35.208 Milenage test set 1 (K / OPc from the card description).

Identifiers ``TC_UICC_<command>#<sequence>`` / ``TC_USIM_<command>#<sequence>`` are our labels
(SGP.23 does not test the profile's file system this way; ETSI TS 102 230 / 3GPP TS 31.121 do).
"""
from __future__ import annotations

import re
import shutil
import subprocess

from tools import ber_tlv as tlv
from tools.conformance.es10c import iccid_bytes
from tools.conformance.mutation import command, flip, flip_value_of, mutation, replace, status
from tools.conformance.model import Fail, Inconclusive, case
from tools.conformance.session import SW_OK, Session

# 3GPP TS 35.208 §4.3 test set 1 (the outputs f1..f5 for RAND / SQN / AMF with the described K, OPc)
TS35208_SET1 = {
    "K": "465b5ce8b199b49faa5f0a2ee238a6bc", "OPc": "cd63cb71954a9f4e48a5994e37a02baf",
    "RAND": "23553cbe9637a89d218ae64dae47bf35", "SQN": "ff9bb4d0b607", "AMF": "b9b9",
    "f1": "4a9ffac354dfafb3", "f2": "a54211d5e3ba50bf", "f3": "b40ba9a3c58b2a05bbf0d987b21bf8cb",
    "f4": "f769bcd751044604127672711c6d3441", "f5": "aa689c648370", "f5*": "451e8beca43b",
}
SW_SECURITY, SW_NOT_FOUND, SW_WRONG_LENGTH, SW_MAC_FAILURE = 0x6982, 0x6A82, 0x6700, 0x9862
USIM_TEMPLATE_AID = bytes.fromhex("A0000000871002")   # TS 101 220 Annex E: 3GPP USIM application code


def select_path(s: Session, *fids: str) -> bytes:
    """SELECT by FID from the MF (TS 102 221 §11.1.1, P2 04: return FCP)."""
    data = b""
    for fid in fids:
        s.step(f"SELECT {fid}")
        data = s.expect_sw(s.send(f"00A4000402{fid}00"), SW_OK, what=f"SELECT {fid}").data
    return data


def usim_aid(s: Session) -> bytes:
    """The USIM's AID from EF.DIR (TS 102 221 §13.1: records of application templates 61 / 4F)."""
    select_path(s, "3F00", "2F00")
    for record in range(1, 9):
        s.step(f"READ RECORD {record} of EF.DIR")
        response = s.send(f"00B2{record:02X}0400")
        if response.sw != SW_OK:
            break
        try:
            aid = tlv.find(tlv.unwrap(response.data.rstrip(b"\xff"), 0x61), 0x4F)
        except tlv.TlvError:
            raise Fail(f"EF.DIR record {record} is not an application template") from None
        if aid and aid.startswith(USIM_TEMPLATE_AID):
            return aid
    raise Inconclusive("EF.DIR lists no USIM")


def select_usim(s: Session) -> None:
    aid = usim_aid(s)
    s.step("SELECT ADF.USIM")
    s.expect_sw(s.send(bytes([0x00, 0xA4, 0x04, 0x04, len(aid)]) + aid + b"\x00"), SW_OK, what="SELECT ADF.USIM")


def pin_block(pin: str) -> bytes:
    """TS 102 221 §9.5.1: PIN digits in ASCII, padded with FF to 8 bytes."""
    return pin.encode().ljust(8, b"\xff")


def pin(s: Session, name: str) -> str:
    value = s.card.pins.get(name)
    s.require(bool(value), f"the card description has no {name}")
    return value  # type: ignore[return-value]


def pin_status(s: Session, reference: int = 0x01) -> int:
    s.step(f"VERIFY PIN {reference:02X} status (no data)")
    return s.send(f"002000{reference:02X}").sw


def verify(s: Session, value: str, reference: int = 0x01) -> int:
    s.step(f"VERIFY PIN {reference:02X}")
    return s.send(bytes([0x00, 0x20, 0x00, reference, 8]) + pin_block(value)).sw


@case("TC_UICC_Select_MF#01", group="USIM", title="SELECT MF: an FCP with file identifier 3F00",
      clause="TS 102 221 §11.1.1.3, §11.1.1.4.3",
      mutation=mutation("the FCP's file identifier changes", command(0xA4, 0x00, 0x04, bytes.fromhex("3F00")),
                        flip_value_of(0x83, 1)))
def select_mf(s: Session) -> None:
    fcp = select_path(s, "3F00")
    s.check(fcp[:1] == b"\x62", f"FCP starts with {fcp[:1].hex()}, not 62")
    s.check(tlv.find(tlv.unwrap(fcp, 0x62), 0x83) == b"\x3f\x00", "FCP 83 is not 3F00")


@case("TC_UICC_Select_Unknown#01", group="USIM", title="SELECT of a file that does not exist answers 6A82",
      clause="TS 102 221 §11.1.1, §10.2.1.5",
      mutation=mutation("the unknown file is found", command(0xA4, 0x00, 0x04, bytes.fromhex("7F77")), replace(b"", SW_OK)))
def select_unknown(s: Session) -> None:
    select_path(s, "3F00")
    s.step("SELECT 7F77")
    s.expect_sw(s.send("00A40004027F7700"), SW_NOT_FOUND, what="SELECT 7F77")


@case("TC_UICC_ReadBinary_ICCID#01", group="USIM", title="EF.ICCID holds the described ICCID",
      clause="TS 102 221 §13.2, §11.1.3",
      mutation=mutation("the ICCID changes", command(0xB0), flip(0)))
def read_iccid(s: Session) -> None:
    s.require(bool(s.card.iccid), "the card description names no ICCID")
    select_path(s, "3F00", "2FE2")
    s.step("READ BINARY")
    data = s.expect_sw(s.send("00B000000A"), SW_OK, what="READ BINARY EF.ICCID").data
    s.check(data == iccid_bytes(s.card.iccid or ""), f"EF.ICCID {data.hex().upper()}")


@case("TC_UICC_ReadBinary_Offset#01", group="USIM", title="READ BINARY past the end of EF.ICCID is refused",
      clause="TS 102 221 §11.1.3.1 (offset beyond the file: 6B00)",
      mutation=mutation("the read answers 9000", command(0xB0, 0x00, 0x20), replace(b"", SW_OK)))
def read_past_end(s: Session) -> None:
    select_path(s, "3F00", "2FE2")
    s.step("READ BINARY offset 0020")
    s.expect_sw(s.send("00B0002001"), 0x6B00, what="READ BINARY past the end")


@case("TC_UICC_UpdateBinary_ICCID#01", group="USIM", title="UPDATE BINARY of EF.ICCID is refused (ADM / never)",
      clause="TS 102 221 §13.2 (access: update ADM), §11.1.4",
      mutation=mutation("the update answers 9000", command(0xD6), replace(b"", SW_OK)))
def update_iccid(s: Session) -> None:
    select_path(s, "3F00", "2FE2")
    s.step("UPDATE BINARY")
    s.expect_sw(s.send("00D6000001FF"), SW_SECURITY, 0x6986, what="UPDATE BINARY EF.ICCID")


@case("TC_UICC_EFDIR#01", group="USIM", title="EF.DIR lists a USIM application",
      clause="TS 102 221 §13.1, TS 101 220 Annex E",
      mutation=mutation("EF.DIR's application template breaks", command(0xB2), replace(bytes.fromhex("61FF"), SW_OK)))
def ef_dir(s: Session) -> None:
    s.summary = f"USIM {usim_aid(s).hex().upper()}"


@case("TC_USIM_Select#01", group="USIM", title="SELECT ADF.USIM by the AID of EF.DIR",
      clause="TS 102 221 §11.1.1, TS 31.102 §4.1",
      mutation=mutation("SELECT ADF.USIM answers 6A82", command(0xA4, 0x04, 0x04), status(SW_NOT_FOUND)))
def select_adf(s: Session) -> None:
    select_usim(s)


@case("TC_UICC_Verify_Status#01", group="USIM", title="VERIFY without data: 63Cx retries, or 9000 when not needed",
      clause="TS 102 221 §11.1.9.1",
      mutation=mutation("the status answers 6A88", command(0x20, 0x00, 0x01), status(0x6A88)))
def verify_status(s: Session) -> None:
    select_usim(s)
    sw = pin_status(s)
    s.check(sw == SW_OK or sw & 0xFFF0 == 0x63C0, f"VERIFY status answered {sw:04X}")
    s.summary = "PIN1 not required" if sw == SW_OK else f"PIN1: {sw & 0x0F} tries left"


@case("TC_UICC_Verify_PIN1#01", group="USIM", title="the described PIN1 verifies",
      clause="TS 102 221 §11.1.9, §9.5.1",
      mutation=mutation("VERIFY answers 63C2", command(0x20, 0x00, 0x01), status(0x63C2)))
def verify_pin1(s: Session) -> None:
    select_usim(s)
    s.expect_sw(s.send(bytes([0x00, 0x20, 0x00, 0x01, 8]) + pin_block(pin(s, "pin1"))), SW_OK, what="VERIFY PIN1")


@case("TC_UICC_Verify_PIN#E01", group="USIM", title="a wrong PIN costs one try; the right one restores the counter",
      clause="TS 102 221 §11.1.9, §9.5.1", restores="verifies the right PIN, which resets the counter",
      mutation=mutation("a wrong PIN is accepted", command(0x20, 0x00, None, pin_block("9876")), replace(b"", SW_OK)))
def wrong_pin(s: Session) -> None:
    select_usim(s)
    candidates = [(0x01, "pin1"), (0x81, "pin2")]
    enabled = [(ref, name, sw) for ref, name in candidates if s.card.pins.get(name)
               for sw in [pin_status(s, ref)] if sw & 0xFFF0 == 0x63C0 and sw & 0x0F >= 2]
    s.require(bool(enabled), "neither PIN1 nor PIN2 is enabled with 2+ tries")
    reference, name, before = enabled[0]
    right = s.card.pins[name]
    s.on_exit(f"VERIFY the right {name}", lambda: verify(s, right, reference))
    wrong = "9876" if right != "9876" else "1234"
    sw = verify(s, wrong, reference)
    s.check(sw == before - 1, f"wrong {name} answered {sw:04X}, expected {before - 1:04X}")
    s.check(verify(s, right, reference) == SW_OK, f"the right {name} is refused")
    s.check(pin_status(s, reference) == SW_OK, f"after the right {name} the status is not 9000")
    s.summary = f"{name}: {before & 0x0F} -> {sw & 0x0F} -> verified"


@case("TC_UICC_Verify_PIN2#01", group="USIM", title="the described PIN2 verifies",
      clause="TS 102 221 §11.1.9, §9.5.1 (key reference 81)",
      mutation=mutation("VERIFY PIN2 answers 6A88", command(0x20, 0x00, 0x81), status(0x6A88)))
def verify_pin2(s: Session) -> None:
    select_usim(s)
    s.expect_sw(s.send(bytes([0x00, 0x20, 0x00, 0x81, 8]) + pin_block(pin(s, "pin2"))), SW_OK, 0x6984,
                what="VERIFY PIN2")


@case("TC_UICC_Verify_Length#E01", group="USIM", title="VERIFY with 4 data bytes answers 6700",
      clause="TS 102 221 §11.1.9 (Lc = 08), §10.2.1.5",
      mutation=mutation("the short VERIFY answers 9000", command(0x20, 0x00, 0x01, bytes.fromhex("30303030")),
                        replace(b"", SW_OK)))
def verify_wrong_length(s: Session) -> None:
    select_usim(s)
    s.step("VERIFY PIN1 with Lc 04")
    s.expect_sw(s.send("002000010430303030"), SW_WRONG_LENGTH, what="VERIFY Lc 04")


@case("TC_UICC_Verify_Reference#E01", group="USIM", title="VERIFY of an undefined key reference is refused",
      clause="TS 102 221 §11.1.9 (key references §9.5.1), §10.2.1.5",
      mutation=mutation("reference 05 answers 9000", command(0x20, 0x00, 0x05), replace(b"", SW_OK)))
def verify_bad_reference(s: Session) -> None:
    select_usim(s)
    s.step("VERIFY reference 05")
    response = s.send("0020000508" + pin_block("0000").hex())
    s.check(response.sw in (0x6A88, 0x6A86, 0x6B00), f"reference 05 answered {response.sw:04X}, expected 6A88/6A86/6B00")


@case("TC_USIM_ReadBinary_IMSI#01", group="USIM", title="EF.IMSI holds the described IMSI (after PIN1 when required)",
      clause="TS 31.102 §4.2.2, TS 102 221 §11.1.3",
      mutation=mutation("an IMSI digit changes", command(0xB0, 0x00, 0x00, None), flip(3)))
def read_imsi(s: Session) -> None:
    imsi = str(s.card.usim.get("imsi") or "")
    s.require(bool(imsi), "the card description has no IMSI")
    select_usim(s)
    if pin_status(s) != SW_OK:
        s.expect_sw(s.send(bytes([0x00, 0x20, 0x00, 0x01, 8]) + pin_block(pin(s, "pin1"))), SW_OK, what="VERIFY PIN1")
    s.step("SELECT EF.IMSI")
    s.expect_sw(s.send("00A40004026F0700"), SW_OK, what="SELECT EF.IMSI")
    s.step("READ BINARY")
    data = s.expect_sw(s.send("00B0000009"), SW_OK, what="READ BINARY EF.IMSI").data
    digits = "9" + imsi if len(imsi) % 2 else "1" + imsi   # TS 31.102 §4.2.2: parity nibble, then digits
    digits = digits.ljust(16, "F")
    expected = bytes([(len(imsi) + 2) // 2]) + bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, 16, 2))
    s.check(data == expected, f"EF.IMSI {data.hex().upper()}, expected {expected.hex().upper()}")


def authenticate_apdu(rand: bytes, autn: bytes) -> bytes:
    """TS 31.102 §7.1.2: 3G context (P2 81), data = L RAND L AUTN."""
    body = bytes([len(rand)]) + rand + bytes([len(autn)]) + autn
    return bytes([0x00, 0x88, 0x00, 0x81, len(body)]) + body + b"\x00"


def ts35208_autn(mac: bytes | None = None) -> bytes:
    v = {k: bytes.fromhex(x) for k, x in TS35208_SET1.items()}
    sqn_ak = bytes(a ^ b for a, b in zip(v["SQN"], v["f5"]))
    return sqn_ak + v["AMF"] + (mac if mac is not None else v["f1"])


def check_described_keys(s: Session) -> None:
    for name, key in (("k", "K"), ("opc", "OPc")):
        s.require(s.card.usim.get(name) == bytes.fromhex(TS35208_SET1[key]),
                  f"the described USIM {key} is not TS 35.208 test set 1's")


@case("TC_USIM_Authenticate#01", group="USIM", title="AUTHENTICATE with TS 35.208 test set 1: RES, CK, IK",
      clause="TS 31.102 §7.1.2.1, TS 35.208 §4.3 test set 1, TS 33.102 §6.3.3",
      mutation=mutation("a RES byte changes", command(0x88, 0x00, 0x81), flip(2)))
def authenticate(s: Session) -> None:
    check_described_keys(s)
    select_usim(s)
    if pin_status(s) != SW_OK:
        verify(s, pin(s, "pin1"))
    s.step("AUTHENTICATE 3G context")
    response = s.expect_sw(s.send(authenticate_apdu(bytes.fromhex(TS35208_SET1["RAND"]), ts35208_autn())), SW_OK,
                           what="AUTHENTICATE")
    v = {k: bytes.fromhex(x) for k, x in TS35208_SET1.items()}
    expected = b"\xdb" + b"\x08" + v["f2"] + b"\x10" + v["f3"] + b"\x10" + v["f4"]
    if response.data[:1] == b"\xdc":   # TS 33.102 Annex C: a card may refuse an SQN this far ahead
        s.check(len(response.data) == 16 and response.data[1] == 0x0E, "synchronisation failure without a 14-byte AUTS")
        auts = response.data[2:16]
        s.note("AUTS checked and the next AUTN made by osmo-auc-gen (libosmocore, an independent Milenage)")
        out = osmo_auc_gen(s, "-A", auts.hex())
        s.check("SQN.MS" in out and "incorrect" not in out[""], f"AUTS {auts.hex()} does not verify (MAC-S) with K/OPc of test set 1")
        s.step("AUTHENTICATE 3G context, SQN after resynchronisation")
        response = s.expect_sw(s.send(authenticate_apdu(v["RAND"], bytes.fromhex(out["AUTN"]))), SW_OK,
                               what="AUTHENTICATE after resynchronisation")
        s.summary = f"resynchronised (AUTS verified, SQN.MS {out['SQN.MS']}), then accepted SQN {out.get('SQN', '?')}"
    s.check(response.data[:len(expected)] == expected,
            f"AUTHENTICATE answered {response.data.hex().upper()}, expected {expected.hex().upper()}...")


def osmo_auc_gen(s: Session, *args: str) -> dict[str, str]:
    """Run Debian's osmo-auc-gen (Milenage, K / OPc / RAND of test set 1); its ``Name: value`` lines
    (the free text under key "")."""
    tool = shutil.which("osmo-auc-gen")
    s.require(tool is not None, "osmo-auc-gen (Debian libosmocore-utils) is not installed")
    done = subprocess.run([tool, "-3", "-a", "milenage", "-k", TS35208_SET1["K"], "-o", TS35208_SET1["OPc"],  # type: ignore[list-item]
                           "-r", TS35208_SET1["RAND"], *args], capture_output=True, text=True, timeout=30)
    out = {m.group(1): m.group(2) for m in re.finditer(r"^([\w .]+):\s*([0-9a-fA-F]+)$", done.stdout, re.M)}
    out[""] = done.stdout + done.stderr
    return out


@case("TC_USIM_Authenticate#E01", group="USIM", title="AUTHENTICATE with a wrong MAC-A answers 9862",
      clause="TS 31.102 §7.1.2.1, §7.3 (9862 authentication error, incorrect MAC)",
      mutation=mutation("the wrong MAC is accepted", command(0x88, 0x00, 0x81), replace(b"\xdb\x08" + bytes(8), SW_OK)))
def authenticate_bad_mac(s: Session) -> None:
    check_described_keys(s)
    select_usim(s)
    if pin_status(s) != SW_OK:
        verify(s, pin(s, "pin1"))
    s.step("AUTHENTICATE with MAC-A XOR 01")
    mac = bytearray(bytes.fromhex(TS35208_SET1["f1"]))
    mac[-1] ^= 0x01
    s.expect_sw(s.send(authenticate_apdu(bytes.fromhex(TS35208_SET1["RAND"]), ts35208_autn(bytes(mac)))),
                SW_MAC_FAILURE, what="AUTHENTICATE, wrong MAC")
