"""The UICC file model: ETSI TS 102 221 §8 (file types) and §11.1.1.3-4 (FCP template).

A file is a frozen :class:`FileDescriptor` stored under ``fs/<fsid>/n/<path>``; its contents under
``fs/<fsid>/d/<path>`` (bytes for a transparent EF, a tuple of records otherwise).  Paths are the
FIDs from the MF (``3F00/7F10/6F3A``); an ADF's path starts with ``ADF:<AID hex>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from euicc.tlv import tlv

MF_FID = 0x3F00
CURRENT_ADF_FID = 0x7FFF

# TS 102 221 §11.1.1.4.9 life cycle status integer
LCSI_CREATION = 0x01
LCSI_INITIALISATION = 0x03
LCSI_ACTIVATED = 0x05
LCSI_DEACTIVATED = 0x04
LCSI_TERMINATED = 0x0C

TRANSPARENT, LINEAR, CYCLIC, BERTLV = "transparent", "linear", "cyclic", "bertlv"
MF, DF, ADF, EF = "MF", "DF", "ADF", "EF"

# TS 102 221 §11.1.1.4.3 file descriptor byte, structure bits (b6 "shareable" added separately)
_FDB = {TRANSPARENT: 0x01, LINEAR: 0x02, CYCLIC: 0x06, BERTLV: 0x39}


@dataclass(frozen=True, slots=True)
class FileDescriptor:
    """One file of the UICC file system (TS 102 221 §8.2, §11.1.1.4)."""
    RECORD_TYPE: ClassVar[str] = "FileDescriptor"   # its stable id in the store (euicc.nvm_codec.Codec)

    fid: int
    kind: str                            # MF, DF, ADF or EF
    structure: str = ""                  # EFs: transparent, linear, cyclic, bertlv
    size: int = 0                        # transparent: bytes; records: record_length * records
    record_length: int = 0
    sfi: int | None = None               # short file identifier 1..30, None = not supported
    lcsi: int = LCSI_ACTIVATED
    arr: tuple[int, int] | None = None   # security attributes: (EF.ARR FID, record) -> tag 8B
    aid: bytes = b""                     # DF name (ADF AID)
    children: tuple[int, ...] = ()       # child FIDs of an MF/DF/ADF
    shareable: bool = True
    pins: tuple[int, ...] = ()           # key references in the DF's PIN status template

    @property
    def is_df(self) -> bool:
        return self.kind != EF

    @property
    def records(self) -> int:
        return self.size // self.record_length if self.record_length else 0

    @property
    def is_record(self) -> bool:
        return self.structure in (LINEAR, CYCLIC)


def child_path(parent: str, fid: int) -> str:
    return f"{parent}/{fid:04X}"


def adf_path(aid: bytes) -> str:
    return "ADF:" + aid.hex().upper()


def parent_path(path: str) -> str:
    """Path of the parent DF; the MF and ADFs are their own roots ('' = none)."""
    return path.rpartition("/")[0]


def fcp(desc: FileDescriptor, pin_enabled: dict[int, bool], used: int = 0) -> bytes:
    """The FCP template '62' of TS 102 221 §11.1.1.3; `used`: the bytes a BER-TLV structured EF's
    data objects take (its file size '80', §11.1.1.4.1), whose maximum is in 'A5' (§11.1.1.4.6)."""
    share = 0x40 if desc.shareable else 0x00
    if desc.is_df:
        body = tlv(0x82, bytes((share | 0x38, 0x21)))
    elif desc.is_record:
        body = tlv(0x82, bytes((share | _FDB[desc.structure], 0x21))
                   + desc.record_length.to_bytes(2, "big") + bytes((desc.records,)))
    else:
        body = tlv(0x82, bytes((share | _FDB[desc.structure], 0x21)))
    body += tlv(0x83, (CURRENT_ADF_FID if desc.kind == ADF else desc.fid).to_bytes(2, "big"))
    if desc.aid:
        body += tlv(0x84, desc.aid)
    if desc.structure == BERTLV:   # file details '84': DER coding only; maximum file size '86'
        body += tlv(0xA5, tlv(0x84, b"\x01") + tlv(0x86, desc.size.to_bytes(2, "big")))
    if desc.is_df:
        prop = tlv(0x80, b"\x71") if desc.kind == MF else b""
        body += tlv(0xA5, prop) if prop else b""
    body += tlv(0x8A, bytes((desc.lcsi,)))
    if desc.arr is not None:
        body += tlv(0x8B, desc.arr[0].to_bytes(2, "big") + bytes((desc.arr[1],)))
    if desc.is_df:
        if desc.pins:
            body += _pin_status_template(desc.pins, pin_enabled)
        body += tlv(0x81, desc.size.to_bytes(2, "big"))
    else:
        size = used if desc.structure == BERTLV else desc.size
        body += tlv(0x80, size.to_bytes(2, "big"))
        body += tlv(0x88, bytes((desc.sfi << 3,)) if desc.sfi else b"")
    return tlv(0x62, body)


def _pin_status_template(refs: tuple[int, ...], enabled: dict[int, bool]) -> bytes:
    """PIN status template DO 'C6' (TS 102 221 §9.5.2): PS_DO bitmap then key references."""
    nbits = 8 * max(1, (len(refs) + 7) // 8)
    ps = 0
    for i, ref in enumerate(refs):
        if enabled.get(ref, False):
            ps |= 1 << (nbits - 1 - i)
    body = tlv(0x90, ps.to_bytes(nbits // 8, "big"))
    for ref in refs:
        if ref == 0x11:  # universal PIN: usage qualifier '08' (user PIN verification)
            body += tlv(0x95, b"\x08")
        body += tlv(0x83, bytes((ref,)))
    return tlv(0xC6, body)


@dataclass(frozen=True)
class BerTlvRetrieval:
    """A RETRIEVE DATA transfer in progress on a channel (TS 102 221 §11.3.1, euicc.fs.bertlv)."""

    path: str
    rest: bytes      # what the next block starts with
    last: bytes      # the previous block, for '40'


@dataclass(frozen=True)
class BerTlvSetting:
    """A SET DATA transfer in progress on a channel (TS 102 221 §11.3.2, euicc.fs.bertlv)."""

    path: str
    tag: int
    length: int      # of the value, as announced in the first block
    value: bytes     # received so far
    last: int        # length of the previous block, for '40'
