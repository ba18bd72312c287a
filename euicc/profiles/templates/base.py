"""The types of a file structure template and the TCA default-contents notation (SAIP v3.3.1 §9,
Annex A); the templates themselves are the modules of this package (see its docstring)."""
from __future__ import annotations

from dataclasses import dataclass

# Where a template's top-level files go (SAIP §9): the MF, or the ADF of the last NAA PE.
ROOT_NONE, ROOT_MF, ROOT_USIM, ROOT_ISIM, ROOT_CSIM = "", "mf", "usim", "isim", "csim"

MF_KIND, DF_KIND, ADF_KIND = "MF", "DF", "ADF"
TR, LF, CY, BT = "TR", "LF", "CY", "BT"     # transparent, linear fixed, cyclic, BER-TLV


@dataclass(frozen=True, slots=True)
class FileTemplate:
    """One file of a template (SAIP Annex A table row)."""

    pe_name: str                 # the PE's field name (PE-USIM ``ef-imsi``)
    fid: int | None              # None: given by the package (ADF temporary FID, FID ranges)
    kind: str                    # MF, DF, ADF, TR, LF, CY, BT
    size: int | None = None      # TR/BT: file size; LF/CY: record length
    arr: int | None = None       # record number in the EF.ARR of the file's context
    sfi: int | None = None
    default: str | None = None   # default contents (TCA notation, see module docstring)
    records: int | None = None   # LF/CY: number of records
    parent: str = ""             # pe_name of the template DF holding it ("" = the root)

    @property
    def is_df(self) -> bool:
        return self.kind in (MF_KIND, DF_KIND, ADF_KIND)


@dataclass(frozen=True, slots=True)
class Template:
    """A file structure template (SAIP §9): created by default or only for the files listed."""

    oid: str
    pe: str                      # ProfileElement CHOICE alternative
    created_by_default: bool
    root: str                    # ROOT_* : where the template's first-level files are created
    files: tuple[FileTemplate, ...]
    sized_by_fill: bool = False  # [U] table not transcribed: unsized EFs take their fill's size

    def file(self, pe_name: str) -> FileTemplate | None:
        return next((f for f in self.files if f.pe_name == pe_name), None)


def expand_default(notation: str, length: int) -> bytes:
    """Default contents of `length` bytes from the TCA notation (see module docstring)."""
    if "..." not in notation:
        return bytes.fromhex(notation)[:length].ljust(length, b"\xff")
    head_hex, tail_hex = notation.split("...")
    head, tail = bytes.fromhex(head_hex), bytes.fromhex(tail_hex)
    filler, tail = tail[:1], tail[1:]
    body = head + filler * max(0, length - len(head) - len(tail)) + tail
    return body[:length]
