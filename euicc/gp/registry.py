"""The GlobalPlatform registry: GP Card Specification v2.3.1 §5.3 (life cycles), §6.6 (registry),
§11.1.2 (privileges).  One :class:`RegistryEntry` per security domain, application or load file,
stored under ``gp/<AID hex>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from euicc.gp import keys as gp_keys
from euicc.nvm import Store

# GP Card Spec §11.1.1 life cycle coding
LCS_CARD_OP_READY, LCS_CARD_INITIALIZED, LCS_CARD_SECURED = 0x01, 0x07, 0x0F
LCS_LOADED = 0x01            # executable load file
LCS_INSTALLED = 0x03
LCS_SELECTABLE = 0x07
LCS_PERSONALIZED = 0x0F      # security domain
LCS_LOCKED = 0x83
# SGP.02 v4.2 §2.2.1 / SGP.22 §2.2.1: ISD-P specific states (application specific bits)
LCS_ISDP_DISABLED = 0x1F
LCS_ISDP_ENABLED = 0x3F

# GP Card Spec §11.1.2 Table 11-7: privileges, byte 1
PRIV_SECURITY_DOMAIN = 0x800000
PRIV_DAP_VERIFICATION = 0x400000
PRIV_DELEGATED_MANAGEMENT = 0x200000
PRIV_CARD_LOCK = 0x100000
PRIV_CARD_TERMINATE = 0x080000
PRIV_CARD_RESET = 0x040000          # "default selected" in GP 2.1.1
PRIV_CVM_MANAGEMENT = 0x020000
PRIV_MANDATED_DAP = 0x010000
# byte 2
PRIV_TRUSTED_PATH = 0x008000
PRIV_AUTHORIZED_MANAGEMENT = 0x004000
PRIV_TOKEN_VERIFICATION = 0x002000
PRIV_GLOBAL_DELETE = 0x001000
PRIV_GLOBAL_LOCK = 0x000800
PRIV_GLOBAL_REGISTRY = 0x000400
PRIV_FINAL_APPLICATION = 0x000200
PRIV_GLOBAL_SERVICE = 0x000100
# byte 3
PRIV_RECEIPT_GENERATION = 0x000080
PRIV_CIPHERED_LOAD_FILE_DATA_BLOCK = 0x000040
PRIV_CONTACTLESS_ACTIVATION = 0x000020
PRIV_CONTACTLESS_SELF_ACTIVATION = 0x000010

KIND_ISD, KIND_SD, KIND_APP, KIND_ELF = "ISD", "SD", "APP", "ELF"


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One GP registry entry (GP Card Spec §6.6.1)."""
    RECORD_TYPE: ClassVar[str] = "RegistryEntry"   # its stable id in the store (euicc.nvm_codec.Codec)

    aid: bytes
    kind: str                   # ISD, SD, APP or ELF
    lifecycle: int
    privileges: int = 0         # 3 bytes, GP §11.1.2
    applet: str = ""            # catalog name of the on-card class ("" for load files)
    sd: bytes = b""             # associated security domain
    elf: bytes = b""            # executable load file of an application
    modules: tuple[bytes, ...] = ()   # executable modules of a load file
    selectable: bool = True     # whether the terminal may SELECT it by AID


class Registry:
    """Registry entries in the persistent store, in installation order."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, aid: bytes) -> RegistryEntry | None:
        return self.store.get(gp_keys.registry_entry(aid))

    def put(self, entry: RegistryEntry) -> None:
        key = gp_keys.registry_entry(entry.aid)
        if key not in self.store:
            self.store.put(gp_keys.REGISTRY_ORDER, self.store.get(gp_keys.REGISTRY_ORDER, ()) + (entry.aid,))
        self.store.put(key, entry)

    def remove(self, aid: bytes) -> None:
        self.store.delete(gp_keys.registry_entry(aid))
        order = self.store.get(gp_keys.REGISTRY_ORDER, ())
        self.store.put(gp_keys.REGISTRY_ORDER, tuple(a for a in order if a != aid))

    def entries(self) -> list[RegistryEntry]:
        out = []
        for aid in self.store.get(gp_keys.REGISTRY_ORDER, ()):
            e = self.get(aid)
            if e is not None:
                out.append(e)
        return out

    def find_selectable(self, aid: bytes) -> list[RegistryEntry]:
        """Selectable applications whose AID starts with `aid` (ISO 7816-4 §5.3.1 partial AID)."""
        return [e for e in self.entries()
                if e.kind != KIND_ELF and e.selectable and e.aid.startswith(aid)
                and e.lifecycle not in (LCS_INSTALLED, LCS_LOCKED)]
