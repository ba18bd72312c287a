"""Logical channels and response delivery (ISO/IEC 7816-4 §5.1.3, §7.1.2; ETSI TS 102 221 §7.3.1).

Each channel owns its selection state, its selected applet and one GET RESPONSE buffer.  Response
data reaches the terminal the way a T=0 card delivers it (TS 102 221 §7.3.1.1.4):
case-2 commands get the data when Le is right and ``6Cxx`` otherwise; commands of the other cases
get ``61xx`` and the data through GET RESPONSE.  In direct mode (T=1 only use) the data comes with
the command.  Either way, responses longer than 256 bytes are chained with ``61xx``.

A command answered ``6Cxx`` has already run (its effects are committed), so its answer is kept
(:class:`Resend`): the terminal's re-send of the same header with P3 = 'xx' (ISO 7816-3 §10.3.3,
TS 102 221 §7.3.1.1.4) gets that answer without running the command a second time.  The answer is
kept per channel: a re-send with yet another wrong P3 gets ``6Cxx`` again, any other command on
the channel (GET RESPONSE, a case-3/4 or extended command with that header) drops it, commands on
other channels leave it.

What a T=0 card does with a case-2 command whose Le is wrong is the card's choice
(``CardConfig.le_policy``, :data:`LE_POLICIES`):

* ``6Cxx`` (default): ISO 7816-3 §10.3.3 / TS 102 221 §7.3.1.1.4, procedure byte '6C' with the
  right length and the re-send described above;
* ``direct``: the card sends the data it has as on T=1: with Le shorter than the data, Le bytes
  and ``61xx`` for the rest (GET RESPONSE, ISO 7816-4 §5.3.4 response chaining); with Le longer,
  all the data and the status.  GET RESPONSE with a long Le then also answers with what is left
  instead of ``6Cxx``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol, TypedDict

from euicc.apdu import SW, Command, SwError, sw_bytes
from euicc.fs.filesystem import Cursor
from euicc.volatile import Lifetime, Volatile

if TYPE_CHECKING:
    from euicc.crypto.scp03 import Scp03Session
    from euicc.fs.model import BerTlvRetrieval, BerTlvSetting
    from euicc.gp.registry import RegistryEntry

MAX_SHORT = 256
LE_6CXX = "6Cxx"
LE_DIRECT = "direct"
LE_POLICIES = (LE_6CXX, LE_DIRECT)


class Application(Protocol):
    """What the kernel needs of an on-card application (euicc.applet.Applet is the base class)."""

    AID: ClassVar[bytes]
    ADF_PREFIX: ClassVar[bytes]
    INS: ClassVar[frozenset[int]]
    HANDLES_SECURE_MESSAGING: ClassVar[bool]

    @property
    def aid(self) -> bytes: ...

    def select(self, ctx: Any, cmd: Command) -> bytes: ...

    def process(self, ctx: Any, cmd: Command) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Resend:
    """The answer of a short case-2 command refused with ``6Cxx``, kept for its re-send.

    The re-send is the same CLA INS P1 P2 with no command data (ISO 7816-3 §10.3.3); `sw` is the
    status before the proactive '91xx' indication, which is decided when the answer is sent.
    """

    header: bytes       # CLA INS P1 P2 of the command that ran
    data: bytes
    sw: int

    def announced(self) -> int:
        """Le that the ``6Cxx`` asked for: the data length, at most 256 ('6C00', then 61xx)."""
        return min(len(self.data), MAX_SHORT)


SelectionState = TypedDict("SelectionState", {
    "store_data": "tuple[int, bytes] | None",   # STORE DATA blocks so far (GP CS §11.11; euicc.gp.store_data)
    "get_status": "tuple[tuple[int, bool], list[RegistryEntry]] | None",   # GET STATUS next occurrence
    #                                             (GP CS §11.4.2; (P1, TLV format), entries left; euicc.gp.get_status)
    "scp03": "Scp03Session",                    # the open SCP03 session (GP Amd D; euicc.gp.secure_channel)
    "bertlv": "BerTlvRetrieval | BerTlvSetting",   # RETRIEVE / SET DATA transfer (TS 102 221 §11.3; euicc.fs.bertlv)
    "aram-next": "tuple[bytes, bytes]",         # GET DATA [Next]: data left, refresh tag (GPD_SPE_013; applets.ara_m)
}, total=False)
"""What lives in a channel's ``applet_state``: the state of the current selection (ISO/IEC 7816-4
§5.1.3), emptied when the channel selects again, is closed or the card resets.  One entry per
command family that continues over several commands; nothing else is kept there."""


@dataclass(slots=True)
class Channel:
    """Volatile state of one logical channel."""

    number: int
    cursor: Cursor = field(default_factory=Cursor)
    applet: Application | None = None       # selected GP applet (None: the file system)
    applet_state: SelectionState = field(default_factory=lambda: SelectionState())   # the selection's state
    volatile: Volatile = field(default_factory=lambda: Volatile(Lifetime.CHANNEL))
    pending: bytes = b""                    # response data not yet fetched by GET RESPONSE
    pending_sw: int = SW.OK
    resend: Resend | None = None            # the answer kept after 6Cxx for the re-send

    def kept_answer(self, cmd: Command) -> Resend | None:
        """The kept answer when `cmd` is the re-send of the command refused with ``6Cxx``: same
        header, short case 2 (whatever its P3: a wrong one gets ``6Cxx`` again, not a second run).
        """
        kept = self.resend
        if kept is None or cmd.case != 2 or cmd.extended:
            return None
        return kept if bytes((cmd.cla, cmd.ins, cmd.p1, cmd.p2)) == kept.header else None

    def deliver(self, cmd: Command, data: bytes, sw: int, t0: bool,
                status: Callable[[int], int], le_policy: str = LE_6CXX) -> bytes:
        """Turn a command's (data, SW) into the response APDU, buffering what must wait.

        `status` gives the SW sent (the proactive '91xx' indication, TS 102 221 §10.2.1); it is
        applied when the SW is sent, so buffered data ends with the indication of that moment.
        """
        n = len(data)
        if not n:
            return sw_bytes(status(sw))
        short_case_2 = cmd.case == 2 and not cmd.extended
        if t0 and short_case_2 and le_policy == LE_6CXX:
            kept = Resend(bytes((cmd.cla, cmd.ins, cmd.p1, cmd.p2)), data, sw)
            if cmd.ne != kept.announced():
                self.resend = kept
                return sw_bytes(0x6C00 | (kept.announced() & 0xFF))
            return self._chunk(data, MAX_SHORT, sw, status)
        if t0 and not short_case_2:   # (a short case 2 here: le_policy 'direct')
            self.pending, self.pending_sw = data, sw
            return sw_bytes(0x6100 | (min(n, MAX_SHORT) & 0xFF))
        limit = min(cmd.ne or MAX_SHORT, MAX_SHORT)
        return self._chunk(data, limit, sw, status)

    def get_response(self, cmd: Command, t0: bool, le_policy: str = LE_6CXX,
                     status: Callable[[int], int] = int) -> bytes:
        """GET RESPONSE (TS 102 221 §11.1.16 / ISO 7816-4 §7.6.1)."""
        self.resend = None
        if cmd.p1 or cmd.p2:
            raise SwError(SW.INCORRECT_P1P2)
        if not self.pending:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        data, sw = self.pending, self.pending_sw
        self.pending = b""
        ne = min(cmd.ne or MAX_SHORT, MAX_SHORT)
        if t0 and le_policy == LE_6CXX and ne > len(data):
            self.pending, self.pending_sw = data, sw
            return sw_bytes(0x6C00 | (len(data) & 0xFF))
        return self._chunk(data, ne, sw, status)

    def _chunk(self, data: bytes, limit: int, sw: int, status: Callable[[int], int]) -> bytes:
        """Send at most `limit` bytes now; keep the rest for GET RESPONSE with ``61xx``."""
        if len(data) <= limit:
            return data + sw_bytes(status(sw))
        rest = data[limit:]
        self.pending, self.pending_sw = rest, sw
        return data[:limit] + sw_bytes(0x6100 | (min(len(rest), MAX_SHORT) & 0xFF))

    def clear(self) -> None:
        """Any command but GET RESPONSE drops the data it was waiting for, and the kept answer."""
        self.pending, self.resend = b"", None
