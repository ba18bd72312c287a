"""The SM-SR's eUICC Information Set (EIS), GSMA SGP.02 v4.2 §5.1.1.2 (bookkeeping only).

What the SM-SR knows about one eUICC: EID, ECASD certificate, its ISD-R key sets (SCP80, and the
SCP81 PSK-TLS key sets of GP Amd B, SGP.02 §2.4.4) and the
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


SCP80_KVNS = range(0x01, 0x10)
"""ISD-R SCP80 key set versions (SGP.02 §2.2.1.1; SPEC_NOTES §3.2)."""
SCP81_KVNS = range(0x40, 0x50)
"""ISD-R SCP81 PSK-TLS key set versions (GP Amd B; SPEC_NOTES §3.2)."""


@dataclass(frozen=True)
class PskKeyset:
    """One ISD-R SCP81 key set (GP Amd B; KVN '40'-'4F'): key ID 01 the TLS PSK, key ID 02 the DEK
    (empty when the key set has none, e.g. one established at an SM-SR change)."""

    kvn: int
    psk: bytes
    dek: bytes = b""


@dataclass
class Eis:
    """One eUICC as the SM-SR sees it."""

    eid: bytes = b""
    ecasd_certificate: bytes = b""
    keysets: dict[int, OtaKeyset] = field(default_factory=dict)
    psk_keysets: dict[int, PskKeyset] = field(default_factory=dict)
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
