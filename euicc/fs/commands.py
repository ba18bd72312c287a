"""File and PIN commands of ETSI TS 102 221 §11.1.3-§11.1.15 on the channel's current EF.

Each handler takes the command context and the parsed command and returns response data (or raises
``SwError``).  Access conditions are checked (euicc.fs.access) before anything is read or written.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from euicc.apdu import SW, Command, SwError
from euicc.fs import access, bertlv
from euicc.fs.model import CYCLIC, EF, LCSI_ACTIVATED, LCSI_DEACTIVATED, LINEAR, TRANSPARENT
from euicc.fs.pin import key_reference_valid

if TYPE_CHECKING:
    from euicc.context import Context


def _binary_target(ctx: Context, cmd: Command, mode: int):
    if cmd.p1 & 0x80:
        if cmd.p1 & 0x60:
            raise SwError(SW.INCORRECT_P1P2)
        sfi, offset = cmd.p1 & 0x1F, cmd.p2
        if not sfi:
            raise SwError(SW.INCORRECT_P1P2)
    else:
        sfi, offset = None, cmd.p1p2
    path, desc = ctx.fs.current_ef(ctx.channel.cursor, sfi)
    if desc.structure != TRANSPARENT:
        raise SwError(SW.INCOMPATIBLE_FILE_STRUCTURE)
    access.check(ctx.fs, ctx.pins, path, desc, mode)
    if offset >= desc.size and not (offset == 0 and desc.size == 0):
        raise SwError(SW.WRONG_P1P2)
    return path, desc, offset


def read_binary(ctx: Context, cmd: Command) -> bytes:
    """READ BINARY (§11.1.3)."""
    if cmd.data:
        raise SwError(SW.WRONG_LENGTH)
    path, desc, offset = _binary_target(ctx, cmd, access.READ)
    content = ctx.fs.data(path)
    return content[offset:offset + (cmd.ne or 256)]


def update_binary(ctx: Context, cmd: Command) -> bytes:
    """UPDATE BINARY (§11.1.4)."""
    if not cmd.data:
        raise SwError(SW.WRONG_LENGTH)
    path, desc, offset = _binary_target(ctx, cmd, access.UPDATE)
    if offset + len(cmd.data) > desc.size:
        raise SwError(SW.WRONG_LENGTH)
    content = ctx.fs.data(path)
    ctx.fs.set_data(path, content[:offset] + cmd.data + content[offset + len(cmd.data):])
    return b""


def _record_target(ctx: Context, cmd: Command, mode: int):
    sfi = cmd.p2 >> 3
    if sfi == 0x1F:
        raise SwError(SW.INCORRECT_P1P2)
    path, desc = ctx.fs.current_ef(ctx.channel.cursor, sfi or None)
    if desc.structure not in (LINEAR, CYCLIC):
        raise SwError(SW.INCOMPATIBLE_FILE_STRUCTURE)
    access.check(ctx.fs, ctx.pins, path, desc, mode)
    return path, desc, cmd.p2 & 0x07


def _step(desc, current: int, forward: bool) -> int:
    """Next/previous record number from the record pointer (§11.1.5); 0 = none."""
    n = desc.records
    if forward:
        if current == 0:
            return 1
        if current < n:
            return current + 1
        return 1 if desc.structure == CYCLIC else 0
    if current == 0:
        return n
    if current > 1:
        return current - 1
    return n if desc.structure == CYCLIC else 0


def read_record(ctx: Context, cmd: Command) -> bytes:
    """READ RECORD (§11.1.5): modes next '02', previous '03', absolute/current '04'."""
    if cmd.data:
        raise SwError(SW.WRONG_LENGTH)
    path, desc, mode = _record_target(ctx, cmd, access.READ)
    cur = ctx.channel.cursor
    if mode == 0x04:
        number = cmd.p1 or cur.record
    elif mode in (0x02, 0x03):
        if cmd.p1:
            raise SwError(SW.INCORRECT_P1P2)
        number = _step(desc, cur.record, mode == 0x02)
        if number:
            cur.record = number
    else:
        raise SwError(SW.INCORRECT_P1P2)
    if not 1 <= number <= desc.records:
        raise SwError(SW.RECORD_NOT_FOUND)
    return ctx.fs.data(path)[number - 1]


def update_record(ctx: Context, cmd: Command) -> bytes:
    """UPDATE RECORD (§11.1.6); a cyclic EF takes only PREVIOUS and rotates its records."""
    path, desc, mode = _record_target(ctx, cmd, access.UPDATE)
    if len(cmd.data) != desc.record_length:
        raise SwError(SW.WRONG_LENGTH)
    records = list(ctx.fs.data(path))
    cur = ctx.channel.cursor
    if desc.structure == CYCLIC:
        if mode != 0x03 or cmd.p1:
            raise SwError(SW.INCORRECT_P1P2)
        ctx.fs.set_data(path, (cmd.data,) + tuple(records[:-1]))
        cur.record = 1
        return b""
    if mode == 0x04:
        number = cmd.p1 or cur.record
    elif mode in (0x02, 0x03):
        if cmd.p1:
            raise SwError(SW.INCORRECT_P1P2)
        number = _step(desc, cur.record, mode == 0x02)
    else:
        raise SwError(SW.INCORRECT_P1P2)
    if not 1 <= number <= desc.records:
        raise SwError(SW.RECORD_NOT_FOUND)
    records[number - 1] = cmd.data
    ctx.fs.set_data(path, tuple(records))
    if mode != 0x04:
        cur.record = number
    return b""


def search_record(ctx: Context, cmd: Command) -> bytes:
    """SEARCH RECORD (§11.1.7): simple search '04'/'05' and enhanced search '06'.

    A record matches when the pattern occurs in it at or after the start position.
    """
    path, desc, mode = _record_target(ctx, cmd, access.READ)
    cur = ctx.channel.cursor
    pattern, start_at, after_value = cmd.data, 0, None
    if mode == 0x06:
        if len(cmd.data) < 3:
            raise SwError(SW.WRONG_LENGTH)
        ind, param, pattern = cmd.data[0], cmd.data[1], cmd.data[2:]
        mode = ind & 0x07
        if mode not in (0x04, 0x05, 0x06, 0x07) or ind & 0xF0:
            raise SwError(SW.INCORRECT_DATA)
        if ind & 0x08:
            after_value = param
        else:
            start_at = param
    elif mode not in (0x04, 0x05):
        raise SwError(SW.INCORRECT_P1P2)
    if not pattern or len(pattern) > desc.record_length:
        raise SwError(SW.WRONG_LENGTH)
    n = desc.records
    first = cmd.p1 or cur.record
    if mode in (0x06, 0x07):  # from the record after/before the current one
        first = _step(desc, cur.record, mode == 0x06)
    if not 1 <= first <= n:
        raise SwError(SW.RECORD_NOT_FOUND)
    order = range(first, n + 1) if mode in (0x04, 0x06) else range(first, 0, -1)
    records = ctx.fs.data(path)
    found = []
    for number in order:
        rec = records[number - 1]
        pos = start_at
        if after_value is not None:
            k = rec.find(bytes((after_value,)))
            if k < 0:
                continue
            pos = k + 1
        if rec.find(pattern, pos) >= 0:
            found.append(number)
    if found:
        cur.record = found[0]
    return bytes(found)


def increase(ctx: Context, cmd: Command) -> bytes:
    """INCREASE (§11.1.8) on a cyclic EF: returns the new record and the value added."""
    if cmd.p1 or cmd.p2:
        raise SwError(SW.INCORRECT_P1P2)
    path, desc = ctx.fs.current_ef(ctx.channel.cursor, None)
    if desc.structure != CYCLIC:
        raise SwError(SW.INCOMPATIBLE_FILE_STRUCTURE)
    access.check(ctx.fs, ctx.pins, path, desc, 0, ins=access.INCREASE_INS)
    if not cmd.data or len(cmd.data) > desc.record_length:
        raise SwError(SW.WRONG_LENGTH)
    records = ctx.fs.data(path)
    value = int.from_bytes(records[0], "big") + int.from_bytes(cmd.data, "big")
    if value >= 1 << (8 * desc.record_length):
        raise SwError(0x9850)  # §10.2.1.3: INCREASE cannot be performed, max value reached
    new = value.to_bytes(desc.record_length, "big")
    ctx.fs.set_data(path, (new,) + records[:-1])
    ctx.channel.cursor.record = 1
    return new + cmd.data


def _life_cycle(ctx: Context, cmd: Command, mode: int, lcsi: int) -> bytes:
    """DEACTIVATE FILE / ACTIVATE FILE (§11.1.14-15): current EF, or by FID / path in the data."""
    cur = ctx.channel.cursor
    if cmd.p2 or cmd.p1 not in (0x00, 0x08, 0x09):
        raise SwError(SW.INCORRECT_P1P2)
    if cmd.data:
        if len(cmd.data) % 2:
            raise SwError(SW.WRONG_LENGTH)
        fids = [int.from_bytes(cmd.data[i:i + 2], "big") for i in range(0, len(cmd.data), 2)]
        if cmd.p1 == 0x00:
            if len(fids) != 1:
                raise SwError(SW.WRONG_LENGTH)
            path = ctx.fs.select_fid(cur, fids[0])
        else:
            path = ctx.fs.select_path(cur, fids, cmd.p1 == 0x08)
    elif cur.ef is not None:
        path = cur.ef
    else:
        raise SwError(SW.COMMAND_NOT_ALLOWED_NO_EF)
    desc = ctx.fs.node(path)
    if desc is None or desc.kind != EF:
        raise SwError(SW.FILE_NOT_FOUND)
    access.check(ctx.fs, ctx.pins, path, desc, mode)
    ctx.fs.set_node(path, replace(desc, lcsi=lcsi))
    cur.select(path, desc)
    return b""


def deactivate_file(ctx: Context, cmd: Command) -> bytes:
    return _life_cycle(ctx, cmd, access.DEACTIVATE, LCSI_DEACTIVATED)


def activate_file(ctx: Context, cmd: Command) -> bytes:
    return _life_cycle(ctx, cmd, access.ACTIVATE, LCSI_ACTIVATED)


def _pin_command(operation: str) -> Callable[["Context", Command], bytes]:
    """VERIFY / CHANGE / DISABLE / ENABLE / UNBLOCK PIN (§11.1.9-§11.1.13): P1 '00', P2 the key
    reference of Table 9.3; the work is the PinService method `operation`."""
    def handler(ctx: Context, cmd: Command) -> bytes:
        if cmd.p1 != 0x00 or not key_reference_valid(cmd.p2):
            raise SwError(SW.INCORRECT_P1P2)
        getattr(ctx.pins, operation)(cmd.p2, cmd.data)
        return b""
    handler.__name__ = f"{operation}_pin"
    return handler


Handler = Callable[["Context", Command], bytes]

# INS -> (handler, class): "I" interindustry '0X'/'4X', "P" proprietary '8X'/'CX'/'EX' (Table 10.5)
FS_COMMANDS: dict[int, tuple[Handler, str]] = {
    0xB0: (read_binary, "I"),
    0xD6: (update_binary, "I"),
    0xB2: (read_record, "I"),
    0xDC: (update_record, "I"),
    0xA2: (search_record, "I"),
    0x32: (increase, "P"),
    0x04: (deactivate_file, "I"),
    0x44: (activate_file, "I"),
    0x20: (_pin_command("verify"), "I"),
    0x24: (_pin_command("change"), "I"),
    0x26: (_pin_command("disable"), "I"),
    0x28: (_pin_command("enable"), "I"),
    0x2C: (_pin_command("unblock"), "I"),
    0xCB: (bertlv.retrieve_data, "P"),
    0xDB: (bertlv.set_data, "P"),
}
