"""The proactive UICC: ETSI TS 102 221 §7.4.2 / §14.7 and ETSI TS 102 223 §6 (CAT).

The card queues proactive commands; while one is pending, '9000' becomes '91XX' (XX = its length).
The terminal FETCHes it, executes it and sends TERMINAL RESPONSE, which goes back to whoever
queued the command.  Nothing is sent before the terminal has sent TERMINAL PROFILE.
All of this is volatile: a reset forgets it (TS 102 223 §6.3).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from euicc import tlv
from euicc.apdu import SW, Command, SwError, check_header
from euicc.cat.terminal_profile import TerminalProfile

# TS 102 223 §9.4 type of command
REFRESH = 0x01
SET_UP_EVENT_LIST = 0x05
SEND_SHORT_MESSAGE = 0x13
# TS 102 223 §8.7 device identities
DEV_UICC, DEV_TERMINAL, DEV_NETWORK = 0x81, 0x82, 0x83
# TS 102 223 §6.4.7 REFRESH qualifiers
REFRESH_UICC_RESET = 0x04
REFRESH_EUICC_PROFILE_STATE_CHANGE = 0x09

MAX_QUEUE = 16

ResultCallback = Callable[[bytes, bytes], None]   # (general result value, whole TERMINAL RESPONSE)


@dataclass(frozen=True)
class ProactiveCommand:
    """One proactive command: type, qualifier, destination and its other COMPREHENSION-TLVs."""

    type: int
    qualifier: int = 0
    destination: int = DEV_TERMINAL
    body: bytes = b""
    on_result: ResultCallback | None = None

    def encode(self, number: int) -> bytes:
        """'D0' proactive command BER-TLV (TS 102 223 §6.6)."""
        details = tlv.tlv(0x81, bytes((number, self.type, self.qualifier)))
        devices = tlv.tlv(0x82, bytes((DEV_UICC, self.destination)))
        return tlv.tlv(0xD0, details + devices + self.body)


def refresh(qualifier: int = REFRESH_EUICC_PROFILE_STATE_CHANGE) -> ProactiveCommand:
    """REFRESH (TS 102 223 §6.4.7); the eUICC profile state change mode by default."""
    return ProactiveCommand(REFRESH, qualifier)


class ProactiveSession:
    """Volatile CAT state of one card session."""

    def __init__(self) -> None:
        self.terminal_profile = b""
        self.profile = TerminalProfile()
        self.events: frozenset[int] = frozenset()   # acknowledged SET UP EVENT LIST (§6.4.16)
        self.timers: dict[int, int] = {}            # timer id -> the deadline it was armed for
        self._queue: deque[ProactiveCommand] = deque()
        self._outstanding: tuple[bytes, ProactiveCommand, bytes] | None = None
        self._number = 0
        self._refresh_holds = 0
        self._held: list[ProactiveCommand] = []     # REFRESHes waiting for the holds' release

    @property
    def enabled(self) -> bool:
        return bool(self.terminal_profile)

    @property
    def busy(self) -> bool:
        """A proactive session is ongoing: a command waits to be fetched or answered."""
        return self._outstanding is not None or bool(self._queue)

    def submit(self, command: ProactiveCommand) -> bool:
        """Queue `command`; False when the terminal has not declared CAT or the queue is full.

        A command of a type the terminal profile names but does not declare is not issued
        (TS 102 223 §5.2); types it does not name (none the card uses) are the caller's concern.

        A REFRESH ends the card session for the terminal (TS 102 223 §6.4.7), so whatever is
        queued after it is sent before it: a PoR by SMS, say, is not lost to the reset.  While a
        hold is on (:meth:`hold_refresh`) a REFRESH waits, accepted, for its release.
        """
        if not self.enabled or len(self._queue) >= MAX_QUEUE or not self.profile.command(command.type):
            return False
        if command.type == REFRESH and self._refresh_holds:
            self._held.append(command)
            return True
        if command.type != REFRESH:
            for i, queued in enumerate(self._queue):
                if queued.type == REFRESH:
                    self._queue.insert(i, command)
                    return True
        self._queue.append(command)
        return True

    def hold_refresh(self) -> None:
        """Keep REFRESH back until :meth:`release_refresh` (holds nest): a card function whose
        exchange with a server must end normally before the reset (an SCP81 administration
        session, GP Amd B §3.2 / SGP.02 §3.2.1 [R]) holds it.  A reset forgets the holds and what
        they kept, like the rest of this session (TS 102 223 §6.3)."""
        self._refresh_holds += 1

    def release_refresh(self) -> None:
        """End one hold; after the last, the REFRESHes it kept are queued (:meth:`submit`)."""
        self._refresh_holds = max(0, self._refresh_holds - 1)
        if not self._refresh_holds:
            held, self._held = self._held, []
            for command in held:
                self.submit(command)

    @property
    def refresh_pending(self) -> bool:
        """A REFRESH is held, queued or outstanding: the terminal's session is about to end."""
        outstanding = self._outstanding is not None and self._outstanding[1].type == REFRESH
        return outstanding or bool(self._held) or any(c.type == REFRESH for c in self._queue)

    def pending_length(self) -> int:
        if self._outstanding is not None or not self._queue:
            return 0
        return len(self._queue[0].encode(1))

    def status(self, sw: int) -> int:
        """'9000' becomes '91XX' while a proactive command waits to be fetched."""
        if sw == SW.OK:
            n = self.pending_length()
            if n:
                return 0x9100 | (n & 0xFF)
        return sw

    # -- commands ------------------------------------------------------------------------------
    def terminal_profile_command(self, cmd: Command) -> bytes:
        """TERMINAL PROFILE (TS 102 221 §11.2.1)."""
        check_header(cmd, data=True)
        self.terminal_profile = cmd.data
        self.profile = TerminalProfile(cmd.data)
        return b""

    def fetch(self, cmd: Command) -> bytes:
        """FETCH (TS 102 221 §11.2.3); fetching again returns the same command until answered."""
        check_header(cmd, data=False)
        if self._outstanding is None:
            if not self._queue:
                raise SwError(SW.CONDITIONS_NOT_SATISFIED)
            command = self._queue.popleft()
            self._number = self._number % 255 + 1
            details = bytes((self._number, command.type, command.qualifier))
            self._outstanding = (details, command, command.encode(self._number))
        return self._outstanding[2]

    def terminal_response(self, cmd: Command) -> bytes:
        """TERMINAL RESPONSE (TS 102 221 §11.2.4): must answer the command last fetched."""
        check_header(cmd, data=True)
        if self._outstanding is None:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        try:
            objects = {t & 0x7F: v for t, v in tlv.iter_tlv(cmd.data)}
        except tlv.TlvError:
            raise SwError(SW.INCORRECT_DATA) from None
        details, result = objects.get(0x01), objects.get(0x03)
        expected_details, command, _ = self._outstanding
        if details is None or result is None or not result:
            raise SwError(SW.INCORRECT_DATA)
        if details != expected_details:
            raise SwError(SW.INCORRECT_DATA)
        self._outstanding = None
        if command.on_result is not None:
            command.on_result(result, cmd.data)
        return b""

