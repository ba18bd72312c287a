"""STORE DATA block reassembly: GP Card Specification v2.3.1 §11.11 (as SGP.22 v2.5 §5.7.2 uses it).

P1 b8 marks the last block, P2 numbers the blocks from '00'.  Blocks are collected in the applet's
channel state until the last one; the assembled data is bounded by `max_size` (a card's buffer):
beyond it the sequence is refused with '6A84' and forgotten.  A block carries data (§11.11.2: the
data field is mandatory); one without data is refused with '6700' and the sequence forgotten.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Final

from euicc.apdu import SW, Command, SwError

if TYPE_CHECKING:
    from euicc.channels import SelectionState

DEFAULT_MAX_SIZE = 65536
_KEY: Final = "store_data"


def collect(cmd: Command, state: SelectionState, max_size: int = DEFAULT_MAX_SIZE) -> bytes | None:
    """Add one STORE DATA block; return the whole data after the last block, else None."""
    if not cmd.proprietary:
        raise SwError(SW.CLA_NOT_SUPPORTED)
    if not cmd.data:
        state[_KEY] = None
        raise SwError(SW.WRONG_LENGTH)
    last = bool(cmd.p1 & 0x80)
    buffered: tuple[int, bytes] | None = state.get(_KEY)
    if cmd.p2 == 0:
        buffered = (0, b"")
    elif buffered is None or cmd.p2 != buffered[0] + 1:
        state[_KEY] = None
        raise SwError(SW.INCORRECT_P1P2)
    data = buffered[1] + cmd.data
    if len(data) > max_size:
        state[_KEY] = None
        raise SwError(SW.NOT_ENOUGH_MEMORY)
    if last:
        state[_KEY] = None
        return data
    state[_KEY] = (cmd.p2, data)
    return None
