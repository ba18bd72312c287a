"""Logical channels and response delivery (ISO/IEC 7816-4 §5.1.3, §7.1.2; ETSI TS 102 221 §7.3.1).

Each channel owns its selection state, its selected applet and one GET RESPONSE buffer.  Response
data reaches the terminal the way a T=0 card delivers it (TS 102 221 §7.3.1.1.4):
case-2 commands get the data when Le is right and ``6Cxx`` otherwise; commands of the other cases
get ``61xx`` and the data through GET RESPONSE.  In direct mode (T=1 only use) the data comes with
the command.  Either way, responses longer than 256 bytes are chained with ``61xx``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from euicc.apdu import SW, Command, SwError, sw_bytes
from euicc.fs.filesystem import Cursor

if TYPE_CHECKING:
    from euicc.applet import Applet

MAX_SHORT = 256


def withheld(cmd: Command, n: int, t0: bool) -> bool:
    """Whether T=0 delivery answers '6Cxx' instead of `n` bytes of response data: a short case-2
    command whose Le is not the length (TS 102 221 §7.3.1.1.4).  The terminal re-issues the command
    with the right Le, so a command that hands out data block by block hands out the same block."""
    if not (t0 and n and cmd.case == 2 and not cmd.extended):
        return False
    return n != cmd.ne if n <= MAX_SHORT else cmd.ne != MAX_SHORT


@dataclass(slots=True)
class Channel:
    """Volatile state of one logical channel."""

    number: int
    cursor: Cursor = field(default_factory=Cursor)
    applet: Applet | None = None            # selected GP applet (None: the file system)
    applet_state: dict[str, Any] = field(default_factory=dict)
    pending: bytes = b""                    # response data not yet fetched by GET RESPONSE
    pending_sw: int = SW.OK

    def deliver(self, cmd: Command, data: bytes, sw: int, t0: bool) -> bytes:
        """Turn a command's (data, SW) into the response APDU, buffering what must wait."""
        n = len(data)
        if not n:
            return sw_bytes(sw)
        if withheld(cmd, n, t0):
            return sw_bytes(0x6C00 | (n & 0xFF) if n <= MAX_SHORT else 0x6C00)
        if t0:
            if cmd.case == 2 and not cmd.extended:
                return self._chunk(data, MAX_SHORT, sw)
            self.pending, self.pending_sw = data, sw
            return sw_bytes(0x6100 | (min(n, MAX_SHORT) & 0xFF))
        limit = min(cmd.ne or MAX_SHORT, MAX_SHORT)
        return self._chunk(data, limit, sw)

    def get_response(self, cmd: Command, t0: bool) -> bytes:
        """GET RESPONSE (TS 102 221 §11.1.16 / ISO 7816-4 §7.6.1)."""
        if cmd.p1 or cmd.p2:
            raise SwError(SW.INCORRECT_P1P2)
        if not self.pending:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        data, sw = self.pending, self.pending_sw
        self.pending = b""
        ne = min(cmd.ne or MAX_SHORT, MAX_SHORT)
        if t0 and ne > len(data):
            self.pending, self.pending_sw = data, sw
            return sw_bytes(0x6C00 | (len(data) & 0xFF))
        return self._chunk(data, ne, sw)

    def _chunk(self, data: bytes, limit: int, sw: int) -> bytes:
        """Send at most `limit` bytes now; keep the rest for GET RESPONSE with ``61xx``."""
        if len(data) <= limit:
            return data + sw_bytes(sw)
        rest = data[limit:]
        self.pending, self.pending_sw = rest, sw
        return data[:limit] + sw_bytes(0x6100 | (min(len(rest), MAX_SHORT) & 0xFF))

    def clear(self) -> None:
        self.pending = b""
