"""Extended Card Resources Information: ETSI TS 102 226 §8.2.1.7.2 (GET DATA 'FF21', SGP.02
eUICCCapabilityAudit) and SGP.22 v2.5 §4.1 EUICCInfo2 ``extCardResource``, one computation for both.

'81' number of installed applications, '82' free non-volatile memory, '83' free volatile memory,
each an unsigned big-endian number in as few bytes as it needs (at least one).

- Installed applications: the GP registry entries that are applications or security domains
  (GP Card Specification §11.4: everything but Executable Load Files), ISD-R, ECASD and ISD-Ps.
- Free NVM: a software card has no flash to measure, so the total NVM capacity is a named setting
  [U] and what is used is what the card keeps: the size of its stored state (every key and its
  stored encoding, :class:`euicc.nvm.Store`), plus the NVM quotas that SGP.02 CreateISDP reserved
  (``reserved``; counted on top, conservatively).  The figure therefore falls with every profile
  installed and rises again when one is deleted.
- Free volatile memory: a named setting [U] (nothing to measure in a Python process).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.gp.registry import KIND_ELF, Registry
from euicc.profiles import keys as profile_keys
from euicc.nvm import Store

if TYPE_CHECKING:
    from euicc.context import Context

TAG_RESOURCES = 0xFF21
TAG_APPLICATIONS, TAG_FREE_NVM, TAG_FREE_VOLATILE = 0x81, 0x82, 0x83


@dataclass(frozen=True)
class ResourceSettings:
    """Figures the card cannot measure [U: no source gives them; product values]."""

    nvm_capacity: int = 0x200000        # 2 MiB of NVM for the card's state and its profiles
    free_volatile: int = 0x8000         # 32 KiB of RAM


DEFAULT_RESOURCES = ResourceSettings()


@dataclass(frozen=True)
class CardResources:
    installed_applications: int
    free_nvm: int
    free_volatile: int

    def encode(self) -> bytes:
        """The '81' '82' '83' TLVs (the value of 'FF21', and EUICCInfo2 extCardResource)."""
        return (tlv.tlv(TAG_APPLICATIONS, _number(self.installed_applications))
                + tlv.tlv(TAG_FREE_NVM, _number(self.free_nvm))
                + tlv.tlv(TAG_FREE_VOLATILE, _number(self.free_volatile)))


def _number(n: int) -> bytes:
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")


def stored_size(store: Store, prefix: str = "") -> int:
    """Bytes the store keeps for the keys under `prefix`: each key and its stored encoding."""
    return sum(len(key.encode()) + len(store.codec.encode(key, store.get(key)).encode())
               for key in store.keys(prefix))


def card_resources(store: Store, registry: Registry, reserved: int = 0,
                   settings: ResourceSettings = DEFAULT_RESOURCES) -> CardResources:
    """The card's resources now; `reserved` = NVM promised to ISD-Ps beyond their content."""
    apps = sum(1 for e in registry.entries() if e.kind != KIND_ELF)
    free = max(0, settings.nvm_capacity - stored_size(store) - reserved)
    return CardResources(apps, free, settings.free_volatile)


def of_card(ctx: Context, settings: ResourceSettings = DEFAULT_RESOURCES) -> CardResources:
    """The resources of the card behind `ctx`, with the ISD-P quotas of SGP.02 CreateISDP
    (GP Amd C 'EF' {'83' NVM quota}) as reserved memory."""
    reserved = sum(ctx.store.get(profile_keys.reserved_nvm(e.aid), 0) for e in ctx.services.profiles.isdps())
    return card_resources(ctx.store, ctx.registry, reserved, settings)
