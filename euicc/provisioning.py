"""First-run personalisation: what a new card holds before anyone talks to it.

An EID (SGP.29) under the test EUM prefix, the GP registry with every applet of the catalog that
installs by default, the ISD-P load file (SGP.02 Annex H) and the default file system.
"""
from __future__ import annotations

from euicc import eid as eid_mod
from euicc.applet import Applet
from euicc.fs import default_fs
from euicc.fs.filesystem import FileSystem
from euicc.gp.registry import KIND_ELF, LCS_LOADED, Registry, RegistryEntry
from euicc.nvm import Store
from euicc.session import ACTIVE_FS_KEY

ISD_P_ELF = bytes.fromhex("A0000005591010FFFFFFFF8900000D00")
ISD_P_MODULE = bytes.fromhex("A0000005591010FFFFFFFF8900000E00")
DEFAULT_FSID = "profile0"


def is_provisioned(store: Store) -> bool:
    return "card/eid" in store


def provision(store: Store, catalog: dict[str, type[Applet]], eid: str | None = None) -> None:
    """Create a new card's persistent state in one transaction."""
    with store.transaction():
        store.put("card/eid", eid_mod.to_bytes(eid or eid_mod.generate()))
        registry = Registry(store)
        for name, cls in catalog.items():
            if cls.INSTALL_BY_DEFAULT:
                registry.put(RegistryEntry(cls.AID, cls.KIND, cls.LIFECYCLE, cls.PRIVILEGES,
                                           applet=name))
        registry.put(RegistryEntry(ISD_P_ELF, KIND_ELF, LCS_LOADED, modules=(ISD_P_MODULE,),
                                   selectable=False))
        default_fs.build(FileSystem(store, DEFAULT_FSID))
        store.put(ACTIVE_FS_KEY, DEFAULT_FSID)
