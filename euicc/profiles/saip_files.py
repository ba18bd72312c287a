"""Creating and filling files from SAIP ``File`` and ``FileManagement`` values: TCA eUICC Profile
Package (SAIP) v3.3.1 §8.3 (``Fcp``, fill commands, link files) on ETSI TS 102 221 / TS 102 222
codings (file descriptor byte §11.1.1.4.3, fill and repeat patterns TS 102 222 §6.3).

:class:`FileBuilder` creates files in one profile's :class:`~euicc.fs.filesystem.FileSystem`
(inside the caller's transaction) and keeps the *current file* of the fill commands in memory
until the next file is chosen, so a file is written once.  Every inconsistency raises
:class:`PeError` with the SAIP ``PEStatus`` code the installer reports.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from euicc.fs.filesystem import MF_PATH, FileSystem
from euicc.fs.model import (ADF, BERTLV, CYCLIC, DF, EF, LINEAR, MF, TRANSPARENT, FileDescriptor,
                            child_path)
from euicc.profiles.templates import (ADF_KIND, BT, CY, DF_KIND, LF, MF_KIND, TR, FileTemplate,
                                      expand_default)

# SAIP PEStatus status codes (PEDefinitions EUICCResponse)
PE_NOT_SUPPORTED, BAD_VALUES, NOT_ENOUGH_MEMORY = 1, 3, 4
INVALID_REQUEST_FORMAT, INVALID_PARAMETER = 5, 6
TEMPLATE_NOT_SUPPORTED, FEATURE_NOT_SUPPORTED, PIN_CODE_MISSING = 9, 10, 11
UNSUPPORTED_PROFILE_VERSION = 31

ARR_UNDER_MF, ARR_ELSEWHERE = 0x2F06, 0x6F06     # SAIP §8.3.2 implicit EF.ARR
MAX_RECORDS = 254
_KIND_STRUCTURE = {TR: TRANSPARENT, LF: LINEAR, CY: CYCLIC, BT: BERTLV}


class PeError(Exception):
    """A profile element cannot be processed; ``status`` is its SAIP ``PEStatus`` code."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class NewFile:
    """A file about to be created: its descriptor, initial contents and optional link target."""

    desc: FileDescriptor
    pattern: bytes | None = None      # fillPattern / repeatPattern (TS 102 222 §6.3)
    repeat: bool = False
    default: str | None = None        # template default (TCA notation)
    link: bytes = b""                 # linkPath: the file shares the target's contents


def _fdb(raw: bytes) -> tuple[str, str, int, bool]:
    """(kind, structure, record length, shareable) from a file descriptor (TS 102 221 §11.1.1.4.3)."""
    b = raw[0]
    shareable = bool(b & 0x40)
    low = b & 0x3F
    if low == 0x38:
        return DF, "", 0, shareable
    if low == 0x39:
        return EF, BERTLV, 0, shareable
    structure = {0x01: TRANSPARENT, 0x02: LINEAR, 0x06: CYCLIC}.get(b & 0x07)
    if structure is None or b & 0x80:
        raise PeError(BAD_VALUES, f"unsupported file descriptor {raw.hex()}")
    reclen = 0
    if structure != TRANSPARENT:
        if len(raw) < 4:
            raise PeError(BAD_VALUES, f"record EF without record length: {raw.hex()}")
        reclen = int.from_bytes(raw[2:4], "big")
    return EF, structure, reclen, shareable


def _int(raw: bytes, what: str) -> int:
    if not raw:
        raise PeError(BAD_VALUES, f"empty {what}")
    return int.from_bytes(raw, "big")


def describe(fcp: Mapping[str, Any] | None, tf: FileTemplate | None, parent: str,
             derive_sfi: bool = False, fallback_size: int | None = None) -> NewFile:
    """Merge a template row `tf` and a package ``Fcp`` (SAIP §8.3.2: the Fcp overrides).

    `fallback_size` sizes an EF that neither gives a size (templates whose table is not
    transcribed, see euicc.profiles.templates.csim).
    """
    fcp = fcp or {}
    if "fileDescriptor" in fcp:
        kind, structure, reclen, shareable = _fdb(fcp["fileDescriptor"])
        if tf is not None and tf.kind in (MF_KIND, ADF_KIND) and kind == DF:
            kind = MF if tf.kind == MF_KIND else ADF
    elif tf is not None:
        kind = {MF_KIND: MF, DF_KIND: DF, ADF_KIND: ADF}.get(tf.kind, EF)
        structure = _KIND_STRUCTURE.get(tf.kind, "")
        reclen = (tf.size or 0) if structure in (LINEAR, CYCLIC) else 0
        shareable = True
    elif "dfName" in fcp:
        kind, structure, reclen, shareable = ADF, "", 0, True
    else:
        raise PeError(BAD_VALUES, "file without a file descriptor and not in the template")
    if "dfName" in fcp and kind == DF:
        kind = ADF
    fid_raw = fcp.get("fileID")
    fid = _int(fid_raw, "fileID") if fid_raw is not None else (tf.fid if tf else None)
    if kind == MF:
        fid = 0x3F00
    if fid is None:
        if kind != ADF:
            raise PeError(BAD_VALUES, "file without a file ID")
        fid = 0x7FFF
    aid = fcp.get("dfName", b"")
    if kind == ADF and not aid:
        raise PeError(BAD_VALUES, "ADF without dfName")
    implicit = ARR_UNDER_MF if kind in (MF, ADF) or parent == MF_PATH else ARR_ELSEWHERE
    sec = fcp.get("securityAttributesReferenced")
    if sec is not None:
        if len(sec) == 3:
            arr: tuple[int, int] | None = (int.from_bytes(sec[:2], "big"), sec[2])
        elif len(sec) == 1:
            arr = (implicit, sec[0])
        else:
            raise PeError(BAD_VALUES, "securityAttributesReferenced is 1 or 3 bytes")
    else:
        arr = (implicit, tf.arr) if tf is not None and tf.arr else None
    lcsi = fcp.get("lcsi", b"\x05")
    pins = tuple(fcp.get("pinStatusTemplateDO", b""))
    if kind != EF:
        desc = FileDescriptor(fid, kind, arr=arr, aid=aid, lcsi=lcsi[0], pins=pins,
                              shareable=shareable)
        return NewFile(desc, link=fcp.get("linkPath", b""))
    info = fcp.get("proprietaryEFInfo", {})
    size = _ef_size(fcp, info, tf, structure, reclen, fallback_size)
    if "shortEFID" in fcp:
        raw = fcp["shortEFID"]
        sfi = raw[0] >> 3 if raw else None
        if raw and (raw[0] & 0x07 or not 1 <= sfi <= 30):
            raise PeError(BAD_VALUES, f"bad shortEFID {raw.hex()}")
    elif tf is not None and not derive_sfi:
        sfi = tf.sfi
    else:
        sfi = fid & 0x1F or None     # SAIP §8.3.2: derived from the FID for generic files
    desc = FileDescriptor(fid, EF, structure, size, reclen, sfi=sfi, lcsi=lcsi[0], arr=arr,
                          shareable=shareable)
    pattern, repeat = info.get("fillPattern"), False
    if "repeatPattern" in info:
        if pattern is not None:
            raise PeError(BAD_VALUES, "fillPattern and repeatPattern are exclusive")
        pattern, repeat = info["repeatPattern"], True
    default = tf.default if tf is not None and pattern is None else None
    return NewFile(desc, pattern, repeat, default, fcp.get("linkPath", b""))


def _ef_size(fcp: Mapping[str, Any], info: Mapping[str, Any], tf: FileTemplate | None,
             structure: str, reclen: int, fallback: int | None) -> int:
    if structure == BERTLV and "maximumFileSize" in info:
        return _int(info["maximumFileSize"], "maximumFileSize")
    if "efFileSize" in fcp:
        size = _int(fcp["efFileSize"], "efFileSize")
    elif tf is not None and tf.size is not None and tf.kind in (TR, BT):
        size = tf.size
    elif tf is not None and tf.records and structure in (LINEAR, CYCLIC):
        size = tf.records * reclen
    elif fcp.get("linkPath"):
        return 0
    elif fallback is not None:
        size = max(fallback, 1)
        if reclen:
            size = max(1, -(-size // reclen)) * reclen
    else:
        raise PeError(BAD_VALUES, "EF without a file size")
    if structure in (LINEAR, CYCLIC):
        if not reclen or size % reclen or not 1 <= size // reclen <= MAX_RECORDS:
            raise PeError(BAD_VALUES, f"file size {size} is not a record count x {reclen}")
    return size


def initial_content(new: NewFile) -> bytearray:
    """Contents before the fill commands: pattern (per record for record EFs), else 'FF'."""
    desc = new.desc
    unit = desc.record_length if desc.is_record else desc.size
    if desc.structure == BERTLV:
        return bytearray()
    if new.pattern:
        if new.repeat:
            one = (new.pattern * (unit // len(new.pattern) + 1))[:unit]
        else:
            one = (new.pattern + new.pattern[-1:] * unit)[:unit]
    elif new.default:
        one = expand_default(new.default, unit)
    else:
        one = b"\xff" * unit
    return bytearray(one * (desc.records if desc.is_record else 1))


class FileBuilder:
    """Creates files in `fs`; the current EF is filled in memory and written by :meth:`flush`."""

    def __init__(self, fs: FileSystem) -> None:
        self.fs = fs
        self.temporary_fids: dict[int, str] = {}   # ADF temporary FID -> ADF path
        self._path: str | None = None
        self._desc: FileDescriptor | None = None
        self._buffer = bytearray()
        self._pos = 0

    # -- creation ----------------------------------------------------------------------------
    def create(self, parent: str | None, new: NewFile) -> str:
        """Create `new` under `parent` (None: MF or ADF) and make it the current file."""
        self.flush()
        desc = new.desc
        if new.link:
            return self._link(parent, new)
        if desc.kind == MF:
            if self.fs.node(MF_PATH) is not None:
                raise PeError(BAD_VALUES, "the MF exists already")
            return self.fs.create(None, desc)
        if desc.kind == ADF:
            if desc.aid in self.fs.adfs() or desc.fid in self.temporary_fids:
                raise PeError(BAD_VALUES, f"ADF {desc.aid.hex()} exists already")
            path = self.fs.create(None, desc)
            self.temporary_fids[desc.fid] = path
            return path
        pdesc = self.fs.node(parent) if parent is not None else None
        if parent is None or pdesc is None or not pdesc.is_df:
            raise PeError(BAD_VALUES, f"parent {parent} is not a DF")
        path = child_path(parent, desc.fid)
        if desc.fid in pdesc.children:
            return self._recreate(path, new)
        if desc.fid in (0x3F00, 0x7FFF) or desc.fid == pdesc.fid:
            raise PeError(BAD_VALUES, f"file ID {desc.fid:04X} not allowed here")
        if desc.kind != EF:
            return self.fs.create(parent, desc)
        self.fs.create(parent, desc, b"")
        self._select(path, desc, initial_content(new))
        return path

    def _recreate(self, path: str, new: NewFile) -> str:
        """An EF created again with another Fcp is resized (SAIP §8.3: the package overrides)."""
        old = self.fs.node(path)
        if old is None or old.kind != EF or new.desc.kind != EF:
            raise PeError(BAD_VALUES, f"file {path} exists already")
        self.fs.set_node(path, new.desc)
        content = initial_content(new)
        previous = self._flat(path, old)
        content[:len(previous)] = previous[:len(content)]
        self._select(path, new.desc, content)
        return path

    def _link(self, parent: str | None, new: NewFile) -> str:
        """A link file (SAIP §8.3.2 linkPath) is created as an independent copy of its target's
        descriptor and contents at installation time (this file system has no shared files)."""
        target = self.resolve_path(new.link)
        tdesc = self.fs.node(target)
        if tdesc is None or parent is None or tdesc.is_df:
            raise PeError(BAD_VALUES, f"link target {new.link.hex()} is not an existing EF")
        desc = replace(tdesc, fid=new.desc.fid, sfi=new.desc.sfi if new.desc.kind == EF else None,
                       arr=new.desc.arr or tdesc.arr, lcsi=new.desc.lcsi)
        path = self.create(parent, NewFile(desc))
        self._buffer = bytearray(self._flat(target, tdesc))
        return path

    # -- selection and fill (SAIP §8.3.3, GFM §8.3.5) ----------------------------------------
    def resolve_path(self, raw: bytes) -> str:
        """A SAIP file path: FIDs from the MF ('3F00' optional), ADFs by their temporary FID."""
        if len(raw) % 2:
            raise PeError(BAD_VALUES, f"odd file path {raw.hex()}")
        fids = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
        if fids and fids[0] == 0x3F00:
            fids = fids[1:]
        path = MF_PATH
        if fids and fids[0] in self.temporary_fids:
            path, fids = self.temporary_fids[fids[0]], fids[1:]
        for fid in fids:
            desc = self.fs.node(path)
            if desc is None or not desc.is_df or fid not in desc.children:
                raise PeError(BAD_VALUES, f"file path {raw.hex()} not found")
            path = child_path(path, fid)
        if self.fs.node(path) is None:
            raise PeError(BAD_VALUES, f"file path {raw.hex()} not found")
        return path

    def select(self, path: str) -> None:
        """Make the EF at `path` the current file of the fill commands (from offset 0)."""
        self.flush()
        desc = self.fs.node(path)
        if desc is not None and desc.kind == EF:
            self._select(path, desc, bytearray(self._flat(path, desc)))

    def _select(self, path: str, desc: FileDescriptor, content: bytearray) -> None:
        self._path, self._desc, self._buffer, self._pos = path, desc, content, 0

    def offset(self, n: int) -> None:
        """fillFileOffset: move the fill position forward (SAIP §8.3.3)."""
        self._require_ef()
        self._pos += n
        if self._desc.structure != BERTLV and self._pos > len(self._buffer):
            raise PeError(BAD_VALUES, f"fillFileOffset beyond the end of {self._path}")

    def fill(self, data: bytes) -> None:
        """fillFileContent: write `data` at the fill position and move past it."""
        self._require_ef()
        end = self._pos + len(data)
        if self._desc.structure == BERTLV:
            if end > self._desc.size:
                raise PeError(BAD_VALUES, "BER-TLV contents exceed the maximum file size")
            self._buffer[self._pos:end] = data
        else:
            if end > len(self._buffer):
                raise PeError(BAD_VALUES, f"fillFileContent beyond the end of {self._path}")
            self._buffer[self._pos:end] = data
        self._pos = end

    def _require_ef(self) -> None:
        if self._desc is None:
            raise PeError(BAD_VALUES, "fill command without a current EF")

    def flush(self) -> None:
        """Write the current file's contents to the file system."""
        if self._path is None or self._desc is None:
            return
        desc, buf = self._desc, bytes(self._buffer)
        if desc.is_record:
            n = desc.record_length
            self.fs.set_data(self._path, tuple(buf[i:i + n] for i in range(0, len(buf), n)))
        else:
            self.fs.set_data(self._path, buf)
        self._path = self._desc = None

    def _flat(self, path: str, desc: FileDescriptor) -> bytes:
        data = self.fs.data(path)
        return b"".join(data) if isinstance(data, tuple) else bytes(data)
