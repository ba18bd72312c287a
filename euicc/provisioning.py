"""First-run personalisation: what a new card holds before anyone talks to it.

An EID (SGP.29) under the test EUM prefix, what each of the card's extensions provisions
(euicc.extension: the SGP.22 extension issues the eUICC's RSP identity, the SGP.02 one its ECASD
key, certificate and ISD-R OTA key set), the ISD-R's SCP03 test key set (GP Amd D), the GP
registry with every applet of the catalog that installs by default and the ISD-P load file
(SGP.02 Annex H), the file system of the eUICC with no profile enabled, and one enabled test
profile in its own ISD-P.

A card made by an older euicc-emu is brought up to what a new card holds by :data:`UPGRADES`,
one versioned step at a time (``card/version``, written with the first contents).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING

from euicc import eid as eid_mod
from euicc import keys as card_keys
from euicc.fs import default_fs
from euicc.fs.filesystem import FileSystem
from euicc.gp import key_store
from euicc.gp.registry import KIND_ELF, LCS_LOADED, Registry, RegistryEntry
from euicc.nvm import StateFileError, Store
from euicc.profiles import keys as profile_keys
from euicc.profiles.manager import (ISD_P_ELF, ISD_P_MODULE, NO_PROFILE_FSID,
                                    ProfileManager, fsid_of)
from euicc.profiles.installer import install_profile
from euicc.profiles.model import CLASS_TEST, ProfileRecord, iccid_bytes

if TYPE_CHECKING:
    from euicc.channels import Application
    from euicc.extension import Extension


DEFAULT_PROFILE = "data/default_test_profile.der"


def default_test_profile() -> bytes:
    """The UPP every new card carries, enabled: made by ``euicc-emu profile default`` (test PLMN
    001/01, IMSI 001010000000001, 3GPP TS 35.208 test set 1 Milenage K/OPc, TS.48 PINs)."""
    return resources.files("euicc.profiles").joinpath(DEFAULT_PROFILE).read_bytes()


#: Version of what a card holds; ``card/version`` (absent: 1, cards from before versioning).
CARD_VERSION = 2
Catalog = Mapping[str, "type[Application]"]


def install_default_applets(store: Store, catalog: Catalog) -> None:
    """Register each applet of the catalog that installs by default and is not registered yet."""
    registry = Registry(store)
    for name, cls in catalog.items():
        if cls.INSTALL_BY_DEFAULT and registry.get(cls.AID) is None:
            registry.put(RegistryEntry(cls.AID, cls.KIND, cls.LIFECYCLE, cls.PRIVILEGES, applet=name))


def _to_version_2(store: Store, catalog: Catalog) -> None:
    """Cards of euicc-emu 0.1.0 gain what new cards have since: the ARA-M (GPD_SPE_013) and the
    other default applets, and the ISD-R's SCP03 test key set (GP Amd D; euicc.gp.key_store)."""
    install_default_applets(store, catalog)
    key_store.provision_isd_r(store)


#: Upgrade of an existing card from version N to N+1, run in one transaction when it is opened.
UPGRADES: Mapping[int, Callable[[Store, Catalog], None]] = MappingProxyType({1: _to_version_2})


def _saip_test_profile(store: Store, fsid: str) -> tuple[bytes, str]:
    installed = install_profile(store, fsid, default_test_profile())
    return installed.iccid, installed.profile_type


def _minimal_profile(store: Store, fsid: str) -> tuple[bytes, str]:
    sub = default_fs.Subscription()
    default_fs.build(FileSystem(store, fsid), sub)
    return iccid_bytes(default_fs.luhn(sub.iccid)), "euicc-emu minimal test profile"


#: The profile a new card carries, enabled: the SAIP test profile (default), or a small
#: hand-built UICC file system (euicc.fs.default_fs) whose every file the unit tests know.
FIRST_PROFILES: dict[str, Callable[[Store, str], tuple[bytes, str]]] = {
    "test": _saip_test_profile,
    "minimal": _minimal_profile,
}
DEFAULT_FIRST_PROFILE = "test"


def provision(store: Store, catalog: Catalog, extensions: Sequence[Extension] = (),
              eid: str | None = None, first_profile: str = "test",
              ef_dir_aids: Sequence[bytes] | None = None) -> None:
    """Create a new card's persistent state in one transaction; `ef_dir_aids`: what the eUICC's
    own EF.DIR lists (euicc.fs.default_fs.build_no_profile)."""
    if first_profile not in FIRST_PROFILES:
        raise ValueError(f"unknown first profile {first_profile!r}")
    with store.transaction():
        eid = eid or eid_mod.generate()
        store.put(card_keys.EID, eid_mod.to_bytes(eid))
        store.put(card_keys.CARD_VERSION, CARD_VERSION)
        for extension in extensions:
            extension.provision(store)
        key_store.provision_isd_r(store)
        install_default_applets(store, catalog)
        registry = Registry(store)
        registry.put(RegistryEntry(ISD_P_ELF, KIND_ELF, LCS_LOADED, modules=(ISD_P_MODULE,),
                                   selectable=False))
        default_fs.build_no_profile(FileSystem(store, NO_PROFILE_FSID), ef_dir_aids)
        store.put(profile_keys.ACTIVE_FS, NO_PROFILE_FSID)
        profiles = ProfileManager(store)
        aid = profiles.create_isdp()
        iccid, name = FIRST_PROFILES[first_profile](store, fsid_of(aid))
        profiles.add_profile(ProfileRecord(isdp_aid=aid, iccid=iccid, fsid=fsid_of(aid), name=name,
                                           provider="euicc-emu", profile_class=CLASS_TEST))
        profiles.enable(aid)


def upgrade(store: Store, catalog: Catalog) -> None:
    """Run the :data:`UPGRADES` an existing card needs, each in its own transaction with the
    version it reaches; refuse a card of a newer euicc-emu."""
    version = store.get(card_keys.CARD_VERSION, 1)
    if version > CARD_VERSION:
        raise StateFileError(store.path, f"written by a newer euicc-emu (card version {version}, "
                                         f"this version knows up to {CARD_VERSION}); upgrade euicc-emu")
    while version < CARD_VERSION:
        with store.transaction():
            UPGRADES[version](store, catalog)
            version += 1
            store.put(card_keys.CARD_VERSION, version)
