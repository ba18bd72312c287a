"""Data oriented commands on BER-TLV structured EFs: ETSI TS 102 221 §11.3.

RETRIEVE DATA (§11.3.1, INS 'CB') reads one data object of an EF with file descriptor '39'; SET
DATA (§11.3.2, INS 'DB') creates, replaces or deletes one.  P1 is '00'; P2 (Tables 11.33 / 11.35)
is '80' + SFI for the first block (SFI '00': the current EF), '00' for the next block, '40' to
retransmit (RETRIEVE DATA) or replace (SET DATA) the previous block.  A data object that does not
fit one APDU moves in blocks: every block but the last ends in '62F1' "more data available" /
'63F1' "more data expected" ('62F2' / '63F2' while a proactive command is pending, §10.2.1.1).

The EF's contents are its data objects in creation order, lengths in DER (§11.3.0); their encoded
size may not exceed the file's maximum size ('6A84').  Tag '5C' retrieves the list of the tags in
the file.  The transfer in progress is channel state, tied to the current EF: a command that
selects another EF ends it (§11.3.0).  SET DATA writes the object when its last block arrives;
an error or an abandoned transfer leaves the file as it was (Annex L.1.2 shows a card that removes
the object instead; this card keeps its rule that a failed command changes nothing).  A first
block of the tag with length '00' deletes the object like the tag alone.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Final, TypeVar

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.channels import MAX_SHORT
from euicc.fs import access
from euicc.fs.model import BERTLV, BerTlvRetrieval, BerTlvSetting

if TYPE_CHECKING:
    from euicc.context import Context

P2_FIRST, P2_NEXT, P2_AGAIN = 0x80, 0x00, 0x40
TAG_LIST = 0x5C
SW_MORE_DATA_AVAILABLE, SW_MORE_DATA_EXPECTED = 0x62F1, 0x63F1
#: A next block (or the previous one again) with no transfer in progress on the current EF: not
#: given by §11.3; "conditions of use not satisfied".
SW_NO_TRANSFER = SW.CONDITIONS_NOT_SATISFIED
_KEY: Final = "bertlv"   # channel state: the transfer in progress
T = TypeVar("T", BerTlvRetrieval, BerTlvSetting)


def valid_tag(tag: int) -> bool:
    """A tag of §11.3.0: context-specific, primitive '80'-'9E', '9F1F'-'9F7F', '9F81XX'-'9FFFXX'
    or constructed 'A0'-'BE', 'BF1F'-'BF7F', 'BF81XX'-'BFFFXX' (XX '00'-'7F')."""
    if tag <= 0xFF:
        return 0x80 <= tag <= 0x9E or 0xA0 <= tag <= 0xBE
    first = tag >> 8 if tag <= 0xFFFF else tag >> 16
    if first not in (0x9F, 0xBF):
        return False
    if tag <= 0xFFFF:
        return 0x1F <= tag & 0xFF <= 0x7F
    return (tag >> 8) & 0xFF >= 0x81 and tag & 0xFF <= 0x7F


def _tag_bytes(tag: int) -> bytes:
    return tag.to_bytes((tag.bit_length() + 7) // 8, "big")


def objects(content: bytes) -> dict[int, bytes]:
    """The data objects of a BER-TLV EF's contents, tag -> value, in order."""
    try:
        return dict(tlv.iter_tlv(content, skip_padding=True))
    except tlv.TlvError:
        raise SwError(SW.TECHNICAL_PROBLEM) from None


def _encode(objs: dict[int, bytes]) -> bytes:
    return b"".join(tlv.tlv(t, v) for t, v in objs.items())


def _target(ctx: Context, cmd: Command, mode: int) -> tuple[str, int]:
    """The EF of a first block (P2 '80' + SFI): checked for structure and access `mode`."""
    path, desc = ctx.fs.current_ef(ctx.channel.cursor, cmd.p2 & 0x1F or None)
    if desc.structure != BERTLV:
        raise SwError(SW.INCOMPATIBLE_FILE_STRUCTURE)
    access.check(ctx.fs, ctx.pins, path, desc, mode)
    return path, desc.size


def _pending(ctx: Context, kind: type[T]) -> T:
    """The transfer a next block continues: of `kind`, on the current EF; else '6985'."""
    state = ctx.channel.applet_state.get(_KEY)
    if not isinstance(state, kind) or state.path != ctx.channel.cursor.ef:
        raise SwError(SW_NO_TRANSFER)
    return state


def _more(ctx: Context, sw: int) -> int:
    """`sw` + 1 ('62F2' / '63F2') while a proactive command is pending (§10.2.1.1)."""
    return sw + 1 if ctx.cat.pending_length() else sw


def retrieve_data(ctx: Context, cmd: Command) -> bytes:
    """RETRIEVE DATA (§11.3.1): data field the tag (first block) or empty; response the TLV."""
    if cmd.p1 != 0x00:
        raise SwError(SW.INCORRECT_P1P2)
    state = ctx.channel.applet_state
    if cmd.p2 & 0xE0 == P2_FIRST:
        state.pop(_KEY, None)
        path, _ = _target(ctx, cmd, access.READ)
        return _block(ctx, cmd, BerTlvRetrieval(path, _object(ctx, path, cmd.data), b""))
    if cmd.p2 not in (P2_NEXT, P2_AGAIN):
        raise SwError(SW.INCORRECT_P1P2)
    if cmd.data:
        raise SwError(SW.WRONG_LENGTH)
    pending = _pending(ctx, BerTlvRetrieval)
    if cmd.p2 == P2_AGAIN:
        if not pending.last:
            raise SwError(SW_NO_TRANSFER)
        if pending.rest:
            raise SwError(_more(ctx, SW_MORE_DATA_AVAILABLE), pending.last)
        return pending.last
    if not pending.rest:
        raise SwError(SW_NO_TRANSFER)
    return _block(ctx, cmd, pending)


def _object(ctx: Context, path: str, data: bytes) -> bytes:
    """The data object (tag, length, value) whose tag is `data`, or the tag list for '5C'."""
    if not data:
        raise SwError(SW.WRONG_LENGTH)
    try:
        tag, end = tlv.read_tag(data, 0)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    if end != len(data):
        raise SwError(SW.INCORRECT_DATA)
    objs = objects(ctx.fs.data(path))
    if tag == TAG_LIST:
        return tlv.tlv(TAG_LIST, b"".join(_tag_bytes(t) for t in objs))
    if tag not in objs:
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
    return tlv.tlv(tag, objs[tag])


def _block(ctx: Context, cmd: Command, pending: BerTlvRetrieval) -> bytes:
    """The next at most Le bytes of the object; what is left waits for the next block.  (A block
    that T=0 withholds with '6Cxx' reaches the re-issued command through the channel's kept
    answer, euicc.channels: this runs once.)"""
    block = pending.rest[:min(cmd.ne or MAX_SHORT, MAX_SHORT)]
    ctx.channel.applet_state[_KEY] = BerTlvRetrieval(pending.path, pending.rest[len(block):], block)
    if len(block) < len(pending.rest):
        raise SwError(_more(ctx, SW_MORE_DATA_AVAILABLE), block)
    return block


def set_data(ctx: Context, cmd: Command) -> bytes:
    """SET DATA (§11.3.2): first block tag, length and (part of) the value, or the tag alone to
    delete the object; next blocks the rest of the value."""
    if cmd.p1 != 0x00:
        raise SwError(SW.INCORRECT_P1P2)
    if not cmd.data:
        raise SwError(SW.WRONG_LENGTH)
    state = ctx.channel.applet_state
    if cmd.p2 & 0xE0 == P2_FIRST:
        state.pop(_KEY, None)
        path, _ = _target(ctx, cmd, access.UPDATE)
        return _first_set(ctx, path, cmd.data)
    if cmd.p2 not in (P2_NEXT, P2_AGAIN):
        raise SwError(SW.INCORRECT_P1P2)
    pending = _pending(ctx, BerTlvSetting)
    value = pending.value
    if cmd.p2 == P2_AGAIN:   # the data replaces the previous block's
        if not pending.last:
            raise SwError(SW_NO_TRANSFER)
        value = value[:len(value) - pending.last]
    return _continue(ctx, replace(pending, value=value + cmd.data, last=len(cmd.data)))


def _first_set(ctx: Context, path: str, data: bytes) -> bytes:
    """The first block: delete the object, or start (and maybe complete) writing it."""
    try:
        tag, i = tlv.read_tag(data, 0)
        length, j = (0, i) if i == len(data) else tlv.read_length(data, i, der=True)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    if not valid_tag(tag):
        raise SwError(SW.INCORRECT_DATA)
    if length == 0:   # the tag alone (or with length 0): delete the object
        if j != len(data):
            raise SwError(SW.WRONG_LENGTH)
        objs = objects(ctx.fs.data(path))
        if objs.pop(tag, None) is None:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        ctx.fs.set_data(path, _encode(objs))
        return b""
    _check_size(ctx, path, tag, length)
    return _continue(ctx, BerTlvSetting(path, tag, length, data[j:], len(data) - j))


def _continue(ctx: Context, setting: BerTlvSetting) -> bytes:
    """Write the object once its value is complete; until then '63F1'."""
    state = ctx.channel.applet_state
    if len(setting.value) > setting.length:
        state.pop(_KEY, None)
        raise SwError(SW.WRONG_LENGTH)
    if len(setting.value) < setting.length:
        state[_KEY] = setting
        raise SwError(_more(ctx, SW_MORE_DATA_EXPECTED))
    state.pop(_KEY, None)
    _check_size(ctx, setting.path, setting.tag, setting.length)
    objs = objects(ctx.fs.data(setting.path))
    objs[setting.tag] = setting.value
    ctx.fs.set_data(setting.path, _encode(objs))
    return b""


def _check_size(ctx: Context, path: str, tag: int, length: int) -> None:
    """'6A84' if the file would exceed its maximum size with `tag` holding `length` bytes."""
    objs = objects(ctx.fs.data(path))
    objs.pop(tag, None)
    size = len(_encode(objs)) + len(_tag_bytes(tag)) + len(tlv.encode_length(length)) + length
    if size > ctx.fs.node(path).size:
        raise SwError(SW.NOT_ENOUGH_MEMORY)
