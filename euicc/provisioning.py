"""First-run personalisation: what a new card holds before anyone talks to it.

An EID (SGP.29) under the test EUM prefix with the eUICC's RSP identity issued for it
(euicc.rsp.identity: a fresh key and CERT.EUICC.ECDSA under the shipped test EUM), the GP registry with every applet of the catalog that
installs by default and the ISD-P load file (SGP.02 Annex H), the file system of the eUICC with no
profile enabled, and one enabled test profile in its own ISD-P.
"""
from __future__ import annotations

from euicc import eid as eid_mod
from euicc.applet import Applet
from euicc.fs import default_fs
from euicc.fs.filesystem import FileSystem
from euicc.gp.registry import KIND_ELF, LCS_LOADED, Registry, RegistryEntry
from euicc.nvm import Store
from euicc.profiles.manager import (ACTIVE_FS_KEY, ISD_P_ELF, ISD_P_MODULE, NO_PROFILE_FSID,
                                    ProfileManager, fsid_of)
from euicc.profiles.model import CLASS_TEST, ProfileRecord, iccid_bytes
from euicc.rsp import identity


def is_provisioned(store: Store) -> bool:
    return "card/eid" in store


def provision(store: Store, catalog: dict[str, type[Applet]], eid: str | None = None) -> None:
    """Create a new card's persistent state in one transaction."""
    with store.transaction():
        eid = eid or eid_mod.generate()
        store.put("card/eid", eid_mod.to_bytes(eid))
        identity.create_default(store, eid)
        registry = Registry(store)
        for name, cls in catalog.items():
            if cls.INSTALL_BY_DEFAULT:
                registry.put(RegistryEntry(cls.AID, cls.KIND, cls.LIFECYCLE, cls.PRIVILEGES,
                                           applet=name))
        registry.put(RegistryEntry(ISD_P_ELF, KIND_ELF, LCS_LOADED, modules=(ISD_P_MODULE,),
                                   selectable=False))
        default_fs.build_no_profile(FileSystem(store, NO_PROFILE_FSID))
        store.put(ACTIVE_FS_KEY, NO_PROFILE_FSID)
        profiles = ProfileManager(store)
        aid = profiles.create_isdp()
        sub = default_fs.Subscription()
        default_fs.build(FileSystem(store, fsid_of(aid)), sub)
        profiles.add_profile(ProfileRecord(
            isdp_aid=aid, iccid=iccid_bytes(default_fs.luhn(sub.iccid)), fsid=fsid_of(aid),
            name="euicc-emu test profile", provider="euicc-emu", profile_class=CLASS_TEST))
        profiles.enable(aid)
