"""The SGP.02 card side's runtime: settings, clock and randomness (injectable: a card is opened
with ``M2mExtension(M2mRuntime(...))``), and the volatile state of one card session (SGP.02 §2.4:
an OTA session with the ISD-R).

Nothing here is persistent: :class:`M2mVolatile` lives for the power cycle (euicc.volatile): a reset
forgets a pending key agreement, SCP03 sessions and the network attachment state (TS 102 223
§6.3); the OTA origin is the remote management layer's (:func:`euicc.ota.origin.current_origin`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from euicc.m2m.settings import M2mSettings
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.context import Context


@dataclass
class KeyAgreement:
    """GP Amd E scenario #3 between its two STORE DATA commands (SGP.02 §4.1.3.1 / §5.6.1)."""

    target: bytes          # ISD-R or ISD-P AID
    role: int
    curve_oid: str
    peer_point: bytes      # PK.SR.ECDSA / PK.DP.ECDSA from the verified certificate
    challenge: bytes       # the random challenge RC


@dataclass
class M2mVolatile(VolatileState):
    """Per-power-cycle state of the SGP.02 card side."""

    LIFETIME = Lifetime.POWER_CYCLE

    runtime: "M2mRuntime"
    personalization_target: bytes | None = None     # INSTALL [for personalization] (GP §11.5)
    agreement: KeyAgreement | None = None
    attached: bool = False                         # location status 'normal service' seen
    no_service_events: int = 0
    location_polled: int = -1                      # ms of the last PROVIDE LOCAL INFORMATION
    sessions: dict[str, Any] = field(default_factory=dict)   # SCP03 / SCP03t per ISD-P

    def forget_isdp(self, aid: bytes) -> None:
        """Drop the secure channel sessions and partial profile package of a deleted ISD-P: an
        ISD-P created later under the same AID starts with its own keys (GP CS §11.2 DELETE)."""
        suffix = "/" + bytes(aid).hex()
        for key in [k for k in self.sessions if k.endswith(suffix)]:
            del self.sessions[key]


@dataclass(frozen=True)
class M2mRuntime:
    """Settings plus the clock (seconds) and random source the card side uses."""

    settings: M2mSettings = field(default_factory=M2mSettings)
    clock: Callable[[], float] = time.time
    random: Callable[[int], bytes] = os.urandom

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def volatile(self, ctx: Context) -> M2mVolatile:
        """The power cycle's SGP.02 state, created on first use."""
        return volatile(ctx) or ctx.volatile.put(M2mVolatile(self))


def volatile(ctx: Context) -> M2mVolatile | None:
    """The session's SGP.02 state, if an OTA or event envelope created it."""
    return ctx.volatile.get(M2mVolatile)
