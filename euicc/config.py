"""Settings of a card that are not part of its persistent state (ISO/IEC 7816-3 §8, TS 102 221 §11.1.17)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CardConfig:
    """Settings of a card that are not part of its persistent state."""

    atr: bytes | None = None     # None: DEFAULT_ATR (T=0 only); see euicc.atr.INTERFACES
    t0: bool = True              # T=0 response delivery (61xx / 6Cxx); False: direct (T=1 only)
    channels: int = 20           # logical channels including the basic one (TS 102 221: up to 20)
