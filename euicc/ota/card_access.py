"""The port through which a protocol engine on a BIP channel (:mod:`euicc.cat.bip_port`) runs
remote administration on the card's security domains: SCP81 command scripts (GP Amd B,
:mod:`euicc.ota.scp81.session`) and CAT_TP Command Packets (TS 102 225 over TS 102 127,
:mod:`euicc.ota.transport_catp`).  The engine says what to run; the port gives it the card's
context and the store transaction around it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from euicc.context import Context

T = TypeVar("T")


class CardAccess(Protocol):
    """Runs ``work`` with the card's context, inside the command (TERMINAL RESPONSE or ENVELOPE)
    whose BIP exchange delivered the data, all or nothing: when ``work`` raises, nothing it wrote
    is kept, and the exception goes to the engine."""
    def __call__(self, work: Callable[[Context], T]) -> T: ...


@dataclass(frozen=True)
class CommandAccess:
    """The card access of the engines an agent opened from the command with context ``ctx``."""

    ctx: Context

    def __call__(self, work: Callable[[Context], T]) -> T:
        # a savepoint, not a nested transaction: inside the command's own transaction a failed
        # inner transaction would leave its writes for the command to commit
        with self.ctx.store.savepoint():
            return work(self.ctx)
