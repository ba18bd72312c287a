"""Hand-built file systems (TS 102 221 §13, TS 31.102 §4): the MF of the eUICC with no profile
enabled, and the "minimal" first profile (``euicc-emu run --first-profile minimal``; the unit
tests' card).  The default first profile is a SAIP package instead (euicc.provisioning).

The minimal profile is a small but complete UICC: the MF with EF.DIR, EF.ICCID, EF.PL, EF.ARR and EF.UMPC, DF.TELECOM
with a linear fixed and a cyclic EF, and ADF.USIM with EF.IMSI, EF.AD, EF.UST, EF.ACM (cyclic),
EF.SMS, EF.LOCI and the BER-TLV structured EF.IMSConfigData, guarded by PIN1, PIN2 and ADM1
through EF.ARR.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from euicc import tlv
from euicc.aids import ECASD_AID, ISD_R_AID
from euicc.auth import subscription
from euicc.fs import keys as fs_keys
from euicc.fs.filesystem import FileSystem
from euicc.fs.model import ADF, BERTLV, CYCLIC, DF, EF, LINEAR, MF, TRANSPARENT, FileDescriptor
from euicc.fs.pin import PinService, PinState, pad_pin

USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")

PIN1, PIN2, ADM1 = 0x01, 0x81, 0x0A


def _sc(ref: int) -> bytes:
    """SC_DO: user authentication with key reference `ref` (TS 102 221 §9.2.4)."""
    return tlv.tlv(0xA4, tlv.tlv(0x83, bytes((ref,))) + tlv.tlv(0x95, b"\x08"))


_ALW = tlv.tlv(0x90, b"")
# EF.ARR records (TS 102 221 §9.2.4, expanded format): '80' access mode byte, then the condition
ARR_RECORDS = (
    tlv.tlv(0x80, b"\x01") + _ALW + tlv.tlv(0x80, b"\x7E") + _sc(ADM1),            # 1 read ALW, rest ADM
    tlv.tlv(0x80, b"\x03") + _sc(PIN1) + tlv.tlv(0x80, b"\x7C") + _sc(ADM1),        # 2 read/update PIN1
    tlv.tlv(0x80, b"\x01") + _ALW + tlv.tlv(0x80, b"\x02") + _sc(PIN1)
    + tlv.tlv(0x80, b"\x7C") + _sc(ADM1),                                            # 3 read ALW, upd PIN1
    tlv.tlv(0x80, b"\x01") + _sc(PIN1) + tlv.tlv(0x80, b"\x7E") + _sc(ADM1),        # 4 read PIN1, upd ADM
    tlv.tlv(0x80, b"\x03") + _sc(PIN1) + tlv.tlv(0x84, b"\x32") + _sc(PIN1)
    + tlv.tlv(0x80, b"\x7C") + _sc(ADM1),                                            # 5 + INCREASE PIN1
    tlv.tlv(0x80, b"\x01") + _sc(PIN1) + tlv.tlv(0x80, b"\x02") + _sc(PIN2)
    + tlv.tlv(0x80, b"\x7C") + _sc(ADM1),                                            # 6 read PIN1, upd PIN2
)
ARR_RECORD_LENGTH = 48
# EF.IMSConfigData (TS 31.102 §4.2.102, BER-TLV structured): encoding '80' and data '81'
IMS_CONFIG_DATA = tlv.tlv(0x80, b"\x00") + tlv.tlv(0x81, b"test")


@dataclass(frozen=True)
class Subscription:
    """The values a default card is personalised with."""

    iccid: str = "8988100000000000003"
    imsi: str = "001010000000001"
    pin1: str = "0000"
    pin2: str = "9999"
    puk1: str = "11111111"
    puk2: str = "22222222"
    adm1: str = "55555555"
    # 3GPP TS 35.208 test set 1 (Milenage)
    k: bytes = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
    opc: bytes = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")


def luhn(digits: str) -> str:
    """`digits` followed by its Luhn check digit (ITU-T E.118 ICCIDs)."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return digits + str((10 - total % 10) % 10)


def swap_nibbles(digits: str) -> bytes:
    """BCD with swapped nibbles, 'F'-padded (TS 102 221 §13.2 EF.ICCID)."""
    s = digits + "F" * (len(digits) % 2)
    return bytes.fromhex("".join(s[i + 1] + s[i] for i in range(0, len(s), 2)))


def encode_imsi(imsi: str) -> bytes:
    """EF.IMSI (TS 31.102 §4.2.2): length, then parity nibble '9'/'1' and the digits."""
    parity = "9" if len(imsi) % 2 else "1"
    body = swap_nibbles(parity + imsi)
    return bytes((len(body),)) + (body + b"\xff" * 8)[:8]


_LABELS = {ISD_R_AID: "ISD-R", ECASD_AID: "ECASD"}


def _dir_record(aid: bytes, label: str) -> bytes:
    """An application template '61': AID '4F' and, when known, the label '50' (TS 102 221 §13.1)."""
    body = tlv.tlv(0x4F, aid) + (tlv.tlv(0x50, label.encode()) if label else b"")
    return tlv.tlv(0x61, body)


def build_no_profile(fs: FileSystem, ef_dir_aids: Sequence[bytes] | None = None) -> None:
    """The MF a terminal sees while no profile is enabled; EF.DIR (TS 102 221 §13.1) lists
    `ef_dir_aids` (default: the ISD-R and the ECASD), with a label for the applications known here."""
    aids = tuple(ef_dir_aids) if ef_dir_aids is not None else (ISD_R_AID, ECASD_AID)
    mf = fs.create(None, FileDescriptor(0x3F00, MF, arr=(0x2F06, 1), size=0x400))
    fs.create(mf, FileDescriptor(0x2F06, EF, LINEAR, ARR_RECORD_LENGTH, ARR_RECORD_LENGTH,
                                 sfi=6, arr=(0x2F06, 1)), ARR_RECORDS[:1])
    records = [_dir_record(aid, _LABELS.get(aid, "")) for aid in aids]
    fs.create(mf, FileDescriptor(0x2F00, EF, LINEAR, max(1, len(records)) * 40, 40, sfi=30, arr=(0x2F06, 1)),
              records)
    fs.create(mf, FileDescriptor(0x2F05, EF, TRANSPARENT, 10, sfi=5, arr=(0x2F06, 1)), b"en")


def build(fs: FileSystem, sub: Subscription = Subscription()) -> None:
    """Create the default profile's file system in `fs` (inside the caller's transaction)."""
    mf = fs.create(None, FileDescriptor(0x3F00, MF, arr=(0x2F06, 1), size=0x4000,
                                        pins=(PIN1, ADM1)))
    fs.create(mf, FileDescriptor(0x2F06, EF, LINEAR, ARR_RECORD_LENGTH * len(ARR_RECORDS),
                                 ARR_RECORD_LENGTH, sfi=6, arr=(0x2F06, 1)), ARR_RECORDS)
    fs.create(mf, FileDescriptor(0x2F00, EF, LINEAR, 4 * 40, 40, sfi=30, arr=(0x2F06, 1)),
              [_dir_record(USIM_AID, "USIM"), _dir_record(ISD_R_AID, "ISD-R"),
               _dir_record(ECASD_AID, "ECASD")])
    fs.create(mf, FileDescriptor(0x2FE2, EF, TRANSPARENT, 10, sfi=2, arr=(0x2F06, 1)),
              swap_nibbles(luhn(sub.iccid)))
    fs.create(mf, FileDescriptor(0x2F05, EF, TRANSPARENT, 10, sfi=5, arr=(0x2F06, 3)), b"en")
    fs.create(mf, FileDescriptor(0x2F08, EF, TRANSPARENT, 5, sfi=8, arr=(0x2F06, 1)),
              b"\x3c\x05\x02\x00\x00")
    telecom = fs.create(mf, FileDescriptor(0x7F10, DF, arr=(0x2F06, 1), size=0x1000,
                                           pins=(PIN1, PIN2, ADM1)))
    fs.create(telecom, FileDescriptor(0x6F3A, EF, LINEAR, 10 * 30, 30, arr=(0x2F06, 2)))
    fs.create(telecom, FileDescriptor(0x6F44, EF, CYCLIC, 5 * 30, 30, arr=(0x2F06, 2)))
    usim = fs.create(None, FileDescriptor(0x7FF0, ADF, aid=USIM_AID, arr=(0x6F06, 1),
                                          size=0x2000, pins=(PIN1, PIN2, ADM1)))
    fs.create(usim, FileDescriptor(0x6F06, EF, LINEAR, ARR_RECORD_LENGTH * len(ARR_RECORDS),
                                   ARR_RECORD_LENGTH, sfi=0x17, arr=(0x6F06, 1)), ARR_RECORDS)
    fs.create(usim, FileDescriptor(0x6F07, EF, TRANSPARENT, 9, sfi=7, arr=(0x6F06, 4)),
              encode_imsi(sub.imsi))
    fs.create(usim, FileDescriptor(0x6FAD, EF, TRANSPARENT, 4, sfi=3, arr=(0x6F06, 1)),
              b"\x00\x00\x00\x02")
    fs.create(usim, FileDescriptor(0x6F38, EF, TRANSPARENT, 4, sfi=4, arr=(0x6F06, 4)),
              b"\x0e\x00\x00\x00")
    fs.create(usim, FileDescriptor(0x6F39, EF, CYCLIC, 5 * 3, 3, arr=(0x6F06, 5)))
    fs.create(usim, FileDescriptor(0x6F3C, EF, LINEAR, 10 * 176, 176, arr=(0x6F06, 2)),
              [b"\x00"] * 10)
    fs.create(usim, FileDescriptor(0x6F7E, EF, TRANSPARENT, 11, sfi=0x0B, arr=(0x6F06, 2)),
              bytes.fromhex("ffffffff00f110fffeff01"))
    fs.create(usim, FileDescriptor(0x6F3B, EF, LINEAR, 5 * 30, 30, arr=(0x6F06, 6)))
    fs.create(usim, FileDescriptor(0x6FF8, EF, BERTLV, 600, sfi=0x10, arr=(0x6F06, 4)),
              IMS_CONFIG_DATA)
    pins = {
        PIN1: PinState(pad_pin(sub.pin1), 3, enabled=False, puk=pad_pin(sub.puk1)),
        PIN2: PinState(pad_pin(sub.pin2), 3, enabled=True, puk=pad_pin(sub.puk2),
                       can_disable=False),
        ADM1: PinState(pad_pin(sub.adm1), 10, max_retries=10, can_disable=False),
    }
    fs.store.put(fs_keys.aka(fs.fsid, USIM_AID),
                 subscription.AkaSubscription(subscription.MILENAGE, sub.k, sub.opc))
    service = PinService(fs.store, fs.fsid, set())
    for ref, pin in pins.items():
        service.set(ref, pin)
