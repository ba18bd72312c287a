"""The SM-SR's eUICC Information Set (EIS), GSMA SGP.02 v4.2 §5.1.1.2 (bookkeeping only).

What the SM-SR knows about one eUICC: EID, ECASD certificate, its ISD-R key sets and the
replay counter it uses with each, the ISD-Ps with their state and attributes as the card last
reported them, the notifications received (sequence numbers) and an audit trail of operations.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tools.ota.packet import OtaKeyset


@dataclass
class ProfileInfo:
    """SGP.02 §5.1.1.2.x ProfileInfo, as far as the test SM-SR tracks it."""

    isdp_aid: bytes
    state: str = "SELECTABLE"
    fallback: bool = False
    emergency: bool = False
    smdp: str | None = None


@dataclass
class Eis:
    """One eUICC as the SM-SR sees it."""

    eid: bytes = b""
    ecasd_certificate: bytes = b""
    keysets: dict[int, OtaKeyset] = field(default_factory=dict)
    counters: dict[int, int] = field(default_factory=dict)
    profiles: dict[bytes, ProfileInfo] = field(default_factory=dict)
    notifications: list[int] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)
    next_tar: int = 0x000010

    def next_counter(self, kvn: int) -> int:
        """SCP80 counter for the next packet under key set ``kvn`` (TS 102 225 §5.1.1, SPI b5-b4 '10')."""
        self.counters[kvn] = self.counters.get(kvn, 0) + 1
        return self.counters[kvn]

    def log(self, entry: str) -> None:
        self.audit.append(entry)

    def profile(self, aid: bytes) -> ProfileInfo:
        return self.profiles.setdefault(aid, ProfileInfo(aid))

    def enabled(self) -> ProfileInfo | None:
        return next((p for p in self.profiles.values() if p.state == "ENABLED"), None)
