"""Access conditions: ETSI TS 102 221 §9.2 (expanded format rules in EF.ARR, referenced by tag '8B').

A rule in an EF.ARR record is a sequence of an access mode data object (AM_DO '80' byte, or '84'
command header) followed by one or more security condition data objects (SC_DO) — several SC_DOs
after one AM_DO are alternatives (OR).  ISO/IEC 7816-4 §9.3.
"""
from __future__ import annotations

import functools

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.fs.filesystem import FileSystem
from euicc.fs.model import FileDescriptor
from euicc.fs.pin import PinService

# ISO 7816-4 Table 16/17 access mode byte bits (EF and DF)
READ = 0x01        # EF: READ / SEARCH             DF: DELETE CHILD
UPDATE = 0x02      # EF: UPDATE / ERASE            DF: CREATE EF
WRITE = 0x04       # EF: WRITE / APPEND            DF: CREATE DF
DEACTIVATE = 0x08
ACTIVATE = 0x10
TERMINATE = 0x20
DELETE = 0x40
INCREASE_INS = 0x32  # TS 102 221: INCREASE is coded as an AM_DO '84' with its INS


def check(fs: FileSystem, pins: PinService, path: str, desc: FileDescriptor, mode: int,
          ins: int | None = None) -> None:
    """Raise 6982 unless the access condition of `desc` for `mode` (or `ins`) is satisfied."""
    if desc.arr is None:
        return
    arr_path = fs.find_arr(path, desc.arr[0])
    records = fs.data(arr_path) if arr_path else ()
    rec_no = desc.arr[1]
    if not isinstance(records, tuple) or not 1 <= rec_no <= len(records):
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
    try:
        if _rule_allows(records[rec_no - 1], pins, mode, ins):
            return
    except tlv.TlvError:
        pass
    raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)


@functools.lru_cache(maxsize=1024)
def _data_objects(record: bytes) -> tuple[tuple[tuple[int, bytes], ...], bool]:
    """The TLV data objects of an EF.ARR record, parsed once per distinct record (every READ and
    UPDATE checks one): those before the first malformed one, and whether there is one."""
    objects: list[tuple[int, bytes]] = []
    try:
        for item in tlv.iter_tlv(record, skip_padding=True):
            objects.append(item)
    except tlv.TlvError:
        return tuple(objects), True
    return tuple(objects), False


def _rule_allows(record: bytes, pins: PinService, mode: int, ins: int | None) -> bool:
    """Whether the rule grants `mode` (or `ins`); TlvError when the rule is malformed before any
    satisfied condition (read in order, as the card always has)."""
    objects, malformed = _data_objects(record)
    applies = False
    for tag, value in objects:
        if tag == 0x80:  # AM_DO, access mode byte
            applies = bool(value) and bool(value[-1] & mode) and ins is None
        elif tag == 0x84:  # AM_DO, command header description (INS)
            applies = ins is not None and ins in value
        elif applies and _condition(tag, value, pins):
            return True
    if malformed:
        raise tlv.TlvError("malformed access rule")
    return False


def _condition(tag: int, value: bytes, pins: PinService) -> bool:
    """Evaluate one SC_DO (ISO 7816-4 §9.3.4, TS 102 221 §9.2.4)."""
    if tag == 0x90:  # always
        return True
    if tag == 0x97:  # never
        return False
    if tag == 0xA4:  # control reference template: user authentication with key reference '83'
        ref = tlv.find(value, 0x83)
        return ref is not None and len(ref) == 1 and pins.is_satisfied(ref[0])
    if tag == 0xA0:  # OR template
        return any(_condition(t, v, pins) for t, v in tlv.iter_tlv(value))
    if tag == 0xAF:  # AND template
        return all(_condition(t, v, pins) for t, v in tlv.iter_tlv(value))
    return False
