"""The remote APDU script engine, ETSI TS 102 226 §5: runs the secured data of a Command Packet
on the routed application and builds the response data of the Response Packet.

- compact format (§5.1): the C-APDUs run in order, the first failing one ends the script; the
  response is count || last SW1 SW2 || last response data (§5.1.2); a truncated script runs
  nothing and answers nothing;
- expanded format (§5.2): C-APDU TLVs '22' run in batches, each answered by an R-APDU TLV '23';
  an item tag registered in ``items`` (e.g. SGP.02's SCP03t '84'/'85'/'86', registered by
  :mod:`euicc.m2m.ota_routes`) is handed to its handler, whose response TLV goes into the
  Response Scripting template in turn; a format error is reported by '90' after what ran.

GET RESPONSE inside a script returns the previous command's data again (the executor,
:meth:`euicc.session.CardSession.execute`, keeps it).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from euicc.ota import remote_apdu
from euicc.ota.errors import OtaFormatError
from euicc.tlv import tlv

if TYPE_CHECKING:
    from euicc.context import Context


class ScriptExecutor(Protocol):
    """Runs the C-APDUs of a script on the routed application; the response of each executed
    command (data || SW), stopping after the first failure (TS 102 226 §5.1.1)."""

    def execute(self, ctx: Context, commands: list[bytes]) -> list[bytes]: ...


@dataclass(frozen=True)
class ItemResult:
    """An extra script item's response TLV and whether the script ends with it."""

    response: bytes
    stops: bool = False


class ItemHandler(Protocol):
    """Processes one extra item (tag, value) of an expanded script for the routed target."""

    def __call__(self, ctx: Context, tag: int, value: bytes) -> ItemResult: ...


def run_script(ctx: Context, executor: ScriptExecutor, data: bytes,
               items: Mapping[int, ItemHandler] | None = None) -> bytes:
    """Run the secured data ``data`` (compact or expanded) and return the response data."""
    if not data:
        return b""
    if not remote_apdu.is_expanded(data):
        try:
            commands = remote_apdu.parse_compact(data)
        except OtaFormatError:
            return b""
        responses = executor.execute(ctx, commands)
        return remote_apdu.compact_response(len(responses), responses[-1])
    return _Expanded(ctx, executor, items or {}).run(data)


class _Expanded:
    """One expanded script being run: its response TLVs so far and the batch of C-APDUs pending."""

    def __init__(self, ctx: Context, executor: ScriptExecutor, items: Mapping[int, ItemHandler]) -> None:
        self.ctx, self.executor, self.items = ctx, executor, items
        self.responses: list[bytes] = []
        self.pending: list[bytes] = []
        self.executed = 0

    def run(self, data: bytes) -> bytes:
        script = remote_apdu.parse_expanded(data, extra_tags=frozenset(self.items))
        if not self._run_items(script.items):
            self._flush()
        return remote_apdu.response_script(self.responses, self.executed, script.indefinite, script.bad_format)

    def _run_items(self, items: tuple[remote_apdu.ScriptItem, ...]) -> bool:
        """Run the items; True when one of them ended the script."""
        for item in items:
            if item.tag == remote_apdu.TAG_C_APDU:
                self.pending.append(item.value)
            elif item.tag in self.items:
                if self._flush():
                    return True
                result = self.items[item.tag](self.ctx, item.tag, item.value)
                self.responses.append(result.response)
                self.executed += 1
                if result.stops:
                    return True
        return False

    def _flush(self) -> bool:
        """Run the pending C-APDUs; True when the last status word ends the script (§5.2.1)."""
        if not self.pending:
            return False
        responses = self.executor.execute(self.ctx, self.pending)
        self.pending = []
        self.executed += len(responses)
        self.responses.extend(tlv(remote_apdu.TAG_R_APDU, r) for r in responses)
        return remote_apdu.stops_script(int.from_bytes(responses[-1][-2:], "big"))
